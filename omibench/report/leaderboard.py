"""The leaderboard: one row per translator, each metric's mean over outer splits with its interval, the
paired comparison of every translator with a baseline (default ``ridge``), the ranking on matched
splits and the skill score against the best control.

:func:`frame` builds the numbers from a :class:`~omibench.results.ResultSet` (a DataFrame with full
metric names: what ``--format csv`` writes); :func:`format_table` renders them for a terminal or
Markdown. Controls are reference rows at the bottom, never ranked or compared; a translator that ran
fewer outer splits than the ranked ones is shown unranked with ``n=3/10``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import pandas as pd

from omibench.errors import ConfigError
from omibench.metrics import catalogue
from omibench.report.format import DASH, interval_label, number, signed, skill_cell
from omibench.results import ResultSet, analysis

__all__ = ["DEFAULT_BASELINE", "DEFAULT_COLUMNS", "DEFAULT_SORT", "check_metric", "format_table", "frame"]

DEFAULT_SORT = "median_r2_featurewise"
DEFAULT_BASELINE = "ridge"
DEFAULT_COLUMNS = (
    "median_r2_featurewise",
    "mse",
    "mean_r2_samplewise",
    catalogue.DOWNSTREAM + "accuracy",
    catalogue.DOWNSTREAM + "f1",
    "fit_time_s",
)


def check_metric(name: str, available: Sequence[str], what: str = "--sort") -> str:
    """``name`` as a short metric name (``test/mse`` -> ``mse``) if it was logged; else a ConfigError
    listing the logged ones."""
    short = catalogue.short_name(name)
    if short not in available:
        raise ConfigError(f"{what} {name!r} is not a logged metric; choose one of {', '.join(available)}")
    return short


def frame(
    results: ResultSet,
    sort: str = DEFAULT_SORT,
    *,
    baseline: str = DEFAULT_BASELINE,
    interval: analysis.PairedMethod = "corrected_t",
    ci: analysis.IntervalKind = "corrected",
) -> pd.DataFrame:
    """The leaderboard's numbers. Columns: translator, rank (empty for controls and unranked rows),
    control, tuned, n_splits, seeds; per metric ``<m>``, ``<m> sd``, ``<m> lo``, ``<m> hi`` (mean over
    the row's splits, sd over splits, the ``ci`` interval); the paired comparison on ``sort`` with
    ``baseline`` (``diff``, ``diff lo``, ``diff hi``, ``p_better``, ``crosses_zero``, ``baseline``,
    ``interval``); run_id; then ``ci`` (the per-translator interval's method), ``ranked_splits``
    (splits the rank is over, or ``n of N`` for an unranked row), ``skill`` and ``below_control``.
    The table's attrs hold ``sort``, the ranking note and the skill notes."""
    sort = catalogue.short_name(sort)
    metrics = results.metrics()
    compared = analysis.compare(results, baseline, sort, interval)
    ranking = analysis.ranking(results, sort)
    skills = analysis.skill(results, sort)
    rows = []
    for res in results:
        row: dict[str, object] = {
            "translator": res.label,
            "rank": ranking.rank(res.label),
            "control": res.control,
            "tuned": res.tuned,
            "n_splits": len(res.splits),
            "seeds": ",".join(str(s) for s in sorted(res.seeds)),
        }
        method = ""
        for metric in metrics:
            iv = analysis.interval(res, metric, ci)
            per = list(res.values.get(metric, {}).values())
            row[metric] = iv.estimate if iv else math.nan
            row[f"{metric} sd"] = float(pd.Series(per).std()) if len(per) > 1 else math.nan
            row[f"{metric} lo"] = iv.low if iv else math.nan
            row[f"{metric} hi"] = iv.high if iv else math.nan
            if metric == sort and iv is not None:
                method = iv.method
        comp = compared.get(res.label)
        score = skills.scores.get(res.label)
        partial = ranking.partial.get(res.label)
        row.update(
            {
                "diff": comp.difference.estimate if comp else math.nan,
                "diff lo": comp.difference.low if comp else math.nan,
                "diff hi": comp.difference.high if comp else math.nan,
                "p_better": comp.p_better.estimate if comp and comp.n_splits > 1 else math.nan,
                "crosses_zero": comp.crosses_zero if comp else None,
                "baseline": baseline if comp or res.label == baseline else "",
                "interval": comp.difference.method if comp else "",
                "run_id": res.run_id,
                "ci": method,
                "ranked_splits": f"{partial[0]} of {partial[1]}"
                if partial
                else ""
                if res.control
                else str(len(ranking.block)),
                "skill": score.mean if score else math.nan,
                "below_control": bool(score.below_control) if score else False,
            }
        )
        rows.append(row)
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    table["rank"] = table["rank"].astype("Int64")
    lower = catalogue.is_lower_better(sort)
    # ranked rows by rank; then unranked translators, then controls, each by their own mean
    table["_group"] = [0 if not pd.isna(r) else (2 if c else 1) for r, c in zip(table["rank"], table["control"])]
    table["_key"] = [r if not pd.isna(r) else (v if lower else -v) for r, v in zip(table["rank"], table[sort])]
    table = table.sort_values(["_group", "_key"], na_position="last", kind="stable").drop(columns=["_group", "_key"])
    table = table.reset_index(drop=True)
    table.attrs.update(sort=sort, ranking_note=ranking.note, skill_notes=skills.notes)
    return table


def _cell(row: pd.Series, metric: str, cell: str) -> str:
    mean = row.get(metric, math.nan)
    text = number(mean, metric)
    if text == DASH or catalogue.lookup(metric).unit:
        return text
    if cell == "ci" and not math.isnan(row.get(f"{metric} lo", math.nan)):
        return f"{text} [{number(row[f'{metric} lo'], metric)}, {number(row[f'{metric} hi'], metric)}]"
    sd = row.get(f"{metric} sd", math.nan)
    if cell == "sd" and not math.isnan(sd):
        return f"{text} ± {number(sd, metric)}"
    return text


def _rank_cell(row: pd.Series) -> str:
    if not pd.isna(row["rank"]):
        return str(row["rank"])
    if not row["control"] and str(row.get("ranked_splits", "")).count(" of "):
        n, _, m = str(row["ranked_splits"]).partition(" of ")
        return f"n={n}/{m}"
    return DASH


def _diff(row: pd.Series) -> str:
    if row["translator"] == row.get("baseline") and row.get("baseline"):
        return "(baseline)"
    if pd.isna(row.get("diff", math.nan)):
        return ""
    if math.isnan(row["diff lo"]):
        return f"{signed(row['diff'])} (n=1, no interval)"
    mark = "" if row["crosses_zero"] else " *"
    return f"{signed(row['diff'])} [{signed(row['diff lo'])}, {signed(row['diff hi'])}]{mark}"


def format_table(
    table: pd.DataFrame,
    fmt: Literal["table", "markdown", "csv"] = "table",
    *,
    columns: Sequence[str] = (),
    sort: str | None = None,
    cell: Literal["sd", "ci"] = "sd",
) -> str:
    """Render for people (aligned text or Markdown) or for tools (CSV: every number, full names).
    ``columns``: short metric names to show (default: the sort metric, then :data:`DEFAULT_COLUMNS`
    that were logged); columns equal on every row are left out. ``cell``: ``mean ± sd`` over outer
    splits, or ``mean [lo, hi]``. A footnote says what the cells, intervals and marks mean."""
    if fmt == "csv":
        return table.to_csv(index=False)
    from tabulate import tabulate

    sort = catalogue.short_name(sort or table.attrs.get("sort") or DEFAULT_SORT)
    chosen = [catalogue.short_name(c) for c in columns] or [sort, *[c for c in DEFAULT_COLUMNS if c != sort]]
    chosen = [c for c in chosen if c in table.columns]
    shown: dict[str, list[str]] = {"translator": list(table["translator"])}
    shown["#"] = [_rank_cell(row) for _, row in table.iterrows()]
    for metric in chosen:
        values = [_cell(row, metric, cell) for _, row in table.iterrows()]
        if len(values) > 1 and len(set(values)) == 1 and not columns:
            continue  # a constant column says nothing
        shown[catalogue.lookup(metric).short] = values
    has_skill = "skill" in table and table["skill"].notna().any()
    if has_skill:
        shown[f"skill({catalogue.lookup(sort).short})"] = [
            skill_cell(s, bool(b)) for s, b in zip(table["skill"], table["below_control"])
        ]
    has_diff = "diff" in table and table["diff"].notna().any()
    baseline = str(next((b for b in table.get("baseline", []) if b), ""))
    if has_diff:
        shown[f"Δ{catalogue.lookup(sort).short} vs {baseline}"] = [_diff(row) for _, row in table.iterrows()]
        if table["p_better"].notna().any():
            shown["P(better)"] = ["" if pd.isna(p) else f"{p:.2f}" for p in table["p_better"]]
    if table["tuned"].any():
        shown["tuned"] = ["yes" if t else "" for t in table["tuned"]]
    shown["run"] = [str(r)[:8] for r in table["run_id"]]
    text = tabulate(
        pd.DataFrame(shown),
        headers="keys",
        tablefmt="github" if fmt == "markdown" else "simple",
        showindex=False,
        disable_numparse=True,
    )
    return text + "\n" + footnote(table, sort, has_diff, has_skill, cell)


def footnote(table: pd.DataFrame, sort: str, has_diff: bool, has_skill: bool, cell: str) -> str:
    """What the cells, intervals, ranks and marks of a leaderboard mean, one line each."""
    n = sorted({int(v) for v in table["n_splits"]})
    splits = "/".join(map(str, n))
    notes = [f"ranked by {catalogue.describe(sort)}"]
    if n == [1]:
        notes.append("one outer split: n=1, no interval")
    elif cell == "ci":
        method = next((m for m in table.get("ci", []) if m), "t")
        notes.append(f"mean [{interval_label(method)}] over {splits} outer splits (seeds averaged within a split)")
    else:
        notes.append(f"mean ± sd over {splits} outer splits (seeds averaged within a split)")
    if table.attrs.get("ranking_note"):
        notes.append(table.attrs["ranking_note"])
    if has_skill:
        notes.append(
            "skill: 0 = the best anchoring control of the split (train_mean / class_mean), 1 = the truth; "
            "! = a control beats it"
        )
    notes += list(table.attrs.get("skill_notes", []))
    if has_diff and n != [1]:
        method = next((m for m in table["interval"] if m), "")
        notes.append(f"Δ: paired difference on shared splits, {interval_label(method)}; * = excludes 0")
    if table["control"].any():
        notes.append("controls (#: –) are reference rows, never ranked")
    return "\n".join(notes)
