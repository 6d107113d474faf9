"""Each translator as an MLflow pyfunc model, so that ``mlflow models predict``, the model registry
and ``mlflow.pyfunc.load_model`` work on omibench runs without omibench's own ``translate``.

The model's one artifact is the run's model folder (the fitted translator and its fitted
preprocessing, as ``omibench translate`` reads it); input is a methylation DataFrame (samples in
rows, CpG ids as columns), output the predicted expression (genes as columns). Importing this
module imports MLflow: only :meth:`MlflowStore.log_pyfunc` does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mlflow
import mlflow.pyfunc
import pandas as pd
from mlflow.pyfunc import PythonModel

__all__ = ["TranslatorModel", "log_pyfunc"]


class TranslatorModel(PythonModel):
    """A fitted omibench translator and its preprocessing behind MLflow's pyfunc interface."""

    def load_context(self, context: Any) -> None:
        from omibench.contract.registry import load_registry
        from omibench.run.translate import load_trained

        self.trained = load_trained(context.artifacts["model"], load_registry([]))

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> pd.DataFrame:
        from omibench.run.translate import translate_frame

        frame = pd.DataFrame(model_input)
        if "sample" in frame.columns:  # a CSV read by `mlflow models predict` keeps the id column
            frame = frame.set_index("sample")
        pred, _ = translate_frame(self.trained, frame, "pyfunc input")
        return pred


def log_pyfunc(tracking_uri: str, run_id: str, model_dir: Path, requirements: list[str]) -> str:
    """Log ``model_dir`` as the pyfunc model ``translator`` of run ``run_id``; return its model URI.

    ``requirements`` are given explicitly: MLflow would otherwise infer them by loading the model
    and running it (about 15 s per model)."""
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(tracking_uri)
    try:
        with mlflow.start_run(run_id=run_id):
            info = mlflow.pyfunc.log_model(
                name="translator",
                python_model=TranslatorModel(),
                artifacts={"model": str(model_dir)},
                pip_requirements=requirements,
            )
        return str(info.model_uri)
    finally:
        mlflow.set_tracking_uri(previous)
