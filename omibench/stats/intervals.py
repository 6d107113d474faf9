"""Uncertainty over outer splits, for one cohort: intervals, paired differences, P(better).

Data contract: every function takes one value per **outer split** (see
:mod:`omibench.data.resampling`), for one metric on the **test** part of that split. Paired
functions take two such vectors in the same split order (translator X and the reference, e.g.
``ridge``, scored on the same splits; seeds averaged within a split first).

Direction: nothing here guesses whether a metric is minimised from its name. Every function that
needs a direction takes ``lower_is_better`` as a required keyword; callers take it from the metric
catalogue (:mod:`omibench.metrics.catalogue`). ``metric`` is a label only.

Sizes: ``n_fit`` is the number of samples the model was fitted on in a split: its training part, or
its training + validation parts when the model was refitted on both after selection (``refit:
train+val``); ``n_test`` is the size of the test part. Both are means over splits when they vary.

Which interval, and why:
  - The default interval, per translator and for a paired difference, is the **corrected resampled
    t** of Nadeau & Bengio (2003, "Inference for the Generalization Error", Machine Learning 52): the
    variance of a mean over J splits is ``(1/J + n_test/n_fit) * s²`` rather than ``s²/J``. Outer
    splits drawn from one cohort share most of their fitting samples (and, for repeated holdout,
    some test samples), so the J values are positively correlated; the plain t treats them as
    independent, its interval shrinks like 1/sqrt(J) however many splits are drawn, and a paired
    plain t declares differences "significant" far more often than its level says (Dietterich 1998;
    Bouckaert & Frank 2004). The corrected interval reads as one for the translator's expected score
    (or the expected difference) when fitted on ``n_fit`` samples of this population. The correction
    holds for repeated holdout and for repeated k-fold (n_test/n_fit = 1/(k-1) there).
  - The **plain t** (:func:`mean_interval` without sizes) covers the mean **over re-splits of this
    cohort**: how the score moves with the test samples drawn from these same samples. It is not an
    interval for the expected score at this training size, and is too narrow to be read as one.
  - The paired **bootstrap** (percentile, resampling splits) is an option for skewed differences; it
    too treats splits as independent, so with overlapping splits it is as optimistic as the plain t.
  - P(X beats reference) follows Bouthillier et al. (2021, "Accounting for Variance in Machine
    Learning Benchmarks", MLSys): the share of paired splits where X is better (ties count one half),
    in the direction given, with a Wilson score interval (which, unlike a bootstrap of 10 splits, does
    not collapse to [1, 1] when X wins every split).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import stats as st

__all__ = [
    "Interval",
    "PairedComparison",
    "bootstrap_interval",
    "compare_to_reference",
    "corrected_t_interval",
    "mean_interval",
    "paired_comparison",
    "prob_better",
    "wilson_interval",
]

PairedMethod = Literal["corrected_t", "bootstrap"]


@dataclass(frozen=True)
class Interval:
    """A point estimate with a two-sided interval. Bounds are NaN when fewer than 2 values exist.

    ``method`` names how the bounds were drawn: ``corrected_t`` (Nadeau & Bengio, the default for a
    translator's mean and for paired differences), ``t`` (plain Student t: over re-splits of this
    cohort), ``bootstrap`` or ``wilson`` (a proportion).
    """

    estimate: float
    low: float
    high: float
    confidence: float
    method: str
    n: int

    @property
    def crosses_zero(self) -> bool:
        """True when 0 lies inside the closed interval, or the interval is undefined."""
        if math.isnan(self.low) or math.isnan(self.high):
            return True
        return self.low <= 0.0 <= self.high

    def __str__(self) -> str:
        return f"{self.estimate:.4g} [{self.low:.4g}, {self.high:.4g}]"


@dataclass(frozen=True)
class PairedComparison:
    """Translator X against a reference over the same outer splits, for one metric.

    ``difference`` is mean(X - reference) in the metric's own units (negative is better when
    ``lower_is_better``); ``p_better`` is the share of splits where X is better. ``pvalue`` is the
    two-sided corrected resampled t-test (NaN with the bootstrap). ``metric`` is a label only.
    """

    metric: str | None
    lower_is_better: bool
    n_splits: int
    mean_x: float
    mean_reference: float
    difference: Interval
    p_better: Interval
    pvalue: float

    @property
    def crosses_zero(self) -> bool:
        return self.difference.crosses_zero

    @property
    def verdict(self) -> str:
        """``better`` / ``worse`` when the whole interval is on one side of zero, else ``inconclusive``."""
        if self.crosses_zero:
            return "inconclusive"
        improved = self.difference.high < 0 if self.lower_is_better else self.difference.low > 0
        return "better" if improved else "worse"


def _vector(values: Sequence[float] | np.ndarray, what: str) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64).ravel()
    if arr.size == 0:
        raise ValueError(f"{what}: no values")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{what}: non-finite values {arr[~np.isfinite(arr)][:3].tolist()}")
    return arr


def _sizes(n_fit: float | None, n_test: float | None, what: str) -> tuple[float, float] | None:
    """Both sizes, checked positive, or None when neither is given; one without the other is an error."""
    if n_fit is None and n_test is None:
        return None
    if n_fit is None or n_test is None:
        raise ValueError(f"{what}: give both n_fit and n_test (got n_fit={n_fit}, n_test={n_test})")
    if not (n_fit > 0 and n_test > 0):  # also rejects NaN
        raise ValueError(f"{what}: n_fit={n_fit} and n_test={n_test} must be positive")
    return float(n_fit), float(n_test)


def _t_interval(mean: float, se: float, n: int, confidence: float, method: str) -> Interval:
    if n < 2:
        return Interval(mean, math.nan, math.nan, confidence, method, n)
    half = float(st.t.ppf(0.5 + confidence / 2, n - 1)) * se
    return Interval(mean, mean - half, mean + half, confidence, method, n)


def mean_interval(
    values: Sequence[float] | np.ndarray,
    confidence: float = 0.95,
    *,
    n_fit: float | None = None,
    n_test: float | None = None,
) -> Interval:
    """Mean over outer splits with a Student-t interval (n-1 degrees of freedom).

    With ``n_fit`` and ``n_test`` (the default for a translator's interval in reports), the standard
    error is Nadeau & Bengio's corrected one, sd * sqrt(1/n + n_test/n_fit), and the interval reads as
    one for the translator's expected score when fitted on ``n_fit`` samples (``method="corrected_t"``).
    Without them it is the plain t, sd / sqrt(n) (``method="t"``): it covers the mean over re-splits
    of this cohort, i.e. how the score moves with the test samples drawn, not the expected score at
    this training size. Giving one size without the other is an error.
    """
    x = _vector(values, "mean_interval")
    sizes = _sizes(n_fit, n_test, "mean_interval")
    method = "t" if sizes is None else "corrected_t"
    mean = float(x.mean())
    if x.size < 2:
        return Interval(mean, math.nan, math.nan, confidence, method, x.size)
    if sizes is None:
        return _t_interval(mean, float(x.std(ddof=1) / math.sqrt(x.size)), x.size, confidence, "t")
    fit, test = sizes
    se = math.sqrt((1.0 / x.size + test / fit) * float(x.var(ddof=1)))
    return _t_interval(mean, se, x.size, confidence, "corrected_t")


def corrected_t_interval(
    differences: Sequence[float] | np.ndarray, n_fit: float, n_test: float, confidence: float = 0.95
) -> tuple[Interval, float]:
    """Nadeau & Bengio's corrected resampled t: interval for the mean paired difference, and its p-value.

    ``n_fit``: samples the models were fitted on per split (training part, or training + validation
    after a refit on both); ``n_test``: test samples per split (means over splits if they vary). See
    the module docstring for why the variance is inflated by ``n_test / n_fit``.
    """
    d = _vector(differences, "corrected_t_interval")
    sizes = _sizes(n_fit, n_test, "corrected_t_interval")
    if sizes is None:
        raise ValueError("corrected_t_interval: needs n_fit and n_test")
    fit, test = sizes
    j = d.size
    mean = float(d.mean())
    if j < 2:
        return Interval(mean, math.nan, math.nan, confidence, "corrected_t", j), math.nan
    se = math.sqrt((1.0 / j + test / fit) * float(d.var(ddof=1)))
    interval = _t_interval(mean, se, j, confidence, "corrected_t")
    if se == 0.0:
        return interval, 1.0 if mean == 0.0 else 0.0
    pvalue = float(2 * st.t.sf(abs(mean) / se, j - 1))
    return interval, pvalue


def bootstrap_interval(
    differences: Sequence[float] | np.ndarray, confidence: float = 0.95, n_boot: int = 10_000, seed: int = 0
) -> Interval:
    """Percentile bootstrap of the mean paired difference, resampling outer splits with replacement."""
    d = _vector(differences, "bootstrap_interval")
    mean = float(d.mean())
    if d.size < 2:
        return Interval(mean, math.nan, math.nan, confidence, "bootstrap", d.size)
    rng = np.random.default_rng(seed)
    means = d[rng.integers(0, d.size, size=(n_boot, d.size))].mean(axis=1)
    low, high = np.quantile(means, [0.5 - confidence / 2, 0.5 + confidence / 2])
    return Interval(mean, float(low), float(high), confidence, "bootstrap", d.size)


def wilson_interval(successes: float, n: int, confidence: float = 0.95) -> Interval:
    """Wilson score interval for a proportion ``successes / n`` (successes may be fractional: ties)."""
    if n <= 0:
        return Interval(math.nan, math.nan, math.nan, confidence, "wilson", 0)
    p = successes / n
    z = float(st.norm.ppf(0.5 + confidence / 2))
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return Interval(p, max(0.0, centre - half), min(1.0, centre + half), confidence, "wilson", n)


def prob_better(
    x: Sequence[float] | np.ndarray,
    reference: Sequence[float] | np.ndarray,
    *,
    lower_is_better: bool,
    confidence: float = 0.95,
    method: Literal["wilson", "bootstrap"] = "wilson",
    n_boot: int = 10_000,
    seed: int = 0,
) -> Interval:
    """P(X beats the reference): the share of paired splits where X is better; a tie counts 1/2.

    ``lower_is_better`` is required: take it from the metric catalogue, never from a metric's name.
    """
    a, b = _pair(x, reference)
    wins = (
        np.where(a < b, 1.0, np.where(a == b, 0.5, 0.0))
        if lower_is_better
        else np.where(a > b, 1.0, np.where(a == b, 0.5, 0.0))
    )
    if method == "wilson":
        return wilson_interval(float(wins.sum()), wins.size, confidence)
    if method != "bootstrap":
        raise ValueError(f"prob_better: unknown method {method!r}")
    p = float(wins.mean())
    rng = np.random.default_rng(seed)
    shares = wins[rng.integers(0, wins.size, size=(n_boot, wins.size))].mean(axis=1)
    low, high = np.quantile(shares, [0.5 - confidence / 2, 0.5 + confidence / 2])
    return Interval(p, float(low), float(high), confidence, "bootstrap", wins.size)


def paired_comparison(
    x: Sequence[float] | np.ndarray,
    reference: Sequence[float] | np.ndarray,
    *,
    lower_is_better: bool,
    metric: str | None = None,
    n_fit: float | None = None,
    n_test: float | None = None,
    method: PairedMethod = "corrected_t",
    confidence: float = 0.95,
    n_boot: int = 10_000,
    seed: int = 0,
) -> PairedComparison:
    """Compare X with the reference over the same outer splits (equal length, same order).

    ``lower_is_better`` is required (from the metric catalogue); ``metric`` is a label only. The
    default, the corrected t, needs ``n_fit`` (samples fitted on per split) and ``n_test``.
    """
    a, b = _pair(x, reference)
    d = a - b
    if method == "corrected_t":
        if n_fit is None or n_test is None:
            raise ValueError("paired_comparison: the corrected t needs n_fit and n_test")
        diff, pvalue = corrected_t_interval(d, n_fit, n_test, confidence)
    elif method == "bootstrap":
        diff, pvalue = bootstrap_interval(d, confidence, n_boot, seed), math.nan
    else:
        raise ValueError(f"paired_comparison: unknown method {method!r}: use corrected_t or bootstrap")
    return PairedComparison(
        metric=metric,
        lower_is_better=bool(lower_is_better),
        n_splits=int(d.size),
        mean_x=float(a.mean()),
        mean_reference=float(b.mean()),
        difference=diff,
        p_better=prob_better(a, b, lower_is_better=lower_is_better, confidence=confidence),
        pvalue=pvalue,
    )


def compare_to_reference(
    values: Mapping[str, Mapping[str, float]],
    reference: str,
    *,
    lower_is_better: bool,
    metric: str | None = None,
    n_fit: float | None = None,
    n_test: float | None = None,
    method: PairedMethod = "corrected_t",
    confidence: float = 0.95,
    exclude: Sequence[str] = (),
) -> dict[str, PairedComparison]:
    """Every translator of ``values`` against ``reference``, paired on the outer splits both have.

    ``values``: translator label -> {split hash -> test value of the metric} (seeds averaged within a
    split). A split one side lacks (a failed run) is left out of that pair only. ``lower_is_better``
    is required (from the metric catalogue); ``metric`` is a label only. ``n_fit`` / ``n_test``: mean
    samples fitted on and tested on per split, needed by the corrected t. ``exclude``: labels never
    compared (controls).
    """
    if reference not in values:
        raise ValueError(f"compare_to_reference: no values for the reference {reference!r}")
    if method == "corrected_t" and (n_fit is None or n_test is None):
        raise ValueError("compare_to_reference: the corrected t needs n_fit and n_test")
    ref = values[reference]
    out: dict[str, PairedComparison] = {}
    for label, vals in values.items():
        if label == reference or label in exclude:
            continue
        common = [h for h in ref if h in vals]
        if not common:
            continue
        out[label] = paired_comparison(
            [vals[h] for h in common],
            [ref[h] for h in common],
            lower_is_better=lower_is_better,
            metric=metric,
            n_fit=n_fit,
            n_test=n_test,
            method=method,
            confidence=confidence,
        )
    return out


def _pair(x: Sequence[float] | np.ndarray, reference: Sequence[float] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a = _vector(x, "x")
    b = _vector(reference, "reference")
    if a.shape != b.shape:
        raise ValueError(f"paired values need one per outer split on both sides, got {a.size} and {b.size}")
    return a, b
