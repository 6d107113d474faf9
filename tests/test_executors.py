"""Executors: GPU slots on one machine, a real local Ray cluster, and resume after SIGKILL."""

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from omibench.cli import cli
from omibench.store import TAG
from omibench.store import MlflowStore as Tracker

from .conftest import small_experiment

GPU_SLEEPER = Path(__file__).parent / "fixtures" / "plugins" / "gpu_sleeper"  # wants a GPU, logs which it got


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def test_two_pretended_gpus_are_never_shared_and_both_used(write_config, tmp_path):
    plugdir, logs = GPU_SLEEPER, tmp_path / "gpu_logs"
    logs.mkdir()
    entries = [
        {"name": "gpu_sleeper", "label": f"sleeper{i}", "params": {"log_dir": str(logs), "seconds": 2.0}}
        for i in range(4)
    ]
    cfg = write_config(
        small_experiment(
            translators=entries, plugins_dir=str(plugdir), executor={"kind": "local", "gpus": 2, "cpu_workers": 1}
        )
    )
    result = invoke("run", cfg, "--store", tmp_path / "store")
    assert result.exit_code == 0, result.output
    records = [json.loads(p.read_text()) for p in logs.iterdir()]
    assert len(records) == 4
    assert {r["gpu"] for r in records} == {"0", "1"}
    for gpu in ("0", "1"):
        spans = sorted((r["start"], r["end"]) for r in records if r["gpu"] == gpu)
        for (_, end), (start, _) in zip(spans, spans[1:], strict=False):
            assert start >= end, f"GPU {gpu} was shared: {spans}"
    # the two GPUs did work at the same time
    s0 = [(r["start"], r["end"]) for r in records if r["gpu"] == "0"]
    s1 = [(r["start"], r["end"]) for r in records if r["gpu"] == "1"]
    assert any(a < d and c < b for a, b in s0 for c, d in s1)


def _metrics(store, experiment="t"):
    tracker = Tracker(store)
    exp = tracker.client.get_experiment_by_name(experiment)
    runs = tracker.client.search_runs([exp.experiment_id], filter_string="attributes.status = 'FINISHED'")
    return {r.data.tags[f"{TAG}label"]: r.data.metrics for r in runs}


@pytest.mark.slow  # starts a two-node Ray cluster
def test_ray_cluster_gives_the_same_metrics_as_inline(write_config, tmp_path):
    pytest.importorskip("ray", reason="ray is not installed (pip install 'omibench[ray]')")
    import secrets

    ray_bin = shutil.which("ray", path=os.path.dirname(sys.executable))
    # a venv layered over another may lack the console script: run Ray's CLI module instead
    ray_cmd = (
        [ray_bin]
        if ray_bin
        else [sys.executable, "-c", "import sys; from ray.scripts.scripts import main; sys.argv[0] = 'ray'; main()"]
    )
    port = "6391"
    # Ray 2.60 refuses a second node without the cluster's token: one token for the head, the worker
    # node and the run (a fresh process: Ray reads it when imported), never a user's ~/.ray/auth_token
    token = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32)}
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", **token}
    common = ["--num-cpus", "1", "--num-gpus", "0", "--disable-usage-stats"]
    subprocess.run(
        [
            *ray_cmd,
            "start",
            "--head",
            "--node-ip-address",
            "127.0.0.1",
            "--port",
            port,
            "--include-dashboard",
            "false",
            *common,
        ],
        check=True,
        env=env,
        capture_output=True,
    )
    try:
        subprocess.run(
            [*ray_cmd, "start", "--address", f"127.0.0.1:{port}", "--node-ip-address", "127.0.0.1", *common],
            check=True,
            env=env,
            capture_output=True,
        )
        cfg = write_config(small_experiment())
        inline = invoke("run", cfg, "--store", tmp_path / "inline")
        assert inline.exit_code == 0, inline.output
        ray_cfg = write_config(small_experiment(executor={"kind": "ray", "address": f"127.0.0.1:{port}"}), "ray.yaml")
        on_ray = subprocess.run(
            [sys.executable, "-m", "omibench.cli", "run", str(ray_cfg), "--store", str(tmp_path / "ray")],
            env=env,
            capture_output=True,
            text=True,
        )
        assert on_ray.returncode == 0, on_ray.stderr
        a, b = _metrics(tmp_path / "inline"), _metrics(tmp_path / "ray")
        assert set(a) == set(b) == {"linear_regression", "lasso"}
        for label in a:
            for name in ("test/mse", "test/median_r2_featurewise", "val/mse"):
                assert b[label][name] == pytest.approx(a[label][name], rel=1e-6), (label, name)
        tracker = Tracker(tmp_path / "ray")
        exp = tracker.client.get_experiment_by_name("t")
        run = tracker.client.search_runs([exp.experiment_id])[0]
        assert "results" in {f.path for f in tracker.client.list_artifacts(run.info.run_id)}
    finally:
        import ray

        if ray.is_initialized():
            ray.shutdown()
        subprocess.run([*ray_cmd, "stop", "--force"], env=env, capture_output=True)


