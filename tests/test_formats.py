"""Field formats: AnnData in and out of ``omibench translate``."""

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from omibench.cli import cli
from omibench.data.synthetic import make_synthetic
from omibench.store import MlflowStore

from .conftest import small_experiment

anndata = pytest.importorskip("anndata")


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def test_translate_reads_and_writes_h5ad_keeping_obs(write_config, tmp_path):
    store = tmp_path / "store"
    cfg = write_config(small_experiment(translators=[{"name": "ridge"}]))
    assert invoke("run", cfg, "--store", store).exit_code == 0
    (run,) = MlflowStore(store).summaries("t")
    d = make_synthetic(n_samples=60, n_cpgs=25, n_genes=15, n_classes=3, seed=0)
    ids = [f"new{i}" for i in range(7)]
    obs = pd.DataFrame({"batch": list("aabbccd"), "age": np.arange(7.0)}, index=ids)
    anndata.AnnData(X=d.b[:7].astype("float32"), obs=obs, var=pd.DataFrame(index=list(d.b_features))).write_h5ad(
        tmp_path / "new.h5ad"
    )
    pd.DataFrame(d.b[:7], index=ids, columns=d.b_features).to_csv(tmp_path / "new.csv")

    result = invoke(
        "translate", run.run_id, "--input", tmp_path / "new.h5ad", "--output", tmp_path / "pred.h5ad", "--store", store
    )
    assert result.exit_code == 0, result.output
    assert (
        invoke(
            "translate",
            run.run_id,
            "--input",
            tmp_path / "new.csv",
            "--output",
            tmp_path / "pred.csv",
            "--store",
            store,
        ).exit_code
        == 0
    )
    out = anndata.read_h5ad(tmp_path / "pred.h5ad")
    csv = pd.read_csv(tmp_path / "pred.csv", index_col=0)
    assert list(out.obs_names) == ids and list(out.var_names) == list(csv.columns)
    assert out.obs["batch"].tolist() == list("aabbccd") and out.obs["age"].tolist() == list(range(7))
    np.testing.assert_allclose(out.X, csv.to_numpy(), rtol=1e-5, atol=1e-5)


def test_unknown_output_type_is_one_line(tmp_path):
    result = invoke("translate", "x", "--input", tmp_path / "a.csv", "--output", tmp_path / "a.xlsx")
    assert result.exit_code == 2 and ".h5ad" in result.output


def test_translators_logged_as_pyfunc_models_predict_like_translate(write_config, tmp_path):
    import mlflow.pyfunc

    store = tmp_path / "store"
    cfg = write_config(small_experiment(translators=[{"name": "ridge"}], seeds=[0, 1]))
    result = invoke("run", cfg, "--store", store, "--log-models")
    assert result.exit_code == 0, result.output
    (run,) = MlflowStore(store).summaries("t")
    assert run.tags.pyfunc and run.tags.pyfunc in result.output
    d = make_synthetic(n_samples=60, n_cpgs=25, n_genes=15, n_classes=3, seed=0)
    frame = pd.DataFrame(d.b[:5], index=[f"s{i}" for i in range(5)], columns=d.b_features)
    frame.to_csv(tmp_path / "new.csv")
    assert (
        invoke(
            "translate",
            run.run_id,
            "--input",
            tmp_path / "new.csv",
            "--output",
            tmp_path / "pred.csv",
            "--store",
            store,
        ).exit_code
        == 0
    )
    mlflow.set_tracking_uri(MlflowStore(store).uri)
    try:
        pred = mlflow.pyfunc.load_model(run.tags.pyfunc).predict(frame)
    finally:
        mlflow.set_tracking_uri(None)
    np.testing.assert_allclose(pred.to_numpy(), pd.read_csv(tmp_path / "pred.csv", index_col=0).to_numpy(), rtol=1e-6)
    # a rerun does not log the same model again
    again = invoke("run", cfg, "--store", store, "--log-models")
    assert "MLflow model" not in again.output
