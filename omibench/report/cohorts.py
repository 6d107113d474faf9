"""The uncertainty sections of ``omibench report``: per cohort, intervals, paired differences and skill
scores; across cohorts, average ranks with critical-difference diagrams (Demšar 2006).

Data contract: each cohort is a :class:`~omibench.results.ResultSet` (per translator, one test value
per outer split, seeds averaged). Across cohorts, one experiment is one dataset of Demšar's tests, the
datasets are cohorts of ONE translation direction (an experiment and its ``_reverse`` are not
independent datasets), and a translator's score on a dataset is its mean over that cohort's ranking
block (the outer splits every ranked translator ran: :func:`omibench.results.analysis.ranking`); only
translators ranked in every experiment are compared, controls never.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

from omibench.errors import OmibenchError
from omibench.metrics import catalogue
from omibench.plots.stats import critical_difference_figure, paired_difference_figure
from omibench.report import tables
from omibench.results import ResultSet, analysis
from omibench.stats import PairedComparison
from omibench.stats.ranks import (
    friedman,
    friedman_rejects,
    holm_min_datasets,
    nemenyi_cliques,
    nemenyi_critical_difference,
    scores_matrix,
    wilcoxon_cliques,
    wilcoxon_holm,
)

__all__ = ["PAIRED_METRICS", "CohortStats", "CrossCohort", "cohort_stats", "cross_cohort"]

PAIRED_METRICS = ("median_r2_featurewise", "mse", catalogue.DOWNSTREAM + "accuracy", catalogue.DOWNSTREAM + "f1")
REVERSE_SUFFIX = "_reverse"  # how `direction: both` names the expression -> methylation experiment


@dataclass
class CohortStats:
    """One experiment's uncertainty section."""

    experiment: str
    baseline: str
    intervals: pd.DataFrame
    interval_note: str
    paired: pd.DataFrame
    compared: dict[str, dict[str, PairedComparison]] = field(default_factory=dict)
    figures: list[tuple[str, str, bytes]] = field(default_factory=list)
    ranking: analysis.Ranking | None = None
    skill: analysis.SkillTable | None = None
    controls: list[str] = field(default_factory=list)


def cohort_stats(
    results: ResultSet,
    *,
    baseline: str = "ridge",
    method: analysis.PairedMethod = "corrected_t",
    metric: str = "median_r2_featurewise",
    ci: analysis.IntervalKind = "corrected",
) -> CohortStats:
    """Intervals, paired differences (each metric of :data:`PAIRED_METRICS` that was logged), the
    ranking on matched splits, skill scores and the paired-difference figure of ``metric``."""
    if not len(results):
        raise OmibenchError(f"no finished runs of experiment {results.experiment!r}: check the name")
    logged = set(results.metrics())
    metrics = [m for m in PAIRED_METRICS if m in logged]
    compared = {m: c for m in metrics if (c := analysis.compare(results, baseline, m, method))}
    intervals, note = tables.interval_table(results, metrics, ci)
    out = CohortStats(
        results.experiment,
        baseline,
        intervals,
        note,
        tables.paired_table(compared, baseline),
        compared,
        ranking=analysis.ranking(results, metric),
        skill=analysis.skill(results, metric),
        controls=[r.label for r in results.controls],
    )
    if compared.get(metric):
        png = paired_difference_figure(
            compared[metric], reference=baseline, metric=metric, title=f"{results.experiment}: {metric} − {baseline}"
        )
        caption = f"{results.experiment}: each translator minus {baseline}, {metric}"
        out.figures.append(("paired differences", caption, png))
    return out


@dataclass
class CrossCohort:
    """Average ranks over experiments, Friedman's test, Nemenyi's CD, Wilcoxon-Holm and skill scores."""

    metric: str
    cohorts: list[CohortStats]
    ranks: pd.DataFrame  # translator, average rank, per-experiment mean over its ranking block
    notes: list[str] = field(default_factory=list)
    skill: pd.DataFrame = field(default_factory=pd.DataFrame)  # translator, mean, per-experiment skill
    figures: list[tuple[str, str, bytes]] = field(default_factory=list)


def _one_direction(names: Sequence[str]) -> None:
    reverse = [n.endswith(REVERSE_SUFFIX) for n in names]
    if any(reverse) and not all(reverse):
        raise OmibenchError(
            "report across cohorts: give experiments of one direction (all methylation -> expression, or all "
            f"`{REVERSE_SUFFIX}`): a cohort's two directions are not independent datasets"
        )


