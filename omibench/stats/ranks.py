"""Comparisons across datasets (Demšar 2006, "Statistical Comparisons of Classifiers over Multiple
Data Sets", JMLR 7): average ranks, the Friedman test, Nemenyi's critical difference, and pairwise
Wilcoxon signed-rank tests with Holm's correction.

Data contract: ``scores`` is (n_datasets, n_methods), one summary value per dataset and method, e.g.
the mean test median R²f over that cohort's outer splits. The datasets are the **cohorts of one
translation direction**: the two directions of one cohort (or a cohort scored in several ways) are
not independent datasets, and counting them as such overstates N. Rank 1 is the best method; ties
share their average rank. Controls are left out by the caller: they are reference lines, not
competitors.

How to read them:
  - Draw critical-difference groups only when the Friedman test rejects (:func:`friedman_rejects`,
    on Iman & Davenport's F as Demšar recommends); otherwise no method is told apart from another.
  - Wilcoxon-Holm cannot reject anything below :func:`holm_min_datasets` datasets, however large the
    differences: with N datasets the smallest two-sided exact p-value is 2 / 2**N, and Holm needs the
    smallest of the k(k-1)/2 p-values at or below alpha / (k(k-1)/2). Say so rather than report "no
    significant difference".
  - Zero differences (a pair of methods scoring the same on a dataset) are split evenly between the
    positive and negative ranks, as Demšar does (``zero_method="zsplit"``), rather than dropped.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as st

__all__ = [
    "FriedmanResult",
    "PairwiseTest",
    "average_ranks",
    "friedman",
    "friedman_rejects",
    "holm",
    "holm_min_datasets",
    "nemenyi_cliques",
    "nemenyi_critical_difference",
    "rank_matrix",
    "scores_matrix",
    "wilcoxon_cliques",
    "wilcoxon_holm",
]


@dataclass(frozen=True)
class FriedmanResult:
    """Friedman's chi-square (tie-corrected, as ``scipy.stats.friedmanchisquare``) and Iman & Davenport's F.

    Demšar recommends the F form (less conservative); both are given.
    """

    statistic: float
    pvalue: float
    f_statistic: float
    f_pvalue: float
    n_datasets: int
    n_methods: int
    average_ranks: np.ndarray


@dataclass(frozen=True)
class PairwiseTest:
    """Wilcoxon signed-rank test of methods ``a`` and ``b`` over datasets, with its Holm-adjusted p-value."""

    a: str
    b: str
    statistic: float
    pvalue: float
    p_holm: float
    reject: bool


def _scores(scores: Sequence[Sequence[float]] | np.ndarray) -> np.ndarray:
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim != 2 or s.shape[0] < 1 or s.shape[1] < 2:
        raise ValueError(f"scores must be (n_datasets, n_methods>=2), got shape {s.shape}")
    if not np.all(np.isfinite(s)):
        raise ValueError("scores: every dataset needs a finite value for every method")
    return s


def scores_matrix(
    means: Mapping[str, Mapping[str, float]], *, exclude: Sequence[str] = ()
) -> tuple[np.ndarray, list[str], list[str]]:
    """(scores, datasets, methods) from dataset -> {method -> value}.

    Keeps the methods that have a finite value on every dataset (first-seen order), minus ``exclude``
    (controls); the caller can name the dropped ones by comparing with its own list.
    """
    datasets = list(means)
    seen: list[str] = []
    for d in datasets:
        seen.extend(m for m in means[d] if m not in seen and m not in exclude)
    methods = [m for m in seen if all(m in means[d] and math.isfinite(means[d][m]) for d in datasets)]
    matrix = np.array([[means[d][m] for m in methods] for d in datasets], dtype=np.float64)
    return matrix.reshape(len(datasets), len(methods)), datasets, methods


def rank_matrix(scores: Sequence[Sequence[float]] | np.ndarray, *, lower_is_better: bool = False) -> np.ndarray:
    """Per-dataset ranks, (n_datasets, n_methods); 1 = best, ties averaged."""
    s = _scores(scores)
    return st.rankdata(s if lower_is_better else -s, axis=1)


def average_ranks(scores: Sequence[Sequence[float]] | np.ndarray, *, lower_is_better: bool = False) -> np.ndarray:
    """Each method's rank averaged over datasets, (n_methods,)."""
    return rank_matrix(scores, lower_is_better=lower_is_better).mean(axis=0)


