"""Ray: a neural translator on a CPU-only local cluster; no cluster = one line, nothing written."""

import time

import pytest
from click.testing import CliRunner

from omibench.cli import cli

from .conftest import small_experiment

ray = pytest.importorskip("ray")


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


@pytest.mark.parametrize("address", ["127.0.0.1:1", "not-an-address"])
def test_unreachable_cluster_is_one_line_and_writes_nothing(write_config, tmp_path, address):
    store = tmp_path / "store"
    cfg = write_config(small_experiment(executor={"kind": "ray", "address": address}))
    started = time.monotonic()
    result = invoke("run", cfg, "--store", store)
    assert time.monotonic() - started < 60
    assert result.exit_code == 2, result.output
    line = result.output.strip().splitlines()[-1]
    assert line.startswith("error: ") and "executor.address" in line and "Traceback" not in result.output
    assert not (store / "mlflow.db").exists() and not (store / "locks").exists()


@pytest.mark.slow  # starts a local Ray instance (~20 s)
def test_neural_translator_runs_on_a_cpu_only_ray_cluster(write_config, tmp_path):
    from mlflow.tracking import MlflowClient

    ray.init(num_cpus=2, num_gpus=0, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        store = tmp_path / "store"
        td = {"hidden": 8, "epochs": 3, "batch_size": 16}
        cfg = write_config(
            small_experiment(
                translators=[{"name": "tdimpute", "params": td}, {"name": "linear_regression"}],
                executor={"kind": "ray"},
            )
        )
        result = invoke("run", cfg, "--store", store)
        assert result.exit_code == 0, result.output
        client = MlflowClient(f"sqlite:///{store / 'mlflow.db'}")
        runs = client.search_runs([client.get_experiment_by_name("t").experiment_id])
        by_label = {r.data.tags["omibench.label"]: r for r in runs}
        assert by_label["tdimpute"].info.status == "FINISHED"
        assert by_label["tdimpute"].data.tags["omibench.device"] == "ray-cpu"  # wanted a GPU, the cluster has none
        assert "model" in {f.path for f in client.list_artifacts(by_label["tdimpute"].info.run_id)}
    finally:
        ray.shutdown()
