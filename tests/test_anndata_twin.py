"""Each run's test predictions have an AnnData twin when anndata is installed."""

import importlib.util

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from omibench.cli import cli
from omibench.data.synthetic import make_synthetic
from omibench.run.artifacts import log_anndata_twin, read_predictions
from omibench.store import TAG, MemoryStore, Tags
from omibench.store import MlflowStore as Tracker

from .conftest import small_experiment


def test_predictions_have_an_h5ad_twin_with_ids_genes_and_labels(write_config, tmp_path):
    anndata = pytest.importorskip("anndata")
    cfg = write_config(small_experiment(translators=[{"name": "linear_regression"}]))
    store = tmp_path / "store"
    result = CliRunner().invoke(cli, ["run", str(cfg), "--store", str(store)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    tracker = Tracker(store)
    (run,) = tracker.client.search_runs([tracker.client.get_experiment_by_name("t").experiment_id])
    assert run.data.tags[f"{TAG}label"] == "linear_regression"
    out = tmp_path / "down"
    twin = anndata.read_h5ad(tracker.client.download_artifacts(run.info.run_id, "results/predictions_test.h5ad", out))
    parquet = read_predictions(
        tracker.client.download_artifacts(run.info.run_id, "results/predictions_test.parquet", out)
    )
    assert list(twin.obs_names) == list(parquet.index.astype(str))  # test samples
    assert list(twin.var_names) == list(parquet.columns.astype(str))  # genes
    np.testing.assert_allclose(twin.X, parquet.to_numpy(), rtol=1e-6)
    data = make_synthetic(n_samples=60, n_cpgs=25, n_genes=15, n_classes=3, seed=0)  # the config's source
    truth = dict(zip(data.sample_ids.astype(str), data.labels, strict=True))
    assert list(twin.obs["label"].astype(str)) == [truth[s] for s in twin.obs_names]


def test_without_anndata_nothing_is_written(tmp_path, monkeypatch):
    job = tmp_path / "job" / "results"
    job.mkdir(parents=True)
    frame = pd.DataFrame(np.ones((2, 3)), index=pd.Index(["g1", "g2"], name="gene"), columns=["s1", "s2", "s3"])
    frame.to_parquet(job / "predictions_test.parquet")
    store = MemoryStore(tmp_path / "store")
    run_id = store.create_run(store.experiment_id("e"), "r", Tags())
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "anndata" else real(name, *a))
    log_anndata_twin(store, run_id, tmp_path / "job", {"s1": "a"})
    with pytest.raises(FileNotFoundError):
        store.download(run_id, "results/predictions_test.h5ad", tmp_path / "dl")
