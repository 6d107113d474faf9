"""Kill or interrupt a real `omibench run` (a subprocess, real SQLite store) at named boundaries,
rerun it, and check that the rerun completes the experiment exactly as an uninterrupted run would.

The boundary is hit deterministically through ``OMIBENCH_FAULT`` (see omibench/_faults.py): the
driver sends itself the signal the n-th time it reaches the named point.
"""

import os
import signal
import subprocess
import sys

import pytest
from mlflow.tracking import MlflowClient

from .conftest import small_experiment

TAG = "omibench."
SEEDS = [0, 1]
BODY = small_experiment(
    seeds=SEEDS,
    translators=[
        {"name": "sklearn"},
        {"name": "sklearn", "label": "sk2", "params": {"estimator": "sklearn.linear_model.LinearRegression"}},
    ],
    downstream={"enabled": True, "epochs": [2, 2, 2], "decay_epochs": 1, "latent": 8, "batch_size": 16, "tsne": False},
)


def omibench(cfg, store, fault=None, timeout=300):
    env = {k: v for k, v in os.environ.items() if k != "OMIBENCH_FAULT"}
    env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    if fault:
        env["OMIBENCH_FAULT"] = fault
    return subprocess.run(
        [sys.executable, "-m", "omibench.cli", "run", str(cfg), "--store", str(store)],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        # a test run started in the background by a shell without job control inherits SIGINT
        # ignored, and Python then keeps ignoring it: the fault must reach a default handler
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def state(store):
    """(runs by status, {label: summary metrics}) after checking completeness."""
    client = MlflowClient(f"sqlite:///{store / 'mlflow.db'}")
    exp = client.get_experiment_by_name("t")
    runs = client.search_runs([exp.experiment_id], max_results=5000)
    assert not [r for r in runs if r.info.status == "RUNNING"], "a run was left RUNNING"
    summaries = [r for r in runs if r.data.tags.get(f"{TAG}level") == "summary" and r.info.status == "FINISHED"]
    labels = sorted(r.data.tags[f"{TAG}label"] for r in summaries)
    assert labels == ["sk2", "sklearn"], labels  # one FINISHED summary per translator
    for summary in summaries:
        seeds = [
            r
            for r in runs
            if r.data.tags.get("mlflow.parentRunId") == summary.info.run_id and r.info.status == "FINISHED"
        ]
        assert sorted(int(r.data.tags[f"{TAG}seed"]) for r in seeds) == SEEDS  # one FINISHED run per seed
    finished_seed_keys = [
        r.data.tags[f"{TAG}job_key"]
        for r in runs
        if r.data.tags.get(f"{TAG}level") == "seed" and r.info.status == "FINISHED"
    ]
    assert len(finished_seed_keys) == len(set(finished_seed_keys)) == 2 * len(SEEDS)  # no job finished twice
    return {
        r.data.tags[f"{TAG}label"]: {k: v for k, v in r.data.metrics.items() if k.startswith(("test/", "downstream/"))}
        for r in summaries
    }


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    import yaml

    root = tmp_path_factory.mktemp("reference")
    cfg = root / "exp.yaml"
    cfg.write_text(yaml.safe_dump(BODY))
    done = omibench(cfg, root / "store")
    assert done.returncode == 0, done.stderr
    metrics = state(root / "store")
    assert all("downstream/accuracy" in m for m in metrics.values())
    return metrics


CASES = [
    ("fit", "SIGINT", 3),
    ("seed_recorded", "SIGINT", 4),
    ("downstream", "SIGINT", 2),
    ("fit", "SIGKILL", 2),
    ("seed_recorded", "SIGKILL", 2),
    ("downstream", "SIGKILL", 3),
]
FAST = {("seed_recorded", "SIGINT", 4)}  # the rest take ~30 s each


@pytest.mark.parametrize(
    "point, sig, nth", [c if c in FAST else pytest.param(*c, marks=pytest.mark.slow) for c in CASES]
)
def test_interrupt_then_rerun_completes_as_if_uninterrupted(write_config, tmp_path, reference, point, sig, nth):
    cfg = write_config(BODY)
    store = tmp_path / "store"
    first = omibench(cfg, store, fault=f"{point}:{sig}:{nth}")
    if sig == "SIGINT":
        assert first.returncode == 130, first.stderr
        last = first.stderr.strip().splitlines()[-1]
        assert last.startswith("interrupted: ") and "rerun the same command" in last, last
        assert "Traceback" not in first.stderr
        client = MlflowClient(f"sqlite:///{store / 'mlflow.db'}")
        runs = client.search_runs([client.get_experiment_by_name("t").experiment_id])
        assert not [r for r in runs if r.info.status == "RUNNING"]  # Ctrl-C leaves nothing RUNNING
        finished_before = {r.info.run_id for r in runs if r.info.status == "FINISHED"}
    else:
        assert first.returncode == -9, first.stderr
        finished_before = set()
    second = omibench(cfg, store)
    assert second.returncode == 0, second.stderr
    metrics = state(store)
    assert set(metrics) == set(reference)
    for label in reference:
        assert metrics[label] == pytest.approx(reference[label], rel=1e-6, abs=1e-9), label
    client = MlflowClient(f"sqlite:///{store / 'mlflow.db'}")
    for run_id in finished_before:  # what had finished before Ctrl-C is still FINISHED (kept, not redone)
        assert client.get_run(run_id).info.status == "FINISHED"
