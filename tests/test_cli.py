"""End to end through the CLI, with a real MLflow SQLite store in a temporary directory."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from omibench.cli import cli
from omibench.metrics.reconstruction import METRIC_NAMES
from omibench.store import TAG
from omibench.store import MlflowStore as Tracker

from .conftest import small_experiment

FIXTURES = Path(__file__).parent / "fixtures" / "plugins"

MEAN_PLUGIN = Path(__file__).parent / "fixtures" / "plugins" / "training_mean" / "training_mean.py"


def invoke(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    return result


@pytest.fixture
def store(tmp_path):
    return tmp_path / "store"


def finished_runs(store, experiment="t"):
    tracker = Tracker(store)
    exp = tracker.client.get_experiment_by_name(experiment)
    return tracker.client.search_runs([exp.experiment_id], filter_string="attributes.status = 'FINISHED'")


def test_run_logs_every_metric_and_rerun_skips(write_config, store):
    cfg = write_config(small_experiment())
    result = invoke("run", cfg, "--store", store)
    assert result.exit_code == 0, result.output
    assert "Leaderboard" in result.output and " ui --store " in result.output and "viewStateShareKey=" in result.output
    runs = finished_runs(store)
    assert sorted(r.data.tags[f"{TAG}label"] for r in runs) == ["lasso", "linear_regression"]
    for run in runs:
        for name in METRIC_NAMES:
            assert np.isfinite(run.data.metrics[f"test/{name}"]), name
            assert f"val/{name}" in run.data.metrics
        tags = run.data.tags
        for tag in ("split_hash", "config_hash", "dataset_hash", "git_commit", "versions", "job_key"):
            assert tags[f"{TAG}{tag}"]
        artifacts = {f.path for f in Tracker(store).client.list_artifacts(run.info.run_id)}
        assert {"config.yaml", "results", "model", "split"} <= artifacts
        files = {f.path for f in Tracker(store).client.list_artifacts(run.info.run_id, "results")}
        assert {"results/predictions_test.parquet", "results/r2_per_gene.csv", "results/r2_histograms.png"} <= files
    # the logged predictions reproduce the logged metric
    lr = next(r for r in runs if r.data.tags[f"{TAG}label"] == "linear_regression")
    local = Tracker(store).client.download_artifacts(lr.info.run_id, "results/r2_per_gene.csv", str(store.parent))
    r2 = pd.read_csv(local)["r2"]
    assert np.median(r2) == pytest.approx(lr.data.metrics["test/median_r2_featurewise"])

    again = invoke("run", cfg, "--store", store)
    assert again.exit_code == 0
    assert again.output.count("skipped") == 2
    assert len(finished_runs(store)) == 2
    forced = invoke("run", cfg, "--store", store, "--force", "--set", "translators=[{name: linear_regression}]")
    assert forced.exit_code == 0
    assert len(finished_runs(store)) == 3


def test_several_seeds_make_child_runs_and_a_summary(write_config, store):
    cfg = write_config(small_experiment(seeds=[0, 1], translators=[{"name": "sklearn"}]))
    assert invoke("run", cfg, "--store", store).exit_code == 0
    runs = finished_runs(store)
    levels = sorted(r.data.tags[f"{TAG}level"] for r in runs)
    assert levels == ["seed", "seed", "summary"]
    summary = next(r for r in runs if r.data.tags[f"{TAG}level"] == "summary")
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == summary.info.run_id]
    assert len(children) == 2
    mean = np.mean([c.data.metrics["test/mse"] for c in children])
    assert summary.data.metrics["test/mse"] == pytest.approx(mean)
    assert "test/mse_std" in summary.data.metrics


def test_leaderboard_formats(write_config, store):
    invoke("run", write_config(small_experiment()), "--store", store)
    md = invoke("leaderboard", "t", "--store", store, "--format", "markdown", "--sort", "mse")
    assert md.exit_code == 0 and md.output.startswith("| translator")
    csv = invoke("leaderboard", "t", "--store", store, "--format", "csv")
    frame = pd.read_csv(__import__("io").StringIO(csv.output))
    assert set(METRIC_NAMES) <= set(frame.columns) and len(frame) == 2
    by_mse = invoke("leaderboard", "t", "--store", store, "--format", "csv", "--sort", "mse").output
    mse = pd.read_csv(__import__("io").StringIO(by_mse))["mse"]
    assert list(mse) == sorted(mse)
    assert invoke("leaderboard", "nope", "--store", store).exit_code == 2


def test_local_plugin_runs_through_the_cli(write_config, store, tmp_path):
    plugdir = tmp_path / "myplugins"
    plugdir.mkdir()
    (plugdir / "mean.py").write_text(MEAN_PLUGIN.read_text())
    listed = invoke("plugins", "--plugins-dir", plugdir)
    assert "training_mean" in listed.output and "mean.py" in listed.output
    cfg = write_config(small_experiment(translators=[{"name": "training_mean"}], plugins_dir=str(plugdir)))
    assert invoke("run", cfg, "--store", store).exit_code == 0
    assert invoke("check-plugin", "training_mean", "--plugins-dir", plugdir).exit_code == 0


def test_check_plugin_builtin():
    out = invoke("check-plugin", "lasso")
    assert out.exit_code == 0 and "12 passed, 0 failed" in out.output and "search_space_valid" in out.output


def _assert_user_error(result, store, *fragments):
    assert result.exit_code == 2, result.output
    line = result.output.strip().splitlines()[-1]
    assert line.startswith("error: ")
    for fragment in fragments:
        assert fragment in line
    assert "Traceback" not in result.output
    assert not (store / "mlflow.db").exists()  # nothing half-written


def test_bad_inputs_exit_2_and_write_nothing(write_config, store, tmp_path):
    bad_yaml = tmp_path / "broken.yaml"
    bad_yaml.write_text("name: [unclosed\n")
    _assert_user_error(invoke("run", bad_yaml, "--store", store), store, "broken.yaml", "invalid YAML")
    _assert_user_error(invoke("run", tmp_path / "absent.yaml", "--store", store), store, "absent.yaml", "not found")
    cfg = write_config(small_experiment(translators=[{"name": "lasoo"}]))
    _assert_user_error(
        invoke("run", cfg, "--store", store), store, "unknown translator 'lasoo'", "did you mean 'lasso'"
    )
    cfg = write_config(small_experiment(translators=[{"name": "lasso", "params": {"alpah": 1.0}}]))
    _assert_user_error(invoke("run", cfg, "--store", store), store, "no parameter 'alpah'", "'alpha'")
    cfg = write_config(
        small_experiment(data={"source": "files", "b": str(tmp_path / "B.csv"), "a": str(tmp_path / "A.csv")})
    )
    _assert_user_error(invoke("run", cfg, "--store", store), store, "B.csv", "file not found")
    cfg = write_config(small_experiment(data={"source": "synthetic", "n_sample": 5}))
    _assert_user_error(invoke("run", cfg, "--store", store), store, "data.n_sample")

    # a NaN cell without imputation, and a test-id list naming unknown samples
    rng = np.random.default_rng(0)
    ids = [f"s{i}" for i in range(30)]
    b = pd.DataFrame(rng.random((30, 6)), index=pd.Index(ids, name="id"))
    a = pd.DataFrame(rng.normal(size=(30, 4)), index=pd.Index(ids, name="id"))
    b.iloc[3, 2] = np.nan
    b.to_csv(tmp_path / "B.csv")
    a.to_csv(tmp_path / "A.csv")
    files = {"source": "files", "root": str(tmp_path), "b": "B.csv", "a": "A.csv"}
    cfg = write_config(small_experiment(data=files))
    _assert_user_error(invoke("run", cfg, "--store", store), store, "missing values in B", "impute: mean")
    (tmp_path / "test_ids.txt").write_text("s1\ns2\nghost\n")
    cfg = write_config(
        small_experiment(data=files, preprocess={"impute": "mean"}, split={"test_ids": str(tmp_path / "test_ids.txt")})
    )
    _assert_user_error(invoke("run", cfg, "--store", store), store, "test_ids.txt", "ghost")


EXPLODER = FIXTURES / "exploder" / "exploder.py"


def test_a_failing_translator_fails_alone(write_config, store, tmp_path):
    plugdir = tmp_path / "p"
    plugdir.mkdir()
    (plugdir / "exploder.py").write_text(EXPLODER.read_text())
    cfg = write_config(small_experiment(translators=[{"name": "exploder"}, {"name": "linear_regression"}]))
    result = invoke("run", cfg, "--store", store, "--plugins-dir", plugdir)
    assert result.exit_code == 1
    assert "FAILED exploder: FloatingPointError: training diverged" in result.output
    tracker = Tracker(store)
    exp = tracker.client.get_experiment_by_name("t")
    runs = {r.data.tags[f"{TAG}label"]: r for r in tracker.client.search_runs([exp.experiment_id])}
    assert runs["exploder"].info.status == "FAILED"
    assert runs["linear_regression"].info.status == "FINISHED"
    assert "traceback.txt" in {f.path for f in tracker.client.list_artifacts(runs["exploder"].info.run_id)}
    history = tracker.client.get_metric_history(runs["exploder"].info.run_id, "val_mse")
    assert [(m.step, m.value) for m in history] == [(1, 1.0)]
    # the failed translator is retried on the next run; the finished one is skipped
    again = invoke("run", cfg, "--store", store, "--plugins-dir", plugdir)
    assert "linear_regression: finished run" in again.output and again.exit_code == 1


def test_neural_translator_logs_epochs_as_steps(write_config, store):
    params = {"hidden": [16], "latent": 4, "disc_hidden": [8], "epochs": 3, "epochs_decay": 1, "batch_size": 16}
    cfg = write_config(small_experiment(translators=[{"name": "omitrans_fc", "params": params}]))
    assert invoke("run", cfg, "--store", store).exit_code == 0
    (run,) = finished_runs(store)
    history = Tracker(store).client.get_metric_history(run.info.run_id, "val_mse")
    assert [m.step for m in history] == [1, 2, 3]
    files = {f.path for f in Tracker(store).client.list_artifacts(run.info.run_id, "model")}
    assert "model/weights.pt" in files


DECLINING_PLUGINS = FIXTURES / "declining" / "declining.py"


def test_a_declined_translator_is_said_and_keeps_exit_0_a_failed_one_exits_1(write_config, store, tmp_path):
    plugdir = tmp_path / "declining"
    plugdir.mkdir()
    (plugdir / "declining.py").write_text(DECLINING_PLUGINS.read_text())
    base = {"plugins_dir": str(plugdir)}
    cfg = write_config(small_experiment(translators=[{"name": "declines"}, {"name": "ridge"}], **base), "a.yaml")
    out = invoke("run", cfg, "--store", store)
    assert out.exit_code == 0, out.output
    assert "not applicable: declines: declines: needs at least 10,000 genes" in out.output
    assert "FAILED" not in out.output and "ridge" in out.output
    cfg = write_config(small_experiment(translators=[{"name": "declines"}, {"name": "breaks"}], **base), "b.yaml")
    out = invoke("run", cfg, "--store", tmp_path / "store2")
    assert out.exit_code == 1
    assert "FAILED (error)" in out.output and "FAILED breaks: ValueError: a bug in the plugin" in out.output
    assert "not applicable: declines" in out.output
