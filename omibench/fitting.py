"""Fit one translator and score it: the one path used by benchmark jobs, tuning trials and (through
:func:`fit_and_score`'s plain arguments) the conformance check.

Data contract: ``train`` / ``val`` / ``test`` are :class:`~omibench.data.paired.PairedData` after
preprocessing (B in, A out, A on the scale metrics are reported on); predictions must have A's
shape and be finite.
"""

from __future__ import annotations

import os
import random
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .metrics import Scores, score
from .threads import limit_threads

if TYPE_CHECKING:
    from .data.paired import PairedData
    from .translator import FitContext, Translator

__all__ = ["FitScore", "checked_predict", "fit_and_score", "seed_everything"]


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and (when loaded) torch's global generators, as every fit does."""
    random.seed(seed)
    np.random.seed(seed)
    if "torch" in sys.modules:  # only when a translator already uses torch: keep CPU-only runs light
        sys.modules["torch"].manual_seed(seed)


def prepare_process() -> None:
    """Process settings a fit wants, set at the start of a job rather than on import: torch reads
    ``THP_MEM_ALLOC_ENABLE`` once, at its first CPU allocation; large tensors (the paper's 1.6 GB
    weight and gradient matrices) then sit on transparent huge pages, which cuts the page-fault
    cost of each freshly allocated gradient (OmiTrans-FC paper-size step 3.7 s -> 3.0 s,
    benchmarks/run.py)."""
    os.environ.setdefault("THP_MEM_ALLOC_ENABLE", "1")


def checked_predict(model: Translator, b: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """``model.predict(b)`` as float32, checked to have ``shape`` and to be finite."""
    pred = np.asarray(model.predict(b), dtype=np.float32)
    if pred.shape != shape:
        raise ValueError(f"{model.name} predicted shape {pred.shape}, expected {shape}")
    if not np.isfinite(pred).all():
        raise FloatingPointError(f"{model.name} predicted {int((~np.isfinite(pred)).sum())} NaN/inf values (diverged?)")
    return pred


@dataclass
class FitScore:
    model: Translator
    fit_time_s: float
    predict_time_s: float = 0.0  # of the test split (of the validation split when there is no test)
    val: Scores | None = None  # None when the validation split has fewer than 2 samples
    test: Scores | None = None
    test_pred: np.ndarray | None = None
    metrics: dict[str, float] = field(default_factory=dict)  # test/*, val/*, fit_time_s, predict_time_s


def fit_and_score(
    cls: type[Translator],
    params: Mapping[str, Any],
    train: PairedData,
    val: PairedData,
    context: FitContext,
    test: PairedData | None = None,
) -> FitScore:
    """Seed the global generators with ``context.seed``, construct ``cls(**params)``, fit it on
    ``train`` (``val`` for early stopping / reports), and score it on ``val`` (when it has at least
    two samples) and on ``test`` (when given). Exceptions propagate."""
    prepare_process()
    seed_everything(context.seed)
    with limit_threads(context.n_jobs):  # exactly the threads the job was given (torch, BLAS, OpenMP)
        return _fit_and_score(cls, params, train, val, context, test)


def _fit_and_score(cls: type[Translator], params: Mapping[str, Any], train: PairedData, val: PairedData,
                   context: FitContext, test: PairedData | None) -> FitScore:
    model = cls(**dict(params))
    start = time.perf_counter()
    model.fit(train, val, context)
    out = FitScore(model, time.perf_counter() - start)
    if test is not None:
        start = time.perf_counter()
        out.test_pred = checked_predict(model, test.b, test.a.shape)
        out.predict_time_s = time.perf_counter() - start
        out.test = score(test.a, out.test_pred)
        out.metrics.update({f"test/{k}": v for k, v in out.test.summary.items()})
    if val.n_samples >= 2:
        start = time.perf_counter()
        val_pred = checked_predict(model, val.b, val.a.shape)
        if test is None:
            out.predict_time_s = time.perf_counter() - start
        out.val = score(val.a, val_pred)
        out.metrics.update({f"val/{k}": v for k, v in out.val.summary.items()})
    out.metrics.update(fit_time_s=out.fit_time_s, predict_time_s=out.predict_time_s)
    return out
