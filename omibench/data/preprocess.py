"""Preprocessing fitted on training rows only, then applied unchanged to validation and test."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

import numpy as np

from .._errors import DataError
from .paired import PairedData

__all__ = ["Preprocessor"]

log = logging.getLogger(__name__)


@dataclass
class Preprocessor:
    """Missing-value handling for B and A.

    ``impute="none"`` rejects any NaN (naming the sample and feature); ``impute="mean"`` fills each
    feature's NaN with its mean over the *training* rows. A feature with no training value at all
    is dropped (and counted in a warning). Test-set A values that were missing are scored against
    their imputed value, as in the paper (which mean-filled A before splitting).
    """

    impute: Literal["none", "mean"] = "none"

    def fit(self, train: PairedData) -> "Preprocessor":
        self.b_features_in_, self.a_features_in_ = train.b_features, train.a_features
        self.b_means_ = _nanmean(train.b)
        self.a_means_ = _nanmean(train.a)
        self.b_keep_ = ~np.isnan(self.b_means_)
        self.a_keep_ = ~np.isnan(self.a_means_)
        return self

    def transform(self, data: PairedData, part: str) -> PairedData:
        """Apply to one split part (``part`` names it in messages)."""
        if self.impute == "none":
            for omic, arr, feats in (("B", data.b, data.b_features), ("A", data.a, data.a_features)):
                nan = np.isnan(arr)
                if nan.any():
                    r, c = np.argwhere(nan)[0]
                    raise DataError(
                        f"{data.name}: {int(nan.sum())} missing values in {omic} (first: sample {data.sample_ids[r]!r}, "
                        f"feature {feats[c]!r}); set preprocess.impute: mean to fill them with training means"
                    )
            return data
        dropped = int((~self.b_keep_).sum() + (~self.a_keep_).sum())
        if dropped and part == "train":
            log.warning("%s: %d features have no training value and are dropped", data.name, dropped)
        if not self.a_keep_.any() or not self.b_keep_.any():
            raise DataError(f"{data.name}: every feature of B or A is missing in the training rows")
        b = _fill(data.b[:, self.b_keep_], self.b_means_[self.b_keep_])
        a = _fill(data.a[:, self.a_keep_], self.a_means_[self.a_keep_])
        return PairedData(
            b=b, a=a, sample_ids=data.sample_ids, b_features=data.b_features[self.b_keep_],
            a_features=data.a_features[self.a_keep_], labels=data.labels, name=data.name,
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
