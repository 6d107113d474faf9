"""Fit one translator and score it: the one path used by benchmark jobs, tuning trials and (through
:func:`fit_and_score`'s plain arguments) the conformance check.

Data contract: ``train`` / ``val`` / ``test`` are :class:`~omibench.data.paired.PairedData` after
preprocessing (B in, A out, A on the scale metrics are reported on); predictions must have A's
shape and be finite. Labels: ``fit`` sees the training split's labels only; the labels of the split
being predicted reach a translator only when it is a control declaring ``uses_test_labels``
(through ``predict_with_labels``). Where a scored split has labels, the within-type R² is logged
next to the nine metrics (:func:`omibench.metrics.extra.within_type_r2`).
"""

from __future__ import annotations

import math
import os
import random
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from omibench.errors import ConfigError, PluginError
from omibench.metrics import catalogue
from omibench.metrics.extra import correlation_panel, within_type_r2
from omibench.metrics.reconstruction import Scores, score
from omibench.run.resources import ResourceMeter
from omibench.run.threads import limit_threads

if TYPE_CHECKING:
    from omibench.contract.translator import FitContext, Translator
    from omibench.data.paired import PairedData

__all__ = [
    "EXTRA_METRICS",
    "WITHIN_TYPE_METRIC",
    "FitScore",
    "checked_predict",
    "fit_and_score",
    "predict_split",
    "seed_everything",
]

EXTRA_METRICS: tuple[str, ...] = ("correlation",)
WITHIN_TYPE_METRIC = "within_type_median_r2_featurewise"
WITHIN_TYPE_MIN_CLASS = 5  # test samples a class needs for its own R² (smaller classes are skipped, and named)


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


def checked_predict(
    model: Translator, b: np.ndarray, shape: tuple[int, ...], labels: np.ndarray | None = None
) -> np.ndarray:
    """``model.predict(b)`` as float32, checked to have ``shape`` and to be finite. For a control
    declaring ``uses_test_labels``, ``model.predict_with_labels(b, labels)`` instead; ``labels``
    is ignored for every other translator."""
    cls = type(model)
    if cls.uses_test_labels and not cls.control:
        raise PluginError(
            f"translator {cls.name!r} sets uses_test_labels without control = True: only a control "
            "may read the labels of the samples it predicts"
        )
    raw = model.predict_with_labels(b, labels) if cls.uses_test_labels else model.predict(b)
    pred = np.asarray(raw, dtype=np.float32)
    if pred.shape != shape:
        raise ValueError(f"{model.name} predicted shape {pred.shape}, expected {shape}")
    if not np.isfinite(pred).all():
        raise FloatingPointError(f"{model.name} predicted {int((~np.isfinite(pred)).sum())} NaN/inf values (diverged?)")
    return pred


def predict_split(model: Translator, part: PairedData) -> np.ndarray:
    """:func:`checked_predict` on a split: its inputs, its target's shape and (for a control
    declaring ``uses_test_labels`` only) its labels."""
    return checked_predict(model, part.b, part.a.shape, part.labels)


@dataclass
class FitScore:
    """What one fit gives. ``metrics``: ``test/*`` and ``val/*`` (the nine, the within-type R² where
    the split has labels, the opted-in extras), ``fit_time_s``, ``predict_time_s``, ``fit_cpu_s``
    (process + children CPU seconds of the fit), ``peak_rss_mb`` and, on CUDA, ``peak_gpu_mb``.
    ``notes``: one line per thing worth saying about the scores (classes skipped by the within-type R²)."""

    model: Translator
    fit_time_s: float
    predict_time_s: float = 0.0  # of the test split (of the validation split when there is no test)
    val: Scores | None = None  # None when the validation split has fewer than 2 samples
    test: Scores | None = None
    test_pred: np.ndarray | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def fit_and_score(
    cls: type[Translator],
    params: Mapping[str, Any],
    train: PairedData,
    val: PairedData,
    context: FitContext,
    test: PairedData | None = None,
    extra_metrics: Sequence[str] = (),
) -> FitScore:
    """Seed the global generators with ``context.seed``, construct ``cls(**params)``, fit it on
    ``train`` (``val`` for early stopping / reports), and score it on ``val`` (when it has at least
    two samples) and on ``test`` (when given). ``extra_metrics``: opt-in metric sets of
    :data:`EXTRA_METRICS` (``"correlation"``: Open Problems' correlation panel). Exceptions propagate;
    an unknown extra metric set is a ConfigError before anything is fitted."""
    unknown = [m for m in extra_metrics if m not in EXTRA_METRICS]
    if unknown:
        raise ConfigError(f"extra_metrics: unknown metric set {unknown[0]!r}: choose from {', '.join(EXTRA_METRICS)}")
    prepare_process()
    seed_everything(context.seed)
    with limit_threads(context.n_jobs):  # exactly the threads the job was given (torch, BLAS, OpenMP)
        return _fit_and_score(cls, params, train, val, context, test, tuple(extra_metrics))


def _fit_and_score(
    cls: type[Translator],
    params: Mapping[str, Any],
    train: PairedData,
    val: PairedData,
    context: FitContext,
    test: PairedData | None,
    extra: tuple[str, ...],
) -> FitScore:
    model = cls(**dict(params))
    meter = ResourceMeter(context.device)
    with meter:
        model.fit(train, val, context)
    out = FitScore(model, meter.wall_s)
    if test is not None:
        start = time.perf_counter()
        out.test_pred = predict_split(model, test)
        out.predict_time_s = time.perf_counter() - start
        out.test = score(test.a, out.test_pred)
        out.metrics.update(_split_metrics("test", test, out.test_pred, out.test, extra, out.notes))
    if val.n_samples >= 2:
        start = time.perf_counter()
        val_pred = predict_split(model, val)
        if test is None:
            out.predict_time_s = time.perf_counter() - start
        out.val = score(val.a, val_pred)
        out.metrics.update(_split_metrics("val", val, val_pred, out.val, extra, out.notes))
    out.metrics.update(fit_time_s=out.fit_time_s, predict_time_s=out.predict_time_s)
    out.metrics.update(meter.metrics())
    return out


def _split_metrics(
    prefix: Literal["test", "val"],
    part: PairedData,
    pred: np.ndarray,
    scores: Scores,
    extra: tuple[str, ...],
    notes: list[str],
) -> dict[str, float]:
    """The nine metrics of one split, its within-type R² where it has labels, and the opted-in extras,
    under the split's keys (:func:`omibench.metrics.catalogue.key`)."""
    out = {catalogue.key(k, prefix): v for k, v in scores.summary.items()}
    if part.has_labels:
        assert part.labels is not None
        within = within_type_r2(part.a, pred, part.labels, min_class_size=WITHIN_TYPE_MIN_CLASS)
        if within.skipped:
            named = ", ".join(f"{c} ({n})" for c, n in within.skipped.items())
            notes.append(
                f"{prefix}: within-type R² skips classes with fewer than {WITHIN_TYPE_MIN_CLASS} samples: {named}"
            )
        if math.isfinite(within.summary):
            out[catalogue.key(WITHIN_TYPE_METRIC, prefix)] = within.summary
    if "correlation" in extra:
        panel = correlation_panel(part.a, pred)
        panel.pop("n_nonfinite_predictions")  # always 0: predictions are checked finite above
        out.update({catalogue.key(k, prefix): v for k, v in panel.items()})
    return out
