"""The ``process`` executor's forked workers: one per translator's run of consecutive jobs,
replaced when a job kills it or leaves it holding too much memory, with the same results as
``inline`` (``omibench/run/executors/_worker.py``)."""

import os
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from mlflow.tracking import MlflowClient

from omibench.cli import cli
from omibench.metrics.catalogue import key as key_of
from omibench.run.executors import FINISHED, JobResult, JobSpec, _worker
from omibench.run.executors.process import ProcessExecutor

from .conftest import small_experiment

FITLOG = Path(__file__).parent / "fixtures" / "plugins" / "fitlog"
STALLS = Path(__file__).parent / "fixtures" / "plugins" / "stalls"
TAG = "omibench."


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def fits(log: Path) -> list[tuple[str, str, int]]:
    """(start|end, tag, pid) per line of the fixture's log."""
    rows = [line.split() for line in log.read_text().splitlines()]
    return [(what, tag, int(pid)) for what, tag, pid in rows]


def job_runs(store: Path) -> dict[tuple[str, str], tuple[str, dict]]:
    """(label, outer split) -> (status, metrics) of every job run."""
    client = MlflowClient(f"sqlite:///{store / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name("t").experiment_id])
    return {
        (r.data.tags[f"{TAG}label"], r.data.tags[f"{TAG}outer_split"]): (r.info.status, r.data.metrics)
        for r in runs
        if f"{TAG}outer_split" in r.data.tags
    }


def experiment(write_config, translators, executor="process", repeats=3):
    return write_config(
        small_experiment(
            translators=translators,
            plugins_dir=str(FITLOG),
            split={
                "seed": 0,
                "val_fraction": 0.2,
                "test_fraction": 0.2,
                "scheme": "repeated_holdout",
                "repeats": repeats,
            },
            executor={"kind": executor},
        )
    )


def test_a_translators_splits_share_one_worker_and_each_translator_gets_its_own(write_config, tmp_path, monkeypatch):
    log = tmp_path / "fits.log"
    monkeypatch.setenv("FIT_LOG", str(log))
    entries = [{"name": "fitlog", "label": t, "params": {"tag": t}} for t in ("a", "b")]
    result = invoke("run", experiment(write_config, entries), "--store", tmp_path / "store")
    assert result.exit_code == 0, result.output
    starts = [(tag, pid) for what, tag, pid in fits(log) if what == "start"]
    assert len(starts) == 6
    pids = {tag: [pid for t, pid in starts if t == tag] for tag in ("a", "b")}
    for split_pids in pids.values():
        # the first split draws the pictures: where that imports matplotlib, its worker grows past
        # the limit and retires (not where the driver had imported it); the others share one
        assert split_pids[1] == split_pids[2], pids
    assert not set(pids["a"]) & set(pids["b"])
    assert os.getpid() not in pids["a"] + pids["b"]  # never the driver


def test_a_job_that_kills_its_worker_fails_alone_and_the_next_split_gets_a_new_worker(
    write_config, tmp_path, monkeypatch
):
    log = tmp_path / "fits.log"
    monkeypatch.setenv("FIT_LOG", str(log))
    monkeypatch.setenv("FITLOG_EXIT_AT", "3")  # the third split's fit calls os._exit
    store = tmp_path / "store"
    cfg = experiment(write_config, [{"name": "fitlog", "params": {"tag": "a"}}], repeats=4)
    result = invoke("run", cfg, "--store", store)
    assert result.exit_code == 1, result.output
    runs = job_runs(store)
    assert [runs[("fitlog", s)][0] for s in "0123"] == ["FINISHED", "FINISHED", "FAILED", "FINISHED"]
    starts = [pid for what, _, pid in fits(log) if what == "start"]
    assert starts[1] == starts[2] != starts[3]  # the dead worker was replaced for split 3
    assert not list((store / "jobs").glob("*"))


def test_a_worker_that_grew_past_the_limit_is_replaced(write_config, tmp_path, monkeypatch):
    log = tmp_path / "fits.log"
    monkeypatch.setenv("FIT_LOG", str(log))
    monkeypatch.setattr(_worker, "RETIRE_GROWTH_BYTES", -(2**62))  # every worker is past it: one job each
    result = invoke("run", experiment(write_config, [{"name": "fitlog"}]), "--store", tmp_path / "store")
    assert result.exit_code == 0, result.output
    starts = [pid for what, _, pid in fits(log) if what == "start"]
    assert len(starts) == len(set(starts)) == 3


@pytest.mark.parametrize("executor", ["inline", "process"])
def test_reused_workers_score_each_split_as_a_fresh_process_does(write_config, tmp_path, executor):
    """Three splits of three translators: a worker's later jobs give what inline gives, where every
    job runs in one process, and what a worker that runs one job each gives."""
    entries = [{"name": "linear_regression"}, {"name": "lasso", "params": {"n_alphas": 3}}, {"name": "knn"}]
    store = tmp_path / executor
    assert invoke("run", experiment(write_config, entries, executor), "--store", store).exit_code == 0
    got = job_runs(store)
    fresh_store = tmp_path / "fresh"
    with pytest.MonkeyPatch.context() as m:
        m.setattr(_worker, "RETIRE_GROWTH_BYTES", -(2**62))
        assert invoke("run", experiment(write_config, entries, "process"), "--store", fresh_store).exit_code == 0
    fresh = job_runs(fresh_store)
    assert got.keys() == fresh.keys() and len(got) == 9
    for key, (status, metrics) in got.items():
        assert status == "FINISHED"
        for name in (key_of("median_r2_featurewise"), key_of("mse"), key_of("mse", "val")):
            assert metrics[name] == pytest.approx(fresh[key][1][name], rel=1e-12, abs=1e-12), (key, name)


def test_a_job_that_reports_all_the_time_still_meets_its_time_limit(write_config, tmp_path):
    """Reports arriving faster than the driver polls must not keep it from checking ``timeout_s``."""
    cfg = write_config(
        small_experiment(
            translators=[{"name": "sleepy_reporter", "params": {"seconds": 60.0, "every": 0.005}}],
            plugins_dir=str(STALLS),
            timeout_s=2,
        )
    )
    started = time.monotonic()
    result = invoke("run", cfg, "--store", tmp_path / "store")
    assert result.exit_code == 1, result.output
    assert time.monotonic() - started < 30
    assert "time-out" in result.output


class _ReportsThenFinishes:
    """Work that sends three reports and finishes at once (for the executor alone, no store)."""

    module = "omibench.run.jobs"

    def here(self, spec, reporter):
        for step in (1, 2, 3):
            reporter(step, {"val_mse": 1.0})
        return JobResult(spec.run_id, FINISHED, {"m": 1.0})

    def remote(self, spec_json, board=None):  # pragma: no cover - not used by this executor
        raise NotImplementedError


def test_a_finished_result_waiting_behind_slow_reports_is_not_a_time_out(tmp_path):
    """The driver routes reports slower than the job's limit (a slow store): the result already
    in the pipe counts, the job is not failed as a time-out."""
    routed = []

    def slow_reporter_for(run_id):
        def report(step, values):
            time.sleep(0.5)
            routed.append(step)

        return report

    spec = JobSpec(
        run_id="r1", label="x", params={}, seed=0, gpus=0, out_dir=str(tmp_path / "job"), config={},
        plugin_dirs=[], cwd=str(tmp_path), dataset_hash="d", split_hash="s", timeout_s=0.8,
    )  # fmt: skip
    executor = ProcessExecutor(_ReportsThenFinishes(), slow_reporter_for)
    executor.submit(spec)
    try:
        results = list(executor.results())
    finally:
        executor.close()
    assert [r.status for r in results] == [FINISHED], results
    assert routed == [1, 2, 3]
