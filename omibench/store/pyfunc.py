"""Each translator as an MLflow pyfunc model, so that ``mlflow models predict``, the model registry
and ``mlflow.pyfunc.load_model`` work on omibench runs without omibench's own ``translate``.

The model's one artifact is the run's model folder (the fitted translator and its fitted
preprocessing, as ``omibench translate`` reads it); input is a methylation DataFrame (samples in
rows, CpG ids as columns), output the predicted expression (genes as columns). Importing this
module imports MLflow: only :meth:`MlflowStore.log_pyfunc` does.

What loading and predicting do lives in :mod:`omibench.run.pyfunc_models`; :class:`TranslatorModel`
stays here because every logged model names it by this path (MLflow pickles the class by reference).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mlflow
import mlflow.pyfunc
import pandas as pd
from mlflow.models import ModelSignature, infer_signature
from mlflow.pyfunc import PythonModel
from mlflow.types import ColSpec, DataType, Schema, TensorSpec

from omibench.store.layout import PYFUNC_ARTIFACT, PYFUNC_NAME

__all__ = ["SAMPLE_COLUMN", "TranslatorModel", "log_pyfunc", "signature"]

SAMPLE_COLUMN = "sample"  # the id column of a CSV read by `mlflow models predict` (the predictions' index)


class TranslatorModel(PythonModel):
    """A fitted omibench translator and its preprocessing behind MLflow's pyfunc interface."""

    def load_context(self, context: Any) -> None:
        # the one import from the store up into run/ (allowed in tests/test_layering.py): MLflow
        # calls this in a process that has only the pickled model, so the loader cannot be handed in
        from omibench.run import pyfunc_models

        self.trained = pyfunc_models.load_model_folder(context.artifacts[PYFUNC_ARTIFACT])

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> pd.DataFrame:
        from omibench.run import pyfunc_models

        return pyfunc_models.predict_frame(self.trained, model_input)


def signature(example: tuple[pd.DataFrame, pd.DataFrame]) -> ModelSignature:
    """The model's signature from an (input, output) example: each input column a ``double``, not
    required (as ``omibench translate`` does, a missing feature is filled with its training mean),
    plus an optional string ``sample`` column (a CSV's id column, kept as the output's index); the
    output columns as the example's. MLflow drops input columns the signature does not name."""
    inputs, outputs = example
    columns: list[ColSpec | TensorSpec] = [
        ColSpec(DataType.double, str(name), required=False) for name in inputs.columns
    ]
    columns.append(ColSpec(DataType.string, SAMPLE_COLUMN, required=False))
    return ModelSignature(inputs=Schema(columns), outputs=infer_signature(inputs, outputs).outputs)


def log_pyfunc(
    tracking_uri: str,
    run_id: str,
    model_dir: Path,
    requirements: list[str],
    example: tuple[pd.DataFrame, pd.DataFrame] | None = None,
) -> str:
    """Log ``model_dir`` as the pyfunc model of run ``run_id``; return its model URI.

    ``requirements`` are given explicitly: MLflow would otherwise infer them by loading the model
    and running it (about 15 s per model). ``example`` (an input frame and the model's output for
    it) gives the model its :func:`signature` and its input example, so ``mlflow models predict``
    and serving check their inputs."""
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(tracking_uri)
    try:
        with mlflow.start_run(run_id=run_id):
            info = mlflow.pyfunc.log_model(
                name=PYFUNC_NAME,
                python_model=TranslatorModel(),
                artifacts={PYFUNC_ARTIFACT: str(model_dir)},
                pip_requirements=requirements,
                signature=signature(example) if example is not None else None,
                input_example=example[0] if example is not None else None,
            )
        return str(info.model_uri)
    finally:
        mlflow.set_tracking_uri(previous)
