"""``omibench translate``: apply a trained translator to new methylation with no expression (Fig. 9).

A trained model is a run's ``model/`` folder: the translator's files plus ``preprocess.json/.npz``, the
preprocessing fitted on that run's training rows (``omibench run`` writes both). New input is
reindexed to the training's raw B features: features the new matrix lacks, and cells it leaves
empty, are filled with the *training* means after the fitted steps (counted in a warning); features
it has in excess are ignored (counted). Output: predicted expression, samples x genes, on the scale
the translator was trained on.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from omibench.contract.registry import Registry
from omibench.contract.translator import read_model_meta
from omibench.data.preprocess import Preprocessor
from omibench.errors import DataError, OmibenchError, one_line
from omibench.store import Run, Store, layout

__all__ = [
    "Trained",
    "load_trained",
    "orient_samples",
    "save_preprocessing",
    "translate_frame",
    "translation_figure",
    "write_matrix",
]

log = logging.getLogger(__name__)


@dataclass
class Trained:
    model: Any  # a fitted Translator
    preprocessor: Preprocessor
    b_features: list[str]  # the translator's input columns, in order
    a_features: list[str]  # its output columns
    run_id: str = ""
    classifier_dir: Path | None = None  # the split's downstream classifier, when the run has one


def save_preprocessing(path: Path, preprocessor: Preprocessor, b_features: Any, a_features: Any) -> None:
    """Next to a saved model: the fitted preprocessing and the feature order it produces."""
    preprocessor.save(path, {"b_features": [str(f) for f in b_features], "a_features": [str(f) for f in a_features]})


def load_trained(source: str, registry: Registry, store: Store | None = None, workdir: Path | None = None) -> Trained:
    """``source`` is a model folder (with ``translator.json`` and ``preprocess.json``) or an MLflow
    run id in ``store`` (a multi-seed summary run gives its first seed's model)."""
    path = Path(source)
    run_id, classifier_dir = "", None
    if not path.is_dir():
        if store is None or not store.exists():
            raise OmibenchError(f"{source}: neither a model folder nor a run id in a tracking store (check --store)")
        try:
            run = store.get_run(source)
        except KeyError:
            raise OmibenchError(f"{source}: no such folder, and no run with this id in {store.uri}") from None
        children = store.seed_runs(source)
        if children:
            run = children[0]
        run_id = run.run_id
        workdir = workdir or Path(tempfile.mkdtemp(prefix="omibench-translate-"))
        try:
            path = store.download(run_id, layout.MODEL, workdir)
        except FileNotFoundError:
            raise OmibenchError(f"run {run_id} has no logged model; only finished translator runs do") from None
        classifier_dir = _classifier_of(store, run, workdir)
    if (path / layout.MODEL).is_dir():
        path = path / layout.MODEL
    if not (path / "translator.json").is_file():
        raise OmibenchError(f"{path}: not a saved translator (translator.json missing)")
    # the fitted preprocessing is data (JSON + .npz without pickle); a preprocess.pkl is never read
    pre, meta = Preprocessor.load(path)
    if not isinstance(meta.get("b_features"), list) or not isinstance(meta.get("a_features"), list):
        raise OmibenchError(
            f"{path / layout.PREPROCESS_JSON}: lacks the model's feature lists: rerun it with `omibench run --force`"
        )
    name = read_model_meta(path)["translator"]
    model = registry.translator(name).load(path)
    return Trained(
        model, pre, [str(f) for f in meta["b_features"]], [str(f) for f in meta["a_features"]], run_id, classifier_dir
    )


def _classifier_of(store: Store, run: Run, workdir: Path) -> Path | None:
    reference = store.reference_run(run.experiment_id, run.tags.split_hash)
    if reference is None:
        return None
    try:
        return store.download(reference.run_id, layout.CLASSIFIER, workdir / "classifier_dl")
    except FileNotFoundError:
        return None


def orient_samples(frame: pd.DataFrame, known: list[str], path: Path) -> pd.DataFrame:
    """Samples in rows: transpose when the row ids, not the columns, are the known features."""
    known_set = set(known)
    in_cols = sum(c in known_set for c in frame.columns)
    in_rows = sum(i in known_set for i in frame.index)
    if in_rows > in_cols:
        frame = frame.T
    if max(in_rows, in_cols) == 0:
        raise DataError(
            f"{path}: none of its row or column ids is a methylation feature the model was trained on "
            f"(e.g. {', '.join(known[:3])}); check the file and the feature naming"
        )
    return frame


def translate_frame(trained: Trained, frame: pd.DataFrame, name: str = "input") -> tuple[pd.DataFrame, dict[str, int]]:
    """Predict expression for ``frame`` (samples x raw methylation features, as read from a file).

    Returns the predictions (samples x genes) and counts: ``missing_features`` (training features
    absent from ``frame``, filled with training means), ``missing_cells`` (empty cells of present
    features, filled likewise) and ``extra_features`` (columns of ``frame`` the model does not use).
    """
    pre = trained.preprocessor
    raw_features = [str(f) for f in pre.b_features_in_]
    present = set(frame.columns)
    missing_raw = [f for f in raw_features if f not in present]
    extra = [c for c in frame.columns if c not in set(raw_features)]
    try:
        values = frame.reindex(columns=raw_features).to_numpy(dtype=np.float32)
    except (TypeError, ValueError) as exc:
        why = one_line(exc, with_type=False)
        raise DataError(f"{name}: non-numeric cells in the methylation matrix ({why})") from None
    # inf cells count as missing: filled and counted, never NaN rows out (a new array: pandas 3's
    # to_numpy may return a read-only view)
    values = np.where(np.isfinite(values), values, np.float32(np.nan)).astype(np.float32, copy=False)
    x, ids = pre.transform_b_only(values)
    means = pre.b_means_[pre.b_keep_]
    if [str(i) for i in ids] != trained.b_features:
        raise DataError(
            f"{name}: preprocessing produced features that differ from the model's inputs; "
            "the model folder is inconsistent"
        )
    absent = np.isin(ids, np.asarray(missing_raw, dtype=object))
    nan = ~np.isfinite(x)
    missing_cells = int(nan[:, ~absent].sum())
    if nan.any():
        x = np.where(nan, means[None, :], x).astype(np.float32)
    pred = trained.model.predict(np.ascontiguousarray(x, dtype=np.float32))
    if not np.isfinite(pred).all():
        rows = np.flatnonzero(~np.isfinite(pred).all(axis=1))
        raise DataError(
            f"{name}: the model predicted non-finite values for {len(rows)} sample(s) "
            f"(e.g. {frame.index[rows[0]]!r}); check those inputs' ranges against the training data"
        )
    counts = {
        "samples": len(frame),
        "missing_features": int(absent.sum()),
        "missing_cells": missing_cells,
        "extra_features": len(extra),
    }
    if counts["missing_features"] or counts["missing_cells"]:
        log.warning(
            "%s: %d of %d model features are missing and %d cells are empty; filled with training means",
            name,
            counts["missing_features"],
            len(ids),
            missing_cells,
        )
    if extra:
        log.warning(
            "%s: %d features are not model inputs and were ignored (e.g. %s)", name, len(extra), ", ".join(extra[:3])
        )
    return pd.DataFrame(
        pred, index=pd.Index(frame.index.astype(str), name="sample"), columns=trained.a_features
    ), counts


OUTPUT_TYPES = "use .csv, .tsv (optionally .gz), .parquet or .h5ad"


def _anndata() -> Any:
    try:
        import anndata
    except ImportError:
        raise OmibenchError("anndata is not installed: pip install 'omibench[scverse]' to use .h5ad files") from None
    return anndata


def read_h5ad(path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """An ``.h5ad`` file as (samples x features matrix, obs): samples are AnnData's obs."""
    ad = _anndata().read_h5ad(path)
    x = ad.X.toarray() if hasattr(ad.X, "toarray") else np.asarray(ad.X)
    frame = pd.DataFrame(x, index=ad.obs_names.astype(str), columns=ad.var_names.astype(str))
    return frame, ad.obs.copy()


def write_matrix(frame: pd.DataFrame, path: Path, obs: pd.DataFrame | None = None) -> None:
    """CSV, TSV (optionally .gz), parquet or AnnData ``.h5ad`` (samples = obs, predictions in X,
    ``obs`` rows kept for the samples they name) by the file name; written whole, then moved into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    name = path.name.lower().removesuffix(".gz")
    tmp = path.with_name(f".{path.name}.partial")
    if name.endswith(".h5ad"):
        anndata = _anndata()
        index = frame.index.astype(str)
        kept = obs.set_axis(obs.index.astype(str)).reindex(index) if obs is not None else pd.DataFrame(index=index)
        kept.index.name = None
        var = pd.DataFrame(index=frame.columns.astype(str))
        anndata.AnnData(X=frame.to_numpy(dtype="float32"), obs=kept, var=var).write_h5ad(tmp)
    elif name.endswith((".parquet", ".pq")):
        frame.to_parquet(tmp)
    elif name.endswith((".csv", ".tsv", ".txt")):
        frame.to_csv(
            tmp,
            sep="," if name.endswith(".csv") else "\t",
            compression="gzip" if path.name.lower().endswith(".gz") else None,
        )
    else:
        raise OmibenchError(f"{path}: unknown output type; {OUTPUT_TYPES}")
    tmp.replace(path)


def translation_figure(
    trained: Trained, pred: pd.DataFrame, labels_path: Path, label_column: str | None, figure_path: Path
) -> int:
    """Fig. 9: the new samples' translated expression in the classifier's latent space, with the real
    training set; return how many labelled new samples it shows."""
    from omibench.data.sources import read_labels
    from omibench.downstream.classifier import OmiEmbedClassifier
    from omibench.plots.paper import tsne_figure

    if trained.classifier_dir is None or not (trained.classifier_dir / layout.CLASSIFIER_TRAIN_LATENT).is_file():
        raise OmibenchError(
            "--labels needs the experiment's downstream classifier: give a run id of a store where "
            "`omibench run` logged Table 3 (its 'original data' run)"
        )
    labels = read_labels(labels_path, label_column, np.asarray(pred.index, dtype=object))
    clf = OmiEmbedClassifier.load(trained.classifier_dir)
    rows = [i for i, lab in enumerate(labels) if lab is not None]
    latent, _ = clf.encode(pred.to_numpy(dtype=np.float32)[rows])
    train_labels = (trained.classifier_dir / layout.CLASSIFIER_TRAIN_LABELS).read_text().splitlines()
    tsne_figure(
        figure_path,
        np.load(trained.classifier_dir / layout.CLASSIFIER_TRAIN_LATENT),
        train_labels,
        latent,
        [str(labels[i]) for i in rows],
        "translated new samples: classifier latent means (t-SNE)",
        test_kind="translated",
    )
    return len(rows)
