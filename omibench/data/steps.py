"""Feature steps of the preprocessing pipeline, declared in the YAML per omics::

    preprocess:
      impute: mean
      b:                                   # methylation
        - drop_features: excluded_probes.txt
        - max_missing: 0.1                 # drop CpGs missing in > 10% of *training* rows
        - variance: {min: 0.05}            # or {top_k: 5000}; on training rows
        - order_by_location: {table: ../shared/data/annotation/hm450_probe_locations_hg19.csv.gz}
      a:
        - transform: log1p

Each step is fitted on the training rows only (after the steps before it) and then applied
unchanged to every split. Steps either select / reorder features or transform values.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from omibench.data.annotation import location_order
from omibench.data.paths import resolve
from omibench.errors import ConfigError, DataError

__all__ = ["Step", "build_steps"]

log = logging.getLogger(__name__)


class Step:
    """fit(x, ids) on training rows, then apply(x, ids) -> (x, ids) on any rows."""

    keep_: np.ndarray  # columns kept: set by selecting steps' fit, or restored from a saved plan

    def fit(self, x: np.ndarray, ids: np.ndarray) -> Step:
        return self

    def apply(self, x: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError


class _Select(Step):
    """A step that keeps (and orders) columns, chosen by ``fit``."""

    keep_: np.ndarray

    def apply(self, x: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return x[:, self.keep_], ids[self.keep_]


class FeatureList(_Select):
    def __init__(self, path: str, keep: bool, omics: str) -> None:
        self.path, self.keep, self.omics = path, keep, omics

    def fit(self, x: np.ndarray, ids: np.ndarray) -> FeatureList:
        p = Path(self.path)
        if not p.is_file():
            raise DataError(f"{p}: feature list not found (preprocess.{self.omics})")
        listed = {line.strip().split("\t")[0].split(",")[0] for line in p.read_text().splitlines() if line.strip()}
        mask = np.array([(str(i) in listed) == self.keep for i in ids.tolist()])
        self.keep_ = np.nonzero(mask)[0]
        log.info(
            "%s: %s keeps %d of %d features",
            self.omics,
            "keep_features" if self.keep else "drop_features",
            len(self.keep_),
            len(ids),
        )
        return self


class MaxMissing(_Select):
    def __init__(self, fraction: float) -> None:
        self.fraction = fraction

    def fit(self, x: np.ndarray, ids: np.ndarray) -> MaxMissing:
        self.keep_ = np.nonzero(np.isnan(x).mean(axis=0) <= self.fraction)[0]
        return self


class Variance(_Select):
    def __init__(self, minimum: float | None, top_k: int | None) -> None:
        self.minimum, self.top_k = minimum, top_k

    def fit(self, x: np.ndarray, ids: np.ndarray) -> Variance:
        var = np.empty(x.shape[1])
        # in column blocks: a float64 copy of the whole training part would be 3 GB at 6,356 x 60,483
        # (the peak of preparing tcga.yaml with a gene subset); each column's variance is the same
        for start in range(0, x.shape[1], 4096):
            with np.errstate(invalid="ignore"):
                var[start : start + 4096] = np.nanvar(x[:, start : start + 4096].astype(np.float64), axis=0)
        var = np.nan_to_num(var, nan=-1.0)
        if self.top_k is not None:
            order = np.argsort(-var, kind="stable")[: self.top_k]
            self.keep_ = np.sort(order)
        else:
            self.keep_ = np.nonzero(var >= (self.minimum if self.minimum is not None else -np.inf))[0]
        return self


class Transform(Step):
    def __init__(self, kind: str) -> None:
        self.kind = kind

    def apply(self, x: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = x.astype(np.float32, copy=False)
        with np.errstate(divide="ignore", invalid="ignore"):
            if self.kind == "log1p":
                out = np.log1p(x)
            elif self.kind == "log2p1":
                out = np.log2(x + 1.0)
            elif self.kind == "beta_to_m":  # M = log2(beta / (1 - beta)), betas clipped away from 0 and 1
                b = np.clip(x, 1e-6, 1 - 1e-6)
                out = np.log2(b / (1 - b))
            else:  # m_to_beta
                out = 2.0**x / (2.0**x + 1.0)
        if np.isinf(out).any():
            raise DataError(
                f"transform {self.kind} produced infinite values (negative input to a log?): check the data's scale"
            )
        return out.astype(np.float32), ids

    def invert(self, x: np.ndarray) -> np.ndarray:
        """Values on the scale before this transform (float64), e.g. to show a model's input in the
        units of the files; betas clipped by ``beta_to_m`` come back clipped."""
        x = np.asarray(x, dtype=np.float64)
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            if self.kind == "log1p":
                return np.expm1(x)
            if self.kind == "log2p1":
                return 2.0**x - 1.0
            if self.kind == "beta_to_m":
                return 2.0**x / (2.0**x + 1.0)
            return np.log2(x / (1.0 - x))  # m_to_beta


class LocationOrder(_Select):
    def __init__(self, table: str, unlocated: str, omics: str) -> None:
        self.table, self.unlocated, self.omics = table, unlocated, omics

    def fit(self, x: np.ndarray, ids: np.ndarray) -> LocationOrder:
        located, missing = location_order(ids, self.table)
        if len(missing):
            log.warning(
                "%s: %d of %d features have no location in %s (e.g. %s); they are %s",
                self.omics,
                len(missing),
                len(ids),
                Path(self.table).name,
                ", ".join(map(str, ids[missing[:3]])),
                "placed last" if self.unlocated == "last" else "dropped",
            )
        self.keep_ = np.concatenate([located, missing]) if self.unlocated == "last" else located
        if not len(self.keep_):
            raise DataError(
                f"{self.table}: none of the {self.omics} features has a location: wrong table for these ids?"
            )
        return self


class _VarianceSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    min: float | None = Field(None, ge=0)
    top_k: int | None = Field(None, ge=1)


class _StepSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    keep_features: str | None = Field(None, min_length=1)
    drop_features: str | None = Field(None, min_length=1)
    max_missing: float | None = Field(None, ge=0, le=1)
    variance: _VarianceSpec | None = None
    transform: Literal["log1p", "log2p1", "beta_to_m", "m_to_beta"] | None = None
    order_by_location: dict[str, str] | None = None


def build_steps(raw: list[dict[str, Any]], omics: str, root: str | Path | None = None) -> list[Step]:
    """Validate the YAML step list of one omics (``b`` or ``a``) into Step objects; relative file
    paths resolve under ``root`` (``data.root``) first, then from the current folder."""
    steps: list[Step] = []
    for i, item in enumerate(raw):
        where = f"preprocess.{omics}.{i}"
        try:
            spec = _StepSpec(**item) if isinstance(item, dict) else None
        except ValidationError as exc:
            err = exc.errors()[0]
            raise ConfigError(f"{where}.{'.'.join(map(str, err['loc']))}: {err['msg']}") from None
        chosen = [k for k, v in (spec.model_dump() if spec else {}).items() if v is not None]
        if spec is None or len(chosen) != 1:
            raise ConfigError(
                f"{where}: each step is one of keep_features, drop_features, max_missing, variance, "
                "transform, order_by_location"
            )
        kind = chosen[0]
        value: Any = getattr(spec, kind)
        if kind in ("keep_features", "drop_features"):
            steps.append(FeatureList(str(resolve(value, root)), kind == "keep_features", omics))
        elif kind == "max_missing":
            steps.append(MaxMissing(value))
        elif kind == "variance":
            if (value.min is None) == (value.top_k is None):
                raise ConfigError(f"{where}.variance: give exactly one of min or top_k")
            steps.append(Variance(value.min, value.top_k))
        elif kind == "transform":
            steps.append(Transform(value))
        else:
            if (
                "table" not in value
                or set(value) - {"table", "unlocated"}
                or value.get("unlocated", "last") not in ("last", "drop")
            ):
                raise ConfigError(f"{where}.order_by_location: needs table: PATH and optionally unlocated: last|drop")
            steps.append(LocationOrder(str(resolve(value["table"], root)), value.get("unlocated", "last"), omics))
    return steps
