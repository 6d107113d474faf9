"""The one table builder for the paper's tables and the uncertainty sections, used by the MLflow page,
the HTML / Markdown report and the cross-cohort report (the terminal leaderboard is
:mod:`omibench.report.leaderboard`). Every builder takes a :class:`~omibench.results.ResultSet` and
returns a DataFrame of formatted cells plus the sentence that says what the cells are.

Cells: with several outer splits, ``mean ± sd`` over outer splits (seeds averaged within a split); with
one outer split, ``mean ± sd`` over seeds (the paper's Table 1). Rows: ranked translators by rank, then
unranked ones (``n=3/10``), then controls (``–``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from omibench.metrics import catalogue
from omibench.report.format import DASH, diff_cell, interval_cell, interval_label, pm, skill_cell
from omibench.results import ResultSet, TranslatorResult, analysis
from omibench.stats import PairedComparison

__all__ = [
    "cell_meaning",
    "interval_table",
    "metric_table",
    "ordered_rows",
    "paired_table",
    "pm_of",
    "rank_cell",
]


def _spread(res: TranslatorResult, metric: str) -> tuple[float, float]:
    """(mean, sd): over outer splits when there are several, else over the seeds of the one split."""
    per = res.values.get(metric, {})
    if not per:
        return math.nan, math.nan
    if len(per) > 1:
        values = np.array(list(per.values()))
    else:
        values = np.array(next(iter(res.seed_values.get(metric, {}).values()), list(per.values())))
    return float(values.mean()), float(values.std(ddof=1)) if values.size > 1 else math.nan


def pm_of(results: ResultSet, label: str, metric: str) -> str:
    """One translator's ``mean ± sd`` of ``metric`` (see :func:`cell_meaning`)."""
    res = results.get(label)
    return pm(*_spread(res, metric), metric) if res is not None else DASH


def cell_meaning(results: ResultSet) -> str:
    n = sorted({len(r.splits) for r in results if r.splits})
    if n and n != [1]:
        return f"mean ± sd over {'/'.join(map(str, n))} outer splits (seeds averaged within a split)"
    return "mean ± sd over seeds (one outer split)"


def ordered_rows(results: ResultSet, ranking: analysis.Ranking) -> list[TranslatorResult]:
    """Ranked translators by rank, then unranked translators, then controls."""
    ranked = [r for label in ranking.order if (r := results.get(label)) is not None]
    rest = [r for r in results.translators if r.label not in ranking.order]
    return ranked + rest + results.controls


def rank_cell(label: str, ranking: analysis.Ranking) -> str:
    rank = ranking.rank(label)
    if rank is not None:
        return str(rank)
    if label in ranking.partial:
        n, m = ranking.partial[label]
        return f"n={n}/{m}"
    return DASH


def metric_table(
    results: ResultSet,
    metrics: Sequence[str],
    sort: str,
    *,
    reference: bool = False,
    skill: bool = True,
    run_ids: bool = False,
    provenance: bool = False,
) -> pd.DataFrame:
    """Table 1 (``metrics`` = the nine) or Table 3 (``downstream/*``): one row per translator ordered
    by the ranking on ``sort``, ``mean ± sd`` cells (:func:`cell_meaning`), the skill score on ``sort``
    where it exists (``skill``), and with ``reference`` Table 3's "original data" row first. ``run_ids``
    adds each row's short run id; ``provenance`` whether it was tuned (``omibench run --tuned``), its
    config hash, split hash and full run id."""
    ranking = analysis.ranking(results, sort)
    skills = analysis.skill(results, sort)
    rows: list[dict[str, object]] = []
    if reference and results.reference:
        row: dict[str, object] = {"#": "", "translator": results.reference_label}
        row.update({catalogue.lookup(m).short: pm(results.reference.get(catalogue.key(m)), None, m) for m in metrics})
        rows.append(row)
    for res in ordered_rows(results, ranking):
        row = {"#": rank_cell(res.label, ranking) if not res.control else DASH, "translator": res.label}
        for metric in metrics:
            mean, sd = _spread(res, metric)
            row[catalogue.lookup(metric).short] = pm(mean, sd, metric)
        if skill and skills.scores:
            score = skills.scores.get(res.label)
            row[f"skill({catalogue.lookup(sort).short})"] = skill_cell(
                score.mean if score else None, bool(score and score.below_control)
            )
        if provenance:
            row.update(
                tuned="yes" if res.tuned else "no",
                config=res.config_hash or "",
                split=res.split_hash or "",
                run=res.run_id,
            )
        elif run_ids:
            row["run"] = res.run_id[:8]
        rows.append(row)
    return pd.DataFrame(rows)


def interval_table(
    results: ResultSet, metrics: Sequence[str], kind: analysis.IntervalKind = "corrected"
) -> tuple[pd.DataFrame, str]:
    """translator, control, outer splits and per metric ``mean [lo, hi]``; with the sentence naming
    the interval shown (corrected where the runs logged their sizes, else plain)."""
    rows, methods = [], set()
    for res in results:
        row: dict[str, object] = {
            "translator": res.label,
            "control": "yes" if res.control else "",
            "outer splits": len(res.splits),
        }
        for metric in metrics:
            iv = analysis.interval(res, metric, kind)
            row[metric] = interval_cell(iv, metric)
            if iv is not None and not math.isnan(iv.low):
                methods.add(iv.method)
        rows.append(row)
    said = "; ".join(interval_label(m) for m in sorted(methods)) or "one outer split: no interval"
    return pd.DataFrame(rows), f"Each cell: mean over outer splits [{said}]."


def paired_table(compared: dict[str, dict[str, PairedComparison]], baseline: str) -> pd.DataFrame:
    """One row per (metric, translator): the paired difference to ``baseline`` with its interval,
    P(better) with its Wilson interval, the number of shared splits and the verdict."""
    rows = []
    for metric, per in compared.items():
        for label, comp in per.items():
            single = math.isnan(comp.difference.low)
            p = comp.p_better
            rows.append(
                {
                    "metric": metric,
                    "translator": label,
                    f"Δ vs {baseline} [95% interval]": diff_cell(comp),
                    "method": comp.difference.method,
                    "P(better)": DASH if single else f"{p.estimate:.2f} [{p.low:.2f}, {p.high:.2f}]",
                    "splits": comp.n_splits,
                    "verdict": "n=1" if single else comp.verdict,
                }
            )
    return pd.DataFrame(rows)
