"""Two real `omibench` processes on one store: no job runs twice, no live run is taken over, and a
new store can be created by two processes at once."""

import os
import subprocess
import sys
import time

import pytest
from mlflow.tracking import MlflowClient

from omibench.store import ExperimentLock

from .conftest import small_experiment

TAG = "omibench."


def start(cfg, store, *extra):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "omibench.cli", "run", str(cfg), "--store", str(store), *map(str, extra)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def finish(proc, timeout=300):
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


@pytest.mark.slow  # ~30 s: two full runs
def test_two_runs_of_one_experiment_never_run_a_job_twice(write_config, tmp_path):
    store = tmp_path / "store"
    # seed-dependent translators (a seed-independent one is fitted once, whatever the seeds)
    td = {"hidden": 8, "epochs": 5, "batch_size": 16}
    cfg = write_config(
        small_experiment(seeds=[0, 1], translators=[{"name": "sklearn"}, {"name": "tdimpute", "params": td}])
    )
    a, b = start(cfg, store, "--wait", 300), start(cfg, store, "--wait", 300)
    (rc_a, _, err_a), (rc_b, _, err_b) = finish(a), finish(b)
    assert rc_a == 0 and rc_b == 0, err_a + err_b
    assert (err_a + err_b).count("skipped") == 2  # the second found both translators finished by the first
    client = MlflowClient(f"sqlite:///{store / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name("t").experiment_id])
    keys = [r.data.tags[f"{TAG}job_key"] for r in runs if r.info.status == "FINISHED"]
    assert len(keys) == len(set(keys)) == 2 + 4  # two summaries and four seed runs, each once
    assert all(r.info.status == "FINISHED" for r in runs)


def test_a_second_process_refuses_with_one_line_naming_the_owner(write_config, tmp_path):
    store = tmp_path / "store"
    cfg = write_config(small_experiment(translators=[{"name": "linear_regression"}]))
    with ExperimentLock(store, "t", "omibench run"):  # this test process is the live owner
        started = time.monotonic()
        rc, _, err = finish(start(cfg, store, "--wait", 1))
        assert time.monotonic() - started < 60
    assert rc == 2, err
    line = err.strip().splitlines()[-1]
    assert line.startswith("error: ") and f"pid {os.getpid()}" in line and "omibench run" in line and "--wait" in line
    assert "Traceback" not in err
    assert not (store / "mlflow.db").exists()  # nothing written


@pytest.mark.slow  # ~30 s: three processes
def test_two_processes_create_a_new_store_at_once(write_config, tmp_path):
    store = tmp_path / "store"
    procs = [
        start(
            write_config(small_experiment(name=f"e{i}", translators=[{"name": "linear_regression"}]), f"e{i}.yaml"),
            store,
        )
        for i in range(3)
    ]
    results = [finish(p) for p in procs]
    assert [rc for rc, _, _ in results] == [0, 0, 0], [err[-2000:] for _, _, err in results]
    client = MlflowClient(f"sqlite:///{store / 'mlflow.db'}")
    assert {f"e{i}" for i in range(3)} <= {e.name for e in client.search_experiments()}


@pytest.mark.parametrize("label", ["it's", 'the "best"', "both ' and \""])
def test_quotes_in_labels_reach_no_filter_unescaped(tmp_path, label):
    from omibench.store import MemoryStore, MlflowStore, RunLevel, RunStatus, Tags

    for store in (MlflowStore(tmp_path / "s"), MemoryStore(tmp_path / "m")):
        exp = store.experiment_id("x")
        run = store.create_run(exp, label, Tags(level=RunLevel.SUMMARY, label=label, job_key=label, split_hash="h"))
        other = store.create_run(exp, "other", Tags(level=RunLevel.SUMMARY, label="other", job_key="k", split_hash="h"))
        store.end_run(run)
        store.end_run(other)
        assert store.finished_run(exp, label).run_id == run
        assert [r.run_id for r in store.search(exp, Tags(label=label))] == [run]
        assert [r.label for r in store.summaries("x", split_hash="h")] == ["other", label]
        assert store.runs_with_key(exp, label, RunStatus.RUNNING) == []
