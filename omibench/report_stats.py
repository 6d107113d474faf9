"""The uncertainty sections of ``omibench report``: per-cohort intervals and paired differences, and
across cohorts average ranks with critical-difference diagrams (Demšar 2006).

Data contract: everything is read from the store's FINISHED summary runs and their job runs (see
:mod:`omibench.uncertainty`): per translator, one value per outer split (seeds averaged), test split.
Across cohorts, one experiment is one dataset of Demšar's tests and a translator's score on it is its
mean over outer splits; only translators present in every experiment are ranked, controls never.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

from ._errors import OmibenchError
from .metrics_extra import control_scaled, share_outside_controls
from .stats import PairedComparison
from .stats_figures import critical_difference_figure, paired_difference_figure
from .stats_ranks import (
    friedman,
    nemenyi_cliques,
    nemenyi_critical_difference,
    scores_matrix,
    wilcoxon_cliques,
    wilcoxon_holm,
)
from .store import Store
from .uncertainty import IntervalMethod, TranslatorResults, collect, comparisons, is_lower_better

__all__ = [
    "PAIRED_METRICS",
    "CohortStats",
    "CrossCohort",
    "cohort_stats",
    "cross_cohort",
    "interval_table",
    "paired_table",
]

PAIRED_METRICS = ("median_r2_featurewise", "mse", "downstream/accuracy", "downstream/f1")


def _num(value: float) -> str:
    return "–" if value is None or math.isnan(value) else f"{value:.4g}"


def _interval_cell(res: TranslatorResults, metric: str) -> str:
    iv = res.interval(metric)
    if iv is None:
        return "–"
    if math.isnan(iv.low):
        return f"{_num(iv.estimate)} (n=1, no interval)"
    return f"{_num(iv.estimate)} [{_num(iv.low)}, {_num(iv.high)}]"


def interval_table(results: Sequence[TranslatorResults], metrics: Sequence[str]) -> pd.DataFrame:
    """translator, control, n_splits and, per metric, ``mean [lo, hi]`` (95% t interval over outer splits)."""
    rows = []
    for res in results:
        row: dict[str, object] = {
            "translator": res.label,
            "control": "yes" if res.control else "",
            "outer splits": len(res.splits),
        }
        row.update({m: _interval_cell(res, m) for m in metrics})
        rows.append(row)
    return pd.DataFrame(rows)


def paired_table(compared: dict[str, dict[str, PairedComparison]], baseline: str) -> pd.DataFrame:
    """One row per (metric, translator): mean difference to ``baseline``, its interval, P(better), verdict."""
    rows = []
    for metric, per in compared.items():
        for label, comp in per.items():
            d = comp.difference
            single = math.isnan(d.low)
            rows.append(
                {
                    "metric": metric,
                    "translator": label,
                    f"Δ vs {baseline}": _num(d.estimate),
                    "95% interval": "n=1, no interval" if single else f"[{_num(d.low)}, {_num(d.high)}]",
                    "method": d.method,
                    "P(better)": "–"
                    if single
                    else f"{comp.p_better.estimate:.2f} [{comp.p_better.low:.2f}, {comp.p_better.high:.2f}]",
                    "splits": comp.n_splits,
                    "verdict": "n=1" if single else comp.verdict,
                }
            )
    return pd.DataFrame(rows)


@dataclass
class CohortStats:
    """One experiment's uncertainty section."""

    experiment: str
    baseline: str
    intervals: pd.DataFrame
    paired: pd.DataFrame
    compared: dict[str, dict[str, PairedComparison]] = field(default_factory=dict)
    figures: list[tuple[str, str, bytes]] = field(default_factory=list)
    means: dict[str, float] = field(default_factory=dict)  # headline metric, non-controls
    controls: list[str] = field(default_factory=list)
    # headline metric scaled between the worst control (0) and the truth (1), mean over outer splits
    scaled: dict[str, float] = field(default_factory=dict)
    scaled_unclipped: list[float] = field(default_factory=list)  # every (translator, split) value