def friedman(scores: Sequence[Sequence[float]] | np.ndarray, *, lower_is_better: bool = False) -> FriedmanResult:
    """Friedman test that all methods have equal average rank.

    chi² = 12N / (k(k+1)) * (sum_j R_j² - k(k+1)²/4), divided by 1 - sum(t³ - t) / (N(k³ - k)) for
    tied ranks; F = (N-1) chi² / (N(k-1) - chi²) with (k-1, (k-1)(N-1)) degrees of freedom.
    """
    ranks = rank_matrix(scores, lower_is_better=lower_is_better)
    n, k = ranks.shape
    avg = ranks.mean(axis=0)
    chi2 = 12.0 * n / (k * (k + 1)) * (float(np.sum(avg**2)) - k * (k + 1) ** 2 / 4.0)
    ties = 0.0
    for row in ranks:
        _, counts = np.unique(row, return_counts=True)
        ties += float(np.sum(counts**3 - counts))
    correction = 1.0 - ties / (n * (k**3 - k))
    chi2 = chi2 / correction if correction > 0 else math.nan
    pvalue = float(st.chi2.sf(chi2, k - 1))
    denom = n * (k - 1) - chi2
    if n > 1 and denom > 0:
        f = (n - 1) * chi2 / denom
        f_p = float(st.f.sf(f, k - 1, (k - 1) * (n - 1)))
    else:  # perfect agreement of all datasets (or a single one): F is undefined
        f, f_p = math.inf if n > 1 else math.nan, 0.0 if n > 1 else math.nan
    return FriedmanResult(float(chi2), pvalue, float(f), f_p, n, k, avg)


def friedman_rejects(result: FriedmanResult, alpha: float = 0.05) -> bool:
    """Whether the Friedman test rejects equal average ranks at ``alpha``, on Iman & Davenport's F
    p-value (Demšar's recommendation; the chi² form is more conservative). An undefined p-value (a
    single dataset) does not reject. Critical-difference groups mean something only when this is True.
    """
    p = result.f_pvalue
    return bool(not math.isnan(p) and p <= alpha)


def nemenyi_critical_difference(n_methods: int, n_datasets: int, alpha: float = 0.05) -> float:
    """CD = q_alpha sqrt(k(k+1) / (6N)), q_alpha the studentized range quantile (infinite df) / sqrt 2."""
    if n_methods < 2 or n_datasets < 1:
        raise ValueError(f"Nemenyi needs at least 2 methods and 1 dataset, got {n_methods} and {n_datasets}")
    q = float(st.studentized_range.ppf(1 - alpha, n_methods, np.inf)) / math.sqrt(2)
    return q * math.sqrt(n_methods * (n_methods + 1) / (6.0 * n_datasets))


def _maximal_runs(order: np.ndarray, joined: np.ndarray) -> list[tuple[int, ...]]:
    """Maximal runs (in rank order) whose members are all pairwise ``joined``; singletons dropped."""
    k = len(order)
    runs: list[tuple[int, int]] = []
    for i in range(k):
        j = i
        while j + 1 < k and all(joined[order[m], order[j + 1]] for m in range(i, j + 1)):
            j += 1
        if j > i and not any(a <= i and j <= b for a, b in runs):
            runs.append((i, j))
    return [tuple(int(x) for x in order[a : b + 1]) for a, b in runs]


def nemenyi_cliques(avg_ranks: Sequence[float] | np.ndarray, cd: float) -> list[tuple[int, ...]]:
    """Groups of methods (column indices, best first) no two of which differ by ``cd`` or more in rank."""
    r = np.asarray(avg_ranks, dtype=np.float64)
    order = np.argsort(r, kind="stable")
    joined = np.abs(r[:, None] - r[None, :]) < cd
    return _maximal_runs(order, joined)