def _finished_seed_runs(db) -> int:
    """Read the store with plain sqlite (an MLflow client here would race the run on the schema)."""
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as con:
            return con.execute(
                "select count(*) from runs r join tags t on t.run_uuid = r.run_uuid "
                f"where t.key = '{TAG}level' and t.value = 'seed' and r.status = 'FINISHED'"
            ).fetchone()[0]
    except sqlite3.Error:
        return 0


def test_sigkill_mid_benchmark_then_rerun_finishes_every_job_once(write_config, tmp_path):
    store = tmp_path / "store"
    td = {"hidden": 8, "epochs": 40, "batch_size": 8}
    cfg = write_config(
        small_experiment(
            seeds=[0, 1, 2],
            translators=[{"name": "sklearn"}, {"name": "tdimpute", "params": td}],  # seed-dependent both
        )
    )
    cmd = [sys.executable, "-m", "omibench.cli", "run", str(cfg), "--store", str(store)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 180
    while time.time() < deadline and _finished_seed_runs(store / "mlflow.db") < 4:  # kill mid-benchmark
        time.sleep(0.3)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    tracker = Tracker(store)
    exp = tracker.client.get_experiment_by_name("t")
    seed_runs = tracker.client.search_runs([exp.experiment_id], filter_string=f"tags.`{TAG}level` = 'seed'")
    assert 4 <= sum(r.info.status == "FINISHED" for r in seed_runs) < 6, "the kill came too late to test resume"

    result = invoke("run", cfg, "--store", store)
    assert result.exit_code == 0, result.output
    runs = tracker.client.search_runs([exp.experiment_id])
    finished = [r for r in runs if r.info.status == "FINISHED"]
    keys = [r.data.tags[f"{TAG}job_key"] for r in finished]
    assert len(keys) == len(set(keys)) == 2 + 6  # two summaries, six seed jobs, each finished once
    assert not [r for r in runs if r.info.status == "RUNNING"]


def test_torch_jobs_run_in_a_fresh_interpreter_with_the_same_results(write_config, tmp_path):
    """Torch translators run in a spawned interpreter that rebuilds the data (a fork would inherit
    the driver's OpenMP pool and CUDA state): same results as inline, per-epoch values still live.
    This process has used torch with several threads before (the torch self-check below): a fork
    of it would deadlock in the child's first matrix product."""
    import torch

    from omibench import api

    torch.set_num_threads(2)
    torch.ones(512, 512) @ torch.ones(512, 512)  # starts this process's OpenMP pool
    td = {"hidden": 8, "epochs": 3, "batch_size": 16}
    body = small_experiment(translators=[{"name": "tdimpute", "params": td}])
    forked = api.run(write_config(body), store=tmp_path / "inline", executor="inline")
    spawned = api.run(write_config(body, "b.yaml"), store=tmp_path / "spawn")
    assert [o.status for o in spawned.outcomes] == ["FINISHED"]
    assert spawned.outcomes[0].metrics["test/mse"] == pytest.approx(forked.outcomes[0].metrics["test/mse"], rel=1e-6)
    store = spawned.store
    history = store.metric_history(spawned.outcomes[0].run_id, "val_mse")
    assert [step for step, _ in history] == [1, 2, 3]
