"""Stall detection: a hung job (sleep, deadlock) is stopped after ``stall_s`` without CPU progress or a
report and FAILED ``stalled``; the rest go on; a busy or reporting job is never stopped."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from mlflow.tracking import MlflowClient
from pydantic import ValidationError

from omibench.cli import cli
from omibench.config import ExperimentConfig
from omibench.run.executors.stall import MIN_CPU_FRACTION, StallWatch, tree_cpu_s
from omibench.run.failures import FAILURE_KINDS, failure_kind

from .conftest import small_experiment

STALLS = Path(__file__).parent / "fixtures" / "plugins" / "stalls"
STALL_S = 3.0
TAG = "omibench."


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def runs_by_label(store):
    client = MlflowClient(f"sqlite:///{store / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name("t").experiment_id])
    return {r.data.tags[f"{TAG}label"]: r for r in runs}


# --- the watch itself (pure) ---------------------------------------------------------------------


def test_a_job_without_cpu_or_reports_stalls_after_stall_s():
    watch = StallWatch(10.0)
    assert not watch.sample(5.0, 0, now=0.0)
    assert not watch.sample(5.0, 0, now=9.9)
    assert watch.sample(5.0 + 0.5 * MIN_CPU_FRACTION * 10, 0, now=10.0)  # a trickle is no progress


def test_steady_cpu_or_reports_never_stall():
    busy, reporting = StallWatch(10.0), StallWatch(10.0)
    for second in range(2000):  # an 800-epoch fit, a core busy (or one report a second, CPU idle)
        assert not busy.sample(0.9 * second, 0, now=float(second))
        assert not reporting.sample(1.0, second, now=float(second))


def test_progress_restarts_the_window_and_unreadable_cpu_never_stalls():
    watch = StallWatch(10.0)
    watch.sample(0.0, 0, now=0.0)
    assert not watch.sample(1.0, 0, now=8.0)  # progress at 8 s
    assert not watch.sample(1.0, 0, now=17.0)
    assert watch.sample(1.0, 0, now=18.0)
    blind = StallWatch(1.0)
    assert not any(blind.sample(None, 0, now=float(t)) for t in range(100))


def test_stalled_is_a_failure_kind_and_stall_s_is_configured():
    assert "stalled" in FAILURE_KINDS
    assert failure_kind("stalled: no CPU progress", None, False, stalled=True) == "stalled"
    base = small_experiment()
    assert ExperimentConfig(**base).stall_s == 600.0
    assert ExperimentConfig(**base, stall_s=None).stall_s is None
    for bad in (0, -1):
        with pytest.raises(ValidationError):
            ExperimentConfig(**base, stall_s=bad)
    # not a result-changing field: setting it keeps every job key
    assert ExperimentConfig(**base, stall_s=5).semantic_dict() == ExperimentConfig(**base).semantic_dict()


def test_tree_cpu_counts_descendants():
    code = "import subprocess, sys; subprocess.run([sys.executable, '-c', 'while True: pass'])"
    # a parent that waits, a child that spins; in its own session, so that both are killed at the end
    proc = subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
    try:
        time.sleep(0.5)
        first = tree_cpu_s(proc.pid)
        time.sleep(1.5)
        assert first is not None and tree_cpu_s(proc.pid) - first > 0.1
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert tree_cpu_s(proc.pid) is None


# --- whole runs, under each executor ---------------------------------------------------------------


LIVE = [  # alive for longer than stall_s: never stopped
    {"name": "busy", "params": {"seconds": 2.5 * STALL_S}},
    {"name": "sleepy_reporter", "params": {"seconds": 2.5 * STALL_S, "every": STALL_S / 4}},
]


def _hung_experiment(tmp_path, executor, live=()):
    return small_experiment(
        translators=[
            {"name": "napper", "params": {"started_file": str(tmp_path / "napper.started")}},
            {"name": "deadlock", "params": {"started_file": str(tmp_path / "deadlock.started")}},
            {"name": "ridge"},
            *live,
        ],
        plugins_dir=str(STALLS),
        stall_s=STALL_S,
        executor=executor,
    )


def _check_hung_run(tmp_path, store, result, slack_s=5.0):
    assert result.exit_code == 1, result.output
    runs = runs_by_label(store)
    assert runs["ridge"].info.status == "FINISHED"
    for label in ("napper", "deadlock"):
        run = runs[label]
        assert run.info.status == "FAILED", label
        assert run.data.tags[f"{TAG}failure_kind"] == "stalled", run.data.tags
        assert run.data.tags[f"{TAG}error"].startswith("stalled: no CPU progress")
        began = float((tmp_path / f"{label}.started").read_text())  # its fit began (start-up excluded)
        stopped = run.info.end_time / 1000.0
        print(f"{label}: stopped {stopped - began:.1f} s after its fit began")
        assert STALL_S - 1.0 <= stopped - began <= STALL_S + slack_s, (label, stopped - began)
    assert "FAILED (stalled)" in result.output


def test_hung_fits_are_stopped_under_the_process_executor(write_config, tmp_path):
    store = tmp_path / "store"
    cfg = write_config(_hung_experiment(tmp_path, {"kind": "process"}))
    started = time.monotonic()
    result = invoke("run", cfg, "--store", store)
    assert time.monotonic() - started < 60
    _check_hung_run(tmp_path, store, result)


@pytest.mark.slow  # fresh worker interpreters rebuild the data: ~30 s on 2 busy cores
def test_hung_fits_are_stopped_under_the_local_executor(write_config, tmp_path):
    store = tmp_path / "store"
    cfg = write_config(_hung_experiment(tmp_path, {"kind": "local", "cpu_workers": 3}))
    result = invoke("run", cfg, "--store", store)
    _check_hung_run(tmp_path, store, result)
    assert not list((store / "jobs").glob("*")) if (store / "jobs").exists() else True


@pytest.mark.slow  # starts a local Ray instance (~20 s)
def test_hung_fits_are_stopped_under_the_ray_executor(write_config, tmp_path):
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=5, num_gpus=0, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        store = tmp_path / "store"
        cfg = write_config(_hung_experiment(tmp_path, {"kind": "ray"}, LIVE))  # one cluster: both cases
        result = invoke("run", cfg, "--store", store)
        _check_hung_run(tmp_path, store, result, slack_s=8.0)  # heartbeats, then a forced cancel
        runs = runs_by_label(store)
        assert runs["busy"].info.status == runs["sleepy_reporter"].info.status == "FINISHED"
        assert runs["sleepy_reporter"].data.metrics.get("val_mse") is not None
    finally:
        ray.shutdown()


@pytest.mark.parametrize("executor", ["process", pytest.param("local", marks=pytest.mark.slow)])
def test_busy_or_reporting_fits_longer_than_stall_s_are_not_stopped(write_config, tmp_path, executor):
    store = tmp_path / "store"
    cfg = write_config(
        small_experiment(
            translators=LIVE,
            plugins_dir=str(STALLS),
            stall_s=STALL_S,
            executor={"kind": executor, "cpu_workers": 2},
        )
    )
    result = invoke("run", cfg, "--store", store)
    assert result.exit_code == 0, result.output
    runs = runs_by_label(store)
    assert {label: r.info.status for label, r in runs.items()} == {"busy": "FINISHED", "sleepy_reporter": "FINISHED"}
    assert runs["sleepy_reporter"].data.metrics.get("val_mse") is not None  # its reports were logged