def holm_min_datasets(n_methods: int, alpha: float = 0.05) -> int:
    """The fewest datasets N at which Wilcoxon-Holm can reject any pair of ``n_methods`` methods.

    With N datasets the smallest two-sided exact Wilcoxon p-value is 2 / 2**N (one method better on
    every dataset); Holm rejects the smallest of m = k(k-1)/2 p-values only if it is at most alpha / m.
    So N >= 1 + log2(m / alpha): 2 methods need 6 datasets, 9 methods (36 pairs) need 11.
    """
    if n_methods < 2:
        raise ValueError(f"holm_min_datasets: needs at least 2 methods, got {n_methods}")
    if not 0 < alpha < 1:
        raise ValueError(f"holm_min_datasets: alpha={alpha} must be in (0, 1)")
    m = n_methods * (n_methods - 1) // 2
    n = max(1, math.ceil(1 + math.log2(m / alpha)) - 1)
    while 2.0 / 2.0**n * m > alpha:  # exact check around the rounded logarithm
        n += 1
    return n


def holm(pvalues: Sequence[float] | np.ndarray) -> np.ndarray:
    """Holm's step-down adjusted p-values, in the input order (monotone, capped at 1)."""
    p = np.asarray(pvalues, dtype=np.float64)
    m = p.size
    order = np.argsort(p, kind="stable")
    adjusted = np.maximum.accumulate(p[order] * (m - np.arange(m)))
    out = np.empty(m)
    out[order] = np.minimum(adjusted, 1.0)
    return out


def wilcoxon_holm(
    scores: Sequence[Sequence[float]] | np.ndarray,
    names: Sequence[str],
    *,
    alpha: float = 0.05,
) -> list[PairwiseTest]:
    """Every pair of methods tested by Wilcoxon's signed-rank test over datasets, Holm-corrected at ``alpha``.

    The test is two-sided, so the direction of the metric does not matter. Zero differences are split
    evenly between positive and negative ranks (Demšar; ``zero_method="zsplit"``). A pair with
    identical values on every dataset gets p = 1. A pair is rejected when its Holm-adjusted p-value
    is at most ``alpha``; below :func:`holm_min_datasets` datasets none can be.
    """
    s = _scores(scores)
    if len(names) != s.shape[1]:
        raise ValueError(f"{len(names)} names for {s.shape[1]} methods")
    pairs = [(i, j) for i in range(s.shape[1]) for j in range(i + 1, s.shape[1])]
    stats_p: list[tuple[float, float]] = []
    for i, j in pairs:
        d = s[:, i] - s[:, j]
        if np.all(d == 0):
            stats_p.append((0.0, 1.0))
            continue
        res = st.wilcoxon(s[:, i], s[:, j], zero_method="zsplit")
        stats_p.append((float(res.statistic), float(res.pvalue)))
    adjusted = holm([p for _, p in stats_p]) if pairs else np.array([])
    return [
        PairwiseTest(names[i], names[j], stat, p, float(adj), bool(adj <= alpha))
        for (i, j), (stat, p), adj in zip(pairs, stats_p, adjusted)
    ]


def wilcoxon_cliques(
    avg_ranks: Sequence[float] | np.ndarray, names: Sequence[str], tests: Sequence[PairwiseTest]
) -> list[tuple[int, ...]]:
    """Groups of methods (column indices, best first) no two of which Wilcoxon-Holm tells apart."""
    r = np.asarray(avg_ranks, dtype=np.float64)
    index = {name: i for i, name in enumerate(names)}
    joined = np.ones((r.size, r.size), dtype=bool)
    for t in tests:
        if t.reject:
            joined[index[t.a], index[t.b]] = joined[index[t.b], index[t.a]] = False
    return _maximal_runs(np.argsort(r, kind="stable"), joined)