def cross_cohort(
    cohorts: Sequence[ResultSet],
    *,
    metric: str = "median_r2_featurewise",
    baseline: str = "ridge",
    method: analysis.PairedMethod = "corrected_t",
    alpha: float = 0.05,
) -> CrossCohort:
    """Per-cohort sections, then Demšar's comparison of the translators ranked in every cohort."""
    if len(cohorts) < 2:
        raise OmibenchError("report across cohorts: give at least two experiments")
    _one_direction([c.experiment for c in cohorts])
    sections = [cohort_stats(c, baseline=baseline, method=method, metric=metric) for c in cohorts]
    means = {s.experiment: dict(s.ranking.means) if s.ranking else {} for s in sections}
    scores, datasets, methods = scores_matrix(means)
    notes = []
    partial = {label for s in sections if s.ranking for label in s.ranking.partial}
    dropped = sorted(({m for per in means.values() for m in per} | partial) - set(methods))
    if dropped:
        notes.append(f"not ranked (not ranked on matched splits in every experiment): {', '.join(dropped)}")
    if len(methods) < 2:
        raise OmibenchError(f"report across cohorts: fewer than two translators ranked in every experiment ({metric})")
    lower = catalogue.is_lower_better(metric)
    fr = friedman(scores, lower_is_better=lower)
    cd = nemenyi_critical_difference(len(methods), len(datasets), alpha)
    rejects = friedman_rejects(fr, alpha)
    ranks = pd.DataFrame({"translator": methods, "average rank": fr.average_ranks})
    for j, d in enumerate(datasets):
        ranks[d] = scores[j]
    ranks = ranks.sort_values("average rank", kind="stable").reset_index(drop=True)
    notes.append(
        f"Friedman over {len(datasets)} experiments, {len(methods)} translators: chi² = {fr.statistic:.3g}, "
        f"p = {fr.pvalue:.3g}; Iman-Davenport F = {fr.f_statistic:.3g}, p = {fr.f_pvalue:.3g}"
        + ("" if rejects else f": no difference in ranks at α = {alpha}, so no groups are drawn")
        + f". Nemenyi critical difference (α = {alpha}) = {cd:.3g} ranks."
    )
    need = holm_min_datasets(len(methods), alpha)
    if len(datasets) < need:
        notes.append(
            f"Wilcoxon-Holm: with {len(methods)} translators ({len(methods) * (len(methods) - 1) // 2} pairs) it can "
            f"reject a pair only from {need} experiments on; with {len(datasets)} it cannot"
        )
    out = CrossCohort(metric, sections, ranks, notes, _skill_table(sections, methods))
    if not out.skill.empty:
        below = [str(t) for t, flag in zip(out.skill["translator"], out.skill["below control"]) if flag]
        if below:
            notes.append(f"below the best control (negative mean skill): {', '.join(below)}")
    cliques = nemenyi_cliques(fr.average_ranks, cd) if rejects else []
    caption = f"average rank on {metric} over {len(datasets)} experiments"
    out.figures.append(
        (
            "critical difference (Nemenyi)",
            caption + ("; bars join translators within CD" if rejects else "; Friedman does not reject: no groups"),
            critical_difference_figure(methods, fr.average_ranks, cd=cd, cliques=cliques, title="Nemenyi"),
        )
    )
    tests = wilcoxon_holm(scores, methods, alpha=alpha)
    w_cliques = wilcoxon_cliques(fr.average_ranks, methods, tests) if rejects else []
    out.figures.append(
        (
            "critical difference (Wilcoxon-Holm)",
            caption + ("; bars join translators Wilcoxon-Holm does not tell apart" if rejects else "; no groups"),
            critical_difference_figure(methods, fr.average_ranks, cd=None, cliques=w_cliques, title="Wilcoxon-Holm"),
        )
    )
    return out


def _skill_table(sections: Sequence[CohortStats], methods: Sequence[str]) -> pd.DataFrame:
    """Skill scores of the ranked translators: each cohort's mean over outer splits, then their mean."""
    if not any(s.skill and s.skill.scores for s in sections):
        return pd.DataFrame()
    rows = []
    for m in methods:
        per = [s.skill.scores[m].mean if s.skill and m in s.skill.scores else math.nan for s in sections]
        finite = [v for v in per if not math.isnan(v)]
        mean = sum(finite) / len(finite) if finite else math.nan
        rows.append([m, mean, bool(finite) and mean < 0, *per])
    columns = ["translator", "skill (mean)", "below control", *[s.experiment for s in sections]]
    table = pd.DataFrame(rows, columns=columns)
    return table.sort_values("skill (mean)", ascending=False, kind="stable").reset_index(drop=True)