def cohort_stats(
    store: Store,
    experiment: str,
    *,
    baseline: str = "ridge",
    method: IntervalMethod = "corrected_t",
    metric: str = "median_r2_featurewise",
    results: Sequence[TranslatorResults] | None = None,
) -> CohortStats:
    """Intervals, paired differences (every metric of :data:`PAIRED_METRICS` that was logged) and the
    paired-difference figure of ``metric`` for one experiment."""
    if results is None:
        runs = store.summaries(experiment)
        if not runs:
            raise OmibenchError(f"no finished runs of experiment {experiment!r} in {store.uri}: check the name")
        results = collect(store, runs)
    logged = {m for r in results for m in r.values}
    metrics = [m for m in PAIRED_METRICS if m in logged]
    compared = {m: c for m in metrics if (c := comparisons(results, baseline, m, method))}
    out = CohortStats(
        experiment,
        baseline,
        interval_table(results, metrics),
        paired_table(compared, baseline),
        compared,
        controls=[r.label for r in results if r.control],
    )
    for res in results:
        iv = res.interval(metric)
        if iv is not None and not res.control:
            out.means[res.label] = iv.estimate
    _scale_by_controls(out, results, metric)
    if compared.get(metric):
        png = paired_difference_figure(
            compared[metric], reference=baseline, metric=metric, title=f"{experiment}: {metric} − {baseline}"
        )
        out.figures.append(("paired differences", f"{experiment}: each translator minus {baseline}, {metric}", png))
    return out


# the value a perfect translator (the "truth" control of Open Problems) scores
_IDEAL = {"mse": 0.0, "rmse": 0.0, "mean_ae": 0.0, "median_ae": 0.0}


def _ideal(metric: str) -> float | None:
    if metric in _IDEAL:
        return _IDEAL[metric]
    if metric.startswith("pct_"):
        return 100.0
    if metric.startswith("count_"):
        return None  # the ideal count is the number of genes, which the summary does not carry
    if "r2" in metric or metric.startswith("downstream/"):
        return 1.0
    return None


def _scale_by_controls(out: CohortStats, results: Sequence[TranslatorResults], metric: str) -> None:
    """Open Problems' control-scaled score, split by split: (value - worst control) / (truth - worst
    control), flipped for metrics to minimise, clipped to [0, 1]; the worst control is the worst of
    this cohort's control translators on that split. Left empty without controls or an ideal value."""
    ideal = _ideal(metric)
    controls = [r for r in results if r.control and r.values.get(metric)]
    if ideal is None or not controls:
        return
    lower = is_lower_better(metric)
    for res in results:
        if res.control or not res.values.get(metric):
            continue
        per_split = []
        for split, value in res.values[metric].items():
            refs = [c.values[metric][split] for c in controls if split in c.values[metric]]
            if not refs:
                continue
            raw = control_scaled(value, [*refs, ideal], lower_is_better=lower, clip=False)
            per_split.append(float(raw))
        if per_split:
            out.scaled_unclipped += per_split
            out.scaled[res.label] = float(sum(min(1.0, max(0.0, v)) for v in per_split) / len(per_split))


@dataclass
class CrossCohort:
    """Average ranks over experiments, Friedman's test, Nemenyi's CD and Wilcoxon-Holm."""

    metric: str
    cohorts: list[CohortStats]
    ranks: pd.DataFrame  # translator, average rank, per-experiment mean
    notes: list[str] = field(default_factory=list)
    scaled: pd.DataFrame = field(default_factory=pd.DataFrame)  # translator, mean, per-experiment scaled
    figures: list[tuple[str, str, bytes]] = field(default_factory=list)


