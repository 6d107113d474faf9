"""Fitted preprocessing stored as data, never as pickle: ``preprocess.json`` (step kinds from a fixed
list, their scalar settings, feature ids) + ``preprocess.npz`` (arrays, read with
``allow_pickle=False``). Loading builds the steps from that list only, so nothing in a model
folder can run code; a garbled or foreign file is one line naming it.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from omibench.data.steps import FeatureList, LocationOrder, MaxMissing, Step, Transform, Variance
from omibench.errors import DataError
from omibench.store.layout import PREPROCESS_JSON as JSON_FILE
from omibench.store.layout import PREPROCESS_NPZ as NPZ_FILE

__all__ = ["JSON_FILE", "NPZ_FILE", "save_preprocessor", "load_preprocessor"]
FORMAT = "omibench.preprocess/1"
_TRANSFORMS = ("log1p", "log2p1", "beta_to_m", "m_to_beta")


def _step_dict(step: Step) -> dict[str, Any]:
    if isinstance(step, FeatureList):
        return {"kind": "feature_list", "path": str(step.path), "keep": bool(step.keep), "omics": step.omics}
    if isinstance(step, MaxMissing):
        return {"kind": "max_missing", "fraction": float(step.fraction)}
    if isinstance(step, Variance):
        return {"kind": "variance", "minimum": step.minimum, "top_k": step.top_k}
    if isinstance(step, Transform):
        return {"kind": "transform", "transform": step.kind}
    if isinstance(step, LocationOrder):
        return {"kind": "location_order", "table": str(step.table), "unlocated": step.unlocated, "omics": step.omics}
    raise DataError(f"preprocessing step {type(step).__name__} cannot be saved: it is not one of omibench's steps")


def _step_from(d: Any, where: str) -> Step:
    if not isinstance(d, dict):
        raise ValueError(f"{where} is not a mapping")
    kind = d.get("kind")
    if kind == "feature_list":
        return FeatureList(_str(d, "path"), bool(d["keep"]), _str(d, "omics"))
    if kind == "max_missing":
        return MaxMissing(float(d["fraction"]))
    if kind == "variance":
        top_k = d.get("top_k")
        minimum = d.get("minimum")
        return Variance(None if minimum is None else float(minimum), None if top_k is None else int(top_k))
    if kind == "transform" and d.get("transform") in _TRANSFORMS:
        return Transform(str(d["transform"]))
    if kind == "location_order" and d.get("unlocated") in ("last", "drop"):
        return LocationOrder(_str(d, "table"), str(d["unlocated"]), _str(d, "omics"))
    raise ValueError(f"{where}: unknown step {str(kind)[:40]!r}")


def _str(d: dict[str, Any], key: str) -> str:
    value = d[key]
    if not isinstance(value, str):
        raise ValueError(f"{key} is not a string")
    return value


def save_preprocessor(pre: Any, folder: Path, meta: dict[str, Any] | None = None) -> None:
    """Write ``pre`` (a fitted Preprocessor) into ``folder``; ``meta`` (JSON values) rides along."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, np.ndarray] = {}
    doc: dict[str, Any] = {"format": FORMAT, "impute": pre.impute, "meta": meta or {}}
    for omics in ("b", "a"):
        for group in ("stream", "steps"):
            steps = getattr(pre, f"{omics}_{group}" if group == "stream" else f"{omics}_steps")
            doc[f"{omics}_{group}"] = [_step_dict(s) for s in steps]
            for i, step in enumerate(steps):
                if hasattr(step, "keep_"):
                    arrays[f"{omics}_{group}_{i}_keep"] = np.asarray(step.keep_, dtype=np.int64)
        doc[f"{omics}_features_in"] = [str(f) for f in getattr(pre, f"{omics}_features_in_")]
        arrays[f"{omics}_means"] = np.asarray(getattr(pre, f"{omics}_means_"), dtype=np.float32)
        arrays[f"{omics}_keep"] = np.asarray(getattr(pre, f"{omics}_keep_"), dtype=bool)
    (folder / JSON_FILE).write_text(json.dumps(doc))
    np.savez(folder / NPZ_FILE, **arrays)  # type: ignore[arg-type]  # numpy's stubs read **arrays as allow_pickle


def load_preprocessor(folder: Path) -> tuple[Any, dict[str, Any]]:
    """The Preprocessor saved in ``folder`` and its ``meta``; DataError naming the file if absent or garbled."""
    from omibench.data.preprocess import Preprocessor

    folder = Path(folder)
    where = folder / JSON_FILE
    try:
        doc = json.loads(where.read_text(encoding="utf-8"))
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise ValueError(f"not an {FORMAT} file")
        where = folder / NPZ_FILE
        with np.load(where, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
        where = folder / JSON_FILE
        if doc["impute"] not in ("none", "mean"):
            raise ValueError("impute is neither none nor mean")
        groups = {}
        for omics in ("b", "a"):
            for group in ("stream", "steps"):
                steps = [_step_from(d, f"{omics}_{group}[{i}]") for i, d in enumerate(doc[f"{omics}_{group}"])]
                for i, step in enumerate(steps):
                    key = f"{omics}_{group}_{i}_keep"
                    if key in arrays:
                        step.keep_ = arrays[key].astype(np.int64)
                    elif not isinstance(step, Transform):
                        raise ValueError(f"{key} missing from {NPZ_FILE}")
                groups[f"{omics}_{group}"] = steps
        pre = Preprocessor(doc["impute"], groups["b_steps"], groups["a_steps"], groups["b_stream"], groups["a_stream"])
        for omics in ("b", "a"):
            setattr(pre, f"{omics}_features_in_", np.array([str(f) for f in doc[f"{omics}_features_in"]], dtype=object))
            setattr(pre, f"{omics}_means_", arrays[f"{omics}_means"].astype(np.float32))
            setattr(pre, f"{omics}_keep_", arrays[f"{omics}_keep"].astype(bool))
        return pre, dict(doc.get("meta") or {})
    except FileNotFoundError:
        raise DataError(
            f"{where}: missing; the model was saved by another omibench version: rerun it with `omibench run --force`"
        ) from None
    except (ValueError, KeyError, TypeError, OSError, zipfile.BadZipFile, UnicodeDecodeError) as exc:
        raise DataError(
            f"{where}: not a valid saved preprocessing ({str(exc)[:120] or type(exc).__name__}): "
            "rerun the model with `omibench run --force`"
        ) from None
