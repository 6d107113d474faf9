"""The nine reconstruction metrics of OmiTrans Table 1, on the target's original scale.

Definitions (the OmiTrans paper's Table 1 and the metric code of its repository), for test matrices of shape
(n_samples, n_genes) with samples in rows:

- ``mse``, ``rmse``, ``mean_ae``, ``median_ae``, ``mean_r2_samplewise``: computed for each sample
  across its genes, then averaged over samples. So ``rmse`` is the mean of per-sample RMSEs (not
  sqrt of the pooled MSE) and ``median_ae`` the mean of per-sample median absolute errors; this is
  what the original code computed and what the paper's numbers satisfy (RMSE < sqrt(MSE)).
- ``r2_featurewise``: R² of each gene across the test samples with scikit-learn's semantics
  (``r2_score(..., multioutput="raw_values")``): a gene constant in the test split scores 1.0 when
  predicted exactly and 0.0 otherwise (scikit-learn's ``force_finite`` rule). Every gene counts,
  constant ones included. Summaries: ``mean_r2_featurewise``, ``median_r2_featurewise``,
  ``count_r2_featurewise_gt_0.3`` and ``pct_r2_featurewise_gt_0.3`` (that count as a percentage of
  all genes).
The samplewise R² follows the same rule for a sample whose genes all have one value.

"Constant" is decided on the values, not on the sum of squares: a gene (or sample) is constant when
its range (max - min) is at most ``1e-6`` times its scale (max absolute value), a zero range
included. Testing ``ss_tot == 0`` misses genes that are constant in the data: the mean of n equal
float64 values is off by rounding (0.1 in 3 samples: ss_tot = 6e-34), and a constant that went
through float32 arithmetic (a back-transform, un-scaling) differs by a unit in the last place; a
gene at 0.1 predicted 0.15 then scored R² = -1e31, which swamped ``mean_r2_featurewise``. Away from
the constant case the values equal scikit-learn's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["METRIC_NAMES", "Scores", "featurewise_r2", "score"]

METRIC_NAMES: tuple[str, ...] = (
    "mse",
    "rmse",
    "mean_ae",
    "median_ae",
    "mean_r2_samplewise",
    "mean_r2_featurewise",
    "median_r2_featurewise",
    "count_r2_featurewise_gt_0.3",
    "pct_r2_featurewise_gt_0.3",
)
R2_THRESHOLD = 0.3
# relative range under which values count as one constant value: float32 (the data's dtype) resolves
# 2**-23 ~ 1.2e-7 of a value, so values a few units in the last place apart (one constant that went
# through float32 arithmetic, e.g. a back-transform or un-scaling) are below it, while any variation
# float32 can represent beyond rounding noise is above it (a gene varying at 1e-6 around 0 is not
# constant: its range is about its scale)
CONSTANT_RTOL = 1e-6
_ROWS = 16  # rows per chunk: 16 x 60,483 float64 = 7.7 MB, in cache (32 MB L3 here): 1.5x faster than 1,024


@dataclass(frozen=True)
class Scores:
    """The nine summary values plus the per-gene and per-sample R² they came from."""

    summary: dict[str, float]
    r2_featurewise: np.ndarray  # (n_genes,)
    r2_samplewise: np.ndarray  # (n_samples,)


def score(y_true: np.ndarray, y_pred: np.ndarray) -> Scores:
    """Score predictions against the truth; both (n_samples, n_genes), same scale."""
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    if y_true.shape != y_pred.shape or y_true.ndim != 2:
        raise ValueError(f"y_true {y_true.shape} and y_pred {y_pred.shape} must be equal 2-D shapes")
    n, g = y_true.shape
    if n < 2:
        raise ValueError("featurewise R² needs at least 2 samples")

    mse = np.empty(n)
    mae = np.empty(n)
    medae = np.empty(n)
    r2s = np.empty(n)
    col_sum = np.zeros(g)
    col_min = np.full(g, np.inf)
    col_max = np.full(g, -np.inf)
    for start in range(0, n, _ROWS):
        t = y_true[start : start + _ROWS].astype(np.float64)
        p = y_pred[start : start + _ROWS].astype(np.float64)
        err = t - p
        rows = slice(start, start + len(t))
        sq = err * err
        mse[rows] = sq.mean(axis=1)
        abs_err = np.abs(err)
        mae[rows] = abs_err.mean(axis=1)
        medae[rows] = np.median(abs_err, axis=1)
        ss_tot = ((t - t.mean(axis=1, keepdims=True)) ** 2).sum(axis=1)
        row_min, row_max = t.min(axis=1), t.max(axis=1)
        r2s[rows] = _r2(sq.sum(axis=1), ss_tot, _constant(row_min, row_max))
        col_sum += t.sum(axis=0)
        np.minimum(col_min, t.min(axis=0), out=col_min)
        np.maximum(col_max, t.max(axis=0), out=col_max)
    r2f = _featurewise(y_true, y_pred, col_sum / n, col_min, col_max)

    above = int((r2f > R2_THRESHOLD).sum())
    summary = {
        "mse": float(mse.mean()),
        "rmse": float(np.sqrt(mse).mean()),
        "mean_ae": float(mae.mean()),
        "median_ae": float(medae.mean()),
        "mean_r2_samplewise": float(r2s.mean()),
        "mean_r2_featurewise": float(r2f.mean()),
        "median_r2_featurewise": float(np.median(r2f)),
        "count_r2_featurewise_gt_0.3": float(above),
        "pct_r2_featurewise_gt_0.3": 100.0 * above / g,
    }
    return Scores(summary=summary, r2_featurewise=r2f, r2_samplewise=r2s)


def featurewise_r2(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """:func:`score`'s ``r2_featurewise`` alone, the same numbers to the bit (for the within-type R²,
    which needs it per class and none of the sample-wise metrics); (n_samples, n_genes) in, (n_genes,) out."""
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    if y_true.shape != y_pred.shape or y_true.ndim != 2 or y_true.shape[0] < 2:
        raise ValueError(f"y_true {y_true.shape} and y_pred {y_pred.shape}: equal 2-D shapes, 2 samples or more")
    n, g = y_true.shape
    col_sum = np.zeros(g)
    col_min = np.full(g, np.inf)
    col_max = np.full(g, -np.inf)
    for start in range(0, n, _ROWS):
        t = y_true[start : start + _ROWS].astype(np.float64)
        col_sum += t.sum(axis=0)
        np.minimum(col_min, t.min(axis=0), out=col_min)
        np.maximum(col_max, t.max(axis=0), out=col_max)
    return _featurewise(y_true, y_pred, col_sum / n, col_min, col_max)


def _featurewise(
    y_true: np.ndarray, y_pred: np.ndarray, col_mean: np.ndarray, col_min: np.ndarray, col_max: np.ndarray
) -> np.ndarray:
    ss_res = np.zeros(len(col_mean))
    ss_tot = np.zeros(len(col_mean))
    for start in range(0, len(y_true), _ROWS):
        t = y_true[start : start + _ROWS].astype(np.float64)
        p = y_pred[start : start + _ROWS].astype(np.float64)
        ss_res += ((t - p) ** 2).sum(axis=0)
        ss_tot += ((t - col_mean) ** 2).sum(axis=0)
    return _r2(ss_res, ss_tot, _constant(col_min, col_max))


def _constant(low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Which of the value sets with minima ``low`` and maxima ``high`` are (near-)constant: range at
    most :data:`CONSTANT_RTOL` times the largest absolute value (so all-zero ones too). NaN: not."""
    scale = np.maximum(np.abs(low), np.abs(high))
    return np.asarray((high - low) <= CONSTANT_RTOL * scale)


def _r2(ss_res: np.ndarray, ss_tot: np.ndarray, constant: np.ndarray) -> np.ndarray:
    """1 - ss_res/ss_tot, with scikit-learn's force_finite rule where the truth is ``constant``:
    1.0 when predicted exactly (ss_res == 0), 0.0 otherwise."""
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = 1.0 - ss_res / ss_tot
    constant = constant | (ss_tot == 0)  # e.g. differences so small that their squares underflow
    r2[constant] = np.where(ss_res[constant] == 0, 1.0, 0.0)
    return r2