def cross_cohort(
    store: Store,
    experiments: Sequence[str],
    *,
    metric: str = "median_r2_featurewise",
    baseline: str = "ridge",
    method: IntervalMethod = "corrected_t",
) -> CrossCohort:
    """Per-cohort sections for every experiment, then Demšar's comparison of the translators that all
    of them ran (controls excluded)."""
    if len(experiments) < 2:
        raise OmibenchError("report across cohorts: give at least two experiments")
    cohorts = [cohort_stats(store, e, baseline=baseline, method=method, metric=metric) for e in experiments]
    means = {c.experiment: c.means for c in cohorts}
    scores, datasets, methods = scores_matrix(means)
    everywhere = set(methods)
    dropped = sorted({m for c in cohorts for m in c.means} - everywhere)
    lower = is_lower_better(metric)
    notes = []
    if dropped:
        notes.append(f"not ranked (missing from some experiments): {', '.join(dropped)}")
    if len(methods) < 2:
        raise OmibenchError(f"report across cohorts: fewer than two translators ran in every experiment ({metric})")
    fr = friedman(scores, lower_is_better=lower)
    cd = nemenyi_critical_difference(len(methods), len(datasets))
    ranks = pd.DataFrame({"translator": methods, "average rank": fr.average_ranks})
    for j, d in enumerate(datasets):
        ranks[d] = scores[j]
    ranks = ranks.sort_values("average rank", kind="stable").reset_index(drop=True)
    notes.append(
        f"Friedman over {len(datasets)} experiments, {len(methods)} translators: chi² = {fr.statistic:.3g}, "
        f"p = {fr.pvalue:.3g}; Iman-Davenport F = {fr.f_statistic:.3g}, p = {fr.f_pvalue:.3g}. "
        f"Nemenyi critical difference (α = 0.05) = {cd:.3g} ranks."
    )
    if len(datasets) < 6:
        notes.append(f"with {len(datasets)} experiments Wilcoxon-Holm cannot reject any pair (needs N >= 6)")
    out = CrossCohort(metric, cohorts, ranks, notes, _scaled_table(cohorts, methods))
    outside = [v for c in cohorts for v in c.scaled_unclipped]
    if outside:
        notes.append(
            f"control-scaled {metric}: 0 = the worst control of the split, 1 = the truth; "
            f"{share_outside_controls(outside):.0%} of the {len(outside)} (translator, split) scores fall outside "
            "the controls' range before clipping (Open Problems flags a dataset above 10%)"
        )
    cliques = nemenyi_cliques(fr.average_ranks, cd)
    out.figures.append(
        (
            "critical difference (Nemenyi)",
            f"average rank on {metric} over {len(datasets)} experiments; bars join translators within CD",
            critical_difference_figure(methods, fr.average_ranks, cd=cd, cliques=cliques, title="Nemenyi"),
        )
    )
    tests = wilcoxon_holm(scores, methods)
    w_cliques = wilcoxon_cliques(fr.average_ranks, methods, tests)
    out.figures.append(
        (
            "critical difference (Wilcoxon-Holm)",
            f"average rank on {metric}; bars join translators Wilcoxon-Holm does not tell apart",
            critical_difference_figure(methods, fr.average_ranks, cd=None, cliques=w_cliques, title="Wilcoxon-Holm"),
        )
    )
    return out


def _scaled_table(cohorts: Sequence[CohortStats], methods: Sequence[str]) -> pd.DataFrame:
    """Control-scaled scores of the ranked translators: mean over experiments, then one column each."""
    if not any(c.scaled for c in cohorts):
        return pd.DataFrame()
    rows = []
    for m in methods:
        per = [c.scaled.get(m, math.nan) for c in cohorts]
        finite = [v for v in per if not math.isnan(v)]
        rows.append([m, sum(finite) / len(finite) if finite else math.nan, *per])
    table = pd.DataFrame(rows, columns=["translator", "control-scaled (mean)", *[c.experiment for c in cohorts]])
    return table.sort_values("control-scaled (mean)", ascending=False, kind="stable").reset_index(drop=True)
