"""Preprocessing fitted on training rows only, then applied unchanged to validation and test."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from omibench.data.paired import PairedData
from omibench.data.steps import Step
from omibench.errors import DataError

__all__ = ["Preprocessor"]

log = logging.getLogger(__name__)


@dataclass
class Preprocessor:
    """Feature steps per omics (see :mod:`omibench.data.steps`), then missing-value handling.

    ``impute="none"`` rejects any NaN left after the steps (naming the sample and feature);
    ``impute="mean"`` fills each feature's NaN with its mean over the *training* rows. A feature
    with no training value at all is dropped (and counted in a warning). Test-set A values that were
    missing are scored against their imputed value, as in the paper (which mean-filled A first).
    Metrics are reported on A's scale after its steps (e.g. after ``transform: log1p``).
    """

    impute: Literal["none", "mean"] = "none"
    b_steps: list[Step] = field(default_factory=list)
    a_steps: list[Step] = field(default_factory=list)
    # steps already fitted and applied while the matrices were read (see omibench.data.stream): the
    # data given to fit/transform come out of them; ``*_features_in_`` are then the files' features
    b_stream: list[Step] = field(default_factory=list)
    a_stream: list[Step] = field(default_factory=list)

    def fit(self, train: PairedData) -> Preprocessor:
        if not self.b_stream:
            self.b_features_in_ = train.b_features
        if not self.a_stream:
            self.a_features_in_ = train.a_features
        b, b_ids = _fit_steps(self.b_steps, train.b, train.b_features)
        a, a_ids = _fit_steps(self.a_steps, train.a, train.a_features)
        if not len(b_ids) or not len(a_ids):
            raise DataError(f"{train.name}: the preprocessing steps left no {'B' if not len(b_ids) else 'A'} features")
        self.b_means_ = _nanmean(b)
        self.a_means_ = _nanmean(a)
        self.b_keep_ = ~np.isnan(self.b_means_)
        self.a_keep_ = ~np.isnan(self.a_means_)
        return self

    def transform(self, data: PairedData, part: str) -> PairedData:
        """Apply to one split part (``part`` names it in messages)."""
        b, b_ids = _apply_steps(self.b_steps, data.b, data.b_features)
        a, a_ids = _apply_steps(self.a_steps, data.a, data.a_features)
        if self.impute == "none":
            for omic, arr, feats in (("B", b, b_ids), ("A", a, a_ids)):
                nan = np.isnan(arr)
                if nan.any():
                    r, c = np.argwhere(nan)[0]
                    raise DataError(
                        f"{data.name}: {int(nan.sum())} missing values in {omic} "
                        f"(first: sample {data.sample_ids[r]!r}, "
                        f"feature {feats[c]!r}); set preprocess.impute: mean to fill them with training means"
                    )
            return _with(data, b, a, b_ids, a_ids)
        dropped = int((~self.b_keep_).sum() + (~self.a_keep_).sum())
        if dropped and part == "train":
            log.warning("%s: %d features have no training value and are dropped", data.name, dropped)
        if not self.a_keep_.any() or not self.b_keep_.any():
            raise DataError(f"{data.name}: every feature of B or A is missing in the training rows")
        b = _fill(b if self.b_keep_.all() else b[:, self.b_keep_], self.b_means_[self.b_keep_])
        a = _fill(a if self.a_keep_.all() else a[:, self.a_keep_], self.a_means_[self.a_keep_])
        return _with(data, b, a, b_ids[self.b_keep_], a_ids[self.a_keep_])

    def transform_raw(self, data: PairedData, part: str) -> PairedData:
        """:meth:`transform` for data as the files hold it (before any streamed step)."""
        if not self.b_stream and not self.a_stream:
            return self.transform(data, part)
        b, b_ids = _apply_steps(self.b_stream, data.b, data.b_features)
        a, a_ids = _apply_steps(self.a_stream, data.a, data.a_features)
        return self.transform(_with(data, b, a, b_ids, a_ids), part)

    def transform_b_only(self, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """New B rows (n, len(b_features_in_)), columns in training order, NaN where unknown:
        the fitted steps and feature filter, without imputation. Returns values and feature ids."""
        x, ids = _apply_steps(self.b_stream + self.b_steps, b, np.asarray(self.b_features_in_, dtype=object))
        return x[:, self.b_keep_], ids[self.b_keep_]

    def save(self, folder: str | Path, meta: dict[str, Any] | None = None) -> None:
        """Write the fitted preprocessing as data (JSON + ``.npz``; see :mod:`omibench.data.persist`)."""
        from omibench.data.persist import save_preprocessor

        save_preprocessor(self, Path(folder), meta)

    @classmethod
    def load(cls, folder: str | Path) -> tuple[Preprocessor, dict[str, Any]]:
        """The preprocessing saved in ``folder`` and its ``meta``; never unpickles anything."""
        from omibench.data.persist import load_preprocessor

        pre, meta = load_preprocessor(Path(folder))
        return pre, meta


def _fit_steps(steps: list[Step], x: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    for step in steps:
        x, ids = step.fit(x, ids).apply(x, ids)
    return x, ids


def _apply_steps(steps: list[Step], x: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    for step in steps:
        x, ids = step.apply(x, ids)
    return x, ids


def _with(data: PairedData, b: np.ndarray, a: np.ndarray, b_ids: np.ndarray, a_ids: np.ndarray) -> PairedData:
    return PairedData(
        b=np.ascontiguousarray(b, dtype=np.float32),
        a=np.ascontiguousarray(a, dtype=np.float32),
        sample_ids=data.sample_ids,
        b_features=b_ids,
        a_features=a_ids,
        labels=data.labels,
        name=data.name,
    )


def _nanmean(x: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        counts = (~np.isnan(x)).sum(axis=0)
        sums = np.nansum(x, axis=0, dtype=np.float64)
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan).astype(np.float32)


def _fill(x: np.ndarray, means: np.ndarray) -> np.ndarray:
    nan = np.isnan(x)
    if not nan.any():
        return np.ascontiguousarray(x, dtype=np.float32)
    out = np.array(x, dtype=np.float32, copy=True)
    out[nan] = np.take(means, np.nonzero(nan)[1])
    return out
