"""Metrics beyond OmiTrans' nine: R² within each class and Open Problems' correlation panel.

Data contract as in :mod:`omibench.metrics`: ``y_true`` and ``y_pred`` are (n_samples, n_genes) test
matrices on the target's original scale, samples in rows, same order; ``labels`` (n_samples,) holds the
test samples' class names (``None`` for an unlabelled sample).

- Within-type R² (:func:`within_type_r2`): across samples of several types, much of a gene's variance
  is the type itself, so a translator that only recognises the type already scores well on the
  featurewise R² of the whole test split. Here each gene's R² is computed inside each class of the
  test split (scikit-learn semantics, as the nine metrics), summarised per class by its median over
  genes, and over classes by a class-size-weighted mean of those medians.
- Correlation panel (:func:`correlation_panel`), as Open Problems' predict-modality task
  (``openproblems-bio/task_predict_modality``, ``src/metrics/correlation``): mean per-sample and
  per-gene Pearson and Spearman, and the Pearson of the flattened matrices. One rule for degenerate
  input: a correlation whose truth or prediction vector has zero variance scores 0, and non-finite
  predicted values are set to 0 before scoring (and counted), as Open Problems does.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import rankdata

from omibench.metrics.reconstruction import featurewise_r2

__all__ = [
    "CORRELATION_NAMES",
    "WithinTypeR2",
    "correlation_panel",
    "within_type_r2",
]

CORRELATION_NAMES: tuple[str, ...] = (
    "mean_pearson_per_sample",
    "mean_spearman_per_sample",
    "mean_pearson_per_gene",
    "mean_spearman_per_gene",
    "overall_pearson",
)
_UNLABELLED = "<unlabelled>"
_CHUNK_CELLS = 1 << 22  # float64 cells per chunk (32 MB), so 1,816 x 60,483 never needs a full float64 copy


@dataclass(frozen=True)
class WithinTypeR2:
    """Featurewise R² inside each test class.

    ``per_class``: median over genes of the R² computed on that class's test samples only.
    ``sizes``: test samples of each scored class. ``skipped``: classes with fewer than
    ``min_class_size`` test samples (and ``<unlabelled>``), with their sizes. ``summary``: the
    class-size-weighted mean of ``per_class`` (NaN when no class could be scored).
    """

    per_class: dict[str, float]
    sizes: dict[str, int]
    skipped: dict[str, int]
    summary: float


def within_type_r2(
    y_true: np.ndarray, y_pred: np.ndarray, labels: Sequence[object] | np.ndarray, *, min_class_size: int = 5
) -> WithinTypeR2:
    """R² of each gene across the test samples of one class, per class; see :class:`WithinTypeR2`.

    A class needs at least ``min_class_size`` (>= 2) test samples; smaller classes and unlabelled
    samples are skipped and named, never pooled, so the summary only covers classes whose R² means
    something.
    """
    if min_class_size < 2:
        raise ValueError(f"min_class_size={min_class_size}: an R² across samples needs at least 2")
    t = np.asarray(y_true)
    p = np.asarray(y_pred)
    if t.shape != p.shape or t.ndim != 2 or len(labels) != t.shape[0]:
        raise ValueError(f"y_true {t.shape}, y_pred {p.shape} and {len(labels)} labels do not match")
    names = np.array([_UNLABELLED if lab is None else str(lab) for lab in labels], dtype=object)
    per_class: dict[str, float] = {}
    sizes: dict[str, int] = {}
    skipped: dict[str, int] = {}
    for cls in sorted(set(names.tolist())):
        rows = np.flatnonzero(names == cls)
        if cls == _UNLABELLED or rows.size < min_class_size:
            skipped[cls] = int(rows.size)
            continue
        per_class[cls] = float(np.median(featurewise_r2(t[rows], p[rows])))
        sizes[cls] = int(rows.size)
    total = sum(sizes.values())
    summary = sum(sizes[c] * per_class[c] for c in per_class) / total if total else math.nan
    return WithinTypeR2(per_class, sizes, skipped, float(summary))


def _rowwise_corr(t: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Pearson correlation of matching rows; a row with zero variance on either side scores 0."""
    tc = t - t.mean(axis=1, keepdims=True)
    pc = p - p.mean(axis=1, keepdims=True)
    num = (tc * pc).sum(axis=1)
    den = np.sqrt((tc * tc).sum(axis=1) * (pc * pc).sum(axis=1))
    out = np.zeros(len(t))
    ok = den > 0
    out[ok] = np.clip(num[ok] / den[ok], -1.0, 1.0)
    return out


def _chunks(t: np.ndarray, p: np.ndarray) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """(first row, truth rows, prediction rows) as float64, non-finite predictions set to 0."""
    step = max(1, _CHUNK_CELLS // max(1, t.shape[1]))
    for start in range(0, len(t), step):
        a = t[start : start + step].astype(np.float64)
        b = p[start : start + step].astype(np.float64)
        b[~np.isfinite(b)] = 0.0
        yield start, a, b


def _panel_rows(t: np.ndarray, p: np.ndarray, rank: bool) -> np.ndarray:
    """Per-row correlations of matching rows, chunk by chunk."""
    out = np.empty(len(t))
    for start, a, b in _chunks(t, p):
        if rank:
            a, b = rankdata(a, axis=1), rankdata(b, axis=1)
        out[start : start + len(a)] = _rowwise_corr(a, b)
    return out


def correlation_panel(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """Open Problems' correlation metrics (:data:`CORRELATION_NAMES`) plus ``n_nonfinite_predictions``.

    Per-sample: correlation across genes, averaged over test samples. Per-gene: across test samples,
    averaged over genes. Spearman is Pearson of ranks (ties averaged). All higher-is-better, in [-1, 1].
    """
    t = np.asarray(y_true)
    p = np.asarray(y_pred)
    if t.shape != p.shape or t.ndim != 2:
        raise ValueError(f"y_true {t.shape} and y_pred {p.shape} must be equal 2-D shapes")
    if not np.all(np.isfinite(t)):
        raise ValueError("correlation_panel: the truth has non-finite values")
    n_bad = int(t.size - np.isfinite(p).sum())
    per_sample_p = _panel_rows(t, p, rank=False)
    per_sample_s = _panel_rows(t, p, rank=True)
    per_gene_p = _panel_rows(t.T, p.T, rank=False)
    per_gene_s = _panel_rows(t.T, p.T, rank=True)
    # overall Pearson from running sums, to avoid a centred float64 copy of the whole matrix
    n = t.size
    sums = np.zeros(5)
    for _, a2, b2 in _chunks(t, p):
        a, b = a2.ravel(), b2.ravel()
        sums += (a.sum(), b.sum(), a @ a, b @ b, a @ b)
    sa, sb, saa, sbb, sab = sums
    var_a, var_b = saa - sa * sa / n, sbb - sb * sb / n
    overall = (sab - sa * sb / n) / math.sqrt(var_a * var_b) if var_a > 0 and var_b > 0 else 0.0
    return {
        "mean_pearson_per_sample": float(per_sample_p.mean()),
        "mean_spearman_per_sample": float(per_sample_s.mean()),
        "mean_pearson_per_gene": float(per_gene_p.mean()),
        "mean_spearman_per_gene": float(per_gene_s.mean()),
        "overall_pearson": float(min(1.0, max(-1.0, overall))),
        "n_nonfinite_predictions": float(n_bad),
    }
