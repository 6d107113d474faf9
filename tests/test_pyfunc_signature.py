"""Logged pyfunc models carry a signature (the model's input columns) and an input example, so
``mlflow models predict`` and serving can check their inputs; the example predicts like translate."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from omibench.cli import cli
from omibench.contract.registry import load_registry
from omibench.data.steps import Transform
from omibench.run.translate import load_trained, translate_frame
from omibench.store import MlflowStore

from .conftest import small_experiment


@pytest.mark.parametrize("kind", ["log1p", "log2p1", "beta_to_m", "m_to_beta"])
def test_transforms_invert(kind):
    x = np.array([[0.05, 0.5, 0.9]], dtype=np.float32)
    out, _ = Transform(kind).apply(x, np.array(["a", "b", "c"], dtype=object))
    np.testing.assert_allclose(Transform(kind).invert(out), x, rtol=1e-4)


def test_logged_model_has_a_signature_and_an_input_example(write_config, tmp_path):
    import mlflow
    import mlflow.models

    store = tmp_path / "store"
    body = small_experiment(
        translators=[{"name": "ridge"}],
        preprocess={"b": [{"variance": {"top_k": 20}}, {"transform": "beta_to_m"}]},
    )
    result = CliRunner().invoke(cli, ["run", str(write_config(body)), "--store", str(store), "--log-models"])
    assert result.exit_code == 0, result.output
    st = MlflowStore(store)
    (run,) = st.summaries("t")
    trained = load_trained(run.run_id, load_registry(), st, tmp_path / "dl")
    mlflow.set_tracking_uri(st.uri)
    try:
        info = mlflow.models.get_model_info(run.tags.pyfunc)
        model = mlflow.pyfunc.load_model(run.tags.pyfunc)
        example = model.input_example
        # the signature: the model's inputs (the 20 CpGs its preprocessing keeps, in order), none
        # required (missing ones are filled with training means), plus the optional sample-id column
        inputs = info.signature.inputs
        assert inputs.input_names() == [*trained.b_features, "sample"]
        assert len(trained.b_features) == 20 and not any(c.required for c in inputs.inputs)
        assert info.signature.outputs.input_names() == trained.a_features
        # the input example: those columns, on the files' scale (betas, not M values)
        assert list(example.columns) == trained.b_features and len(example) == 1
        assert ((example.to_numpy() > 0) & (example.to_numpy() < 1)).all()
        # predicting through MLflow's schema enforcement: a missing column is filled, extra ones ignored
        new = pd.DataFrame(example.to_numpy().repeat(3, axis=0), columns=example.columns)
        new["sample"] = ["x", "y", "z"]
        new["cg_not_a_model_input"] = 1.0
        full = model.predict(new)
        partial = model.predict(new.drop(columns=[trained.b_features[0]]))
    finally:
        mlflow.set_tracking_uri(None)
    assert list(full.index) == ["x", "y", "z"] and list(full.columns) == trained.a_features
    expected, _ = translate_frame(trained, new.set_index("sample"))  # what `omibench translate` gives
    np.testing.assert_allclose(full.to_numpy(), expected.to_numpy(), rtol=1e-5, atol=1e-5)
    assert partial.shape == full.shape and np.isfinite(partial.to_numpy()).all()
