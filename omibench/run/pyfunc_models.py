"""Log the leaderboard's translators as MLflow pyfunc models (``mlflow models predict``, the registry).

Runs after ``omibench run`` on the current summary runs that have no pyfunc model yet; a
multi-seed summary gets its first seed's model (as ``omibench translate RUN_ID`` does). What a
logged model does when MLflow loads it (:func:`load_model_folder`, :func:`predict_frame`) is here
too; :class:`omibench.store.pyfunc.TranslatorModel` calls it.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterable
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

from omibench.store import Run, Store, Tags, layout

if TYPE_CHECKING:
    import pandas as pd

    from omibench.run.translate import Trained

__all__ = ["load_model_folder", "log_pyfunc_models", "model_example", "predict_frame", "requirements"]


def load_model_folder(path: str) -> Trained:
    """A logged pyfunc model's translator and preprocessing, from its model folder (every plugin
    that registers translators is loaded: the folder names its translator)."""
    from omibench.contract.registry import load_registry
    from omibench.run.translate import load_trained

    return load_trained(path, load_registry([]))


def predict_frame(trained: Trained, model_input: pd.DataFrame) -> pd.DataFrame:
    """A pyfunc model's prediction: methylation (samples in rows) -> expression (genes as columns)."""
    import pandas as pd

    from omibench.run.translate import translate_frame

    frame = pd.DataFrame(model_input)
    if "sample" in frame.columns:  # a CSV read by `mlflow models predict` keeps the id column
        frame = frame.set_index("sample")
    pred, _ = translate_frame(trained, frame, "pyfunc input")
    return pred


def model_example(trained: Trained) -> tuple[pd.DataFrame, pd.DataFrame]:
    """An (input, output) example of a pyfunc model: one row ``training-mean`` holding each model
    input's training mean on the files' scale (the fitted transforms inverted), as float64, with
    columns in the model's input order (the features its preprocessing keeps; any other column is
    ignored by the model), and the model's prediction for it."""
    import numpy as np
    import pandas as pd

    from omibench.data.steps import Transform

    pre = trained.preprocessor
    values = np.asarray(pre.b_means_[pre.b_keep_], dtype=np.float64)
    for step in reversed([*pre.b_stream, *pre.b_steps]):
        if isinstance(step, Transform):
            values = step.invert(values)
    index = pd.Index(["training-mean"], name="sample")
    inputs = pd.DataFrame(values[None, :], index=index, columns=list(trained.b_features))
    return inputs, predict_frame(trained, inputs)


def requirements() -> list[str]:
    """omibench's runtime requirements pinned to the installed versions (MLflow infers them by
    running the model otherwise, ~15 s per model)."""
    import re

    pins = []
    for req in metadata.requires("omibench") or []:
        if "extra ==" in req:
            continue
        name = re.split(r"[<>=!~;\[ ]", req, maxsplit=1)[0]
        try:
            pins.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            pins.append(req.split(";")[0].strip())
    return [f"omibench=={metadata.version('omibench')}", *pins]


def log_pyfunc_models(store: Store, runs: Iterable[Run], echo: Callable[[str], None] = lambda _: None) -> float:
    """Log each run's model as a pyfunc model (skipping runs that have one); return the seconds spent."""
    if not store.supports_pyfunc:  # a store without MLflow models (the in-memory test store)
        return 0.0
    start = time.perf_counter()
    reqs = requirements()
    for run in runs:
        if run.tags.pyfunc:
            continue
        source = (store.seed_runs(run.run_id) or [run])[0]
        with tempfile.TemporaryDirectory(prefix="omibench-pyfunc-") as tmp:
            try:
                folder = store.download(source.run_id, layout.MODEL, Path(tmp))
            except FileNotFoundError:
                continue
            example = model_example(load_model_folder(str(folder)))
            uri = store.log_pyfunc(run.run_id, folder, reqs, example)
        store.set_tags(run.run_id, Tags(pyfunc=uri))
        echo(f"omibench: {run.label}: MLflow model {uri}")
    return time.perf_counter() - start
