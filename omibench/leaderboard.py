"""The leaderboard: one row per translator, each metric as its mean over outer splits with an interval,
and a paired comparison of every translator with a reference (default ``ridge``).

:func:`leaderboard` returns the numbers (a DataFrame, full metric names: what ``--format csv`` writes);
:func:`format_table` renders them for a terminal (one ``mean ± sd`` cell per metric, chosen columns,
no constant columns, short headers, times as ``<0.01 s``) or Markdown. Controls (translators whose
class sets ``control = True``, or runs tagged ``control``) are reference rows at the bottom, never
ranked or compared.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal, cast

import pandas as pd

from ._errors import ConfigError
from .metrics import METRIC_NAMES
from .store import Run, Store
from .uncertainty import IntervalMethod, TranslatorResults, collect, comparisons, is_lower_better, logged_metrics

__all__ = [
    "DEFAULT_BASELINE",
    "DEFAULT_COLUMNS",
    "DEFAULT_SORT",
    "SHORT_NAMES",
    "check_metric",
    "format_table",
    "leaderboard",
    "runs_table",
]

DEFAULT_SORT = "median_r2_featurewise"
DEFAULT_BASELINE = "ridge"
DEFAULT_COLUMNS = (
    "median_r2_featurewise",
    "mse",
    "mean_r2_samplewise",
    "downstream/accuracy",
    "downstream/f1",
    "fit_time_s",
)
SHORT_NAMES = {
    "mse": "MSE",
    "rmse": "RMSE",
    "mean_ae": "MeanAE",
    "median_ae": "MedianAE",
    "mean_r2_samplewise": "meanR2s",
    "mean_r2_featurewise": "meanR2f",
    "median_r2_featurewise": "medianR2f",
    "count_r2_featurewise_gt_0.3": "#R2f>0.3",
    "pct_r2_featurewise_gt_0.3": "%R2f>0.3",
    "fit_time_s": "fit time",
    "predict_time_s": "predict time",
    "downstream/accuracy": "acc",
    "downstream/precision": "prec",
    "downstream/recall": "recall",
    "downstream/f1": "F1",
    "downstream/auc": "AUC",
}


def _short(metric: str) -> str:
    return SHORT_NAMES.get(metric, metric.removeprefix("downstream/"))


def check_metric(name: str, available: Sequence[str], what: str = "--sort") -> str:
    """``name`` as a short metric name (``test/mse`` -> ``mse``) if it was logged; else a ConfigError
    listing the logged ones."""
    short = name.removeprefix("test/")
    if short not in available:
        raise ConfigError(f"{what} {name!r} is not a logged metric; choose one of {', '.join(available)}")
    return short


def leaderboard(
    store: Store,
    experiment: str,
    sort: str = DEFAULT_SORT,
    split_hash: str | None = None,
    dataset_hash: str | None = None,
    latest_only: bool = True,
    *,
    baseline: str = DEFAULT_BASELINE,
    interval: IntervalMethod = "corrected_t",
    columns: Sequence[str] = (),
) -> pd.DataFrame:
    """One row per translator label (its newest finished summary; every summary with
    ``latest_only=False``), best first by the test metric ``sort`` (mean over outer splits). ``sort``
    and ``columns`` are checked against the metrics the runs logged before anything else is read."""
    runs = store.summaries(experiment, split_hash, dataset_hash)
    if not runs:
        return pd.DataFrame()
    # the summaries, plus the jobs of the newest one (a summary need not repeat its jobs' metrics)
    newest = store.search(runs[0].experiment_id, parent_id=runs[0].run_id)
    available = logged_metrics([*runs, *newest])
    sort = check_metric(sort, available)
    for column in columns:
        check_metric(column, available, "--columns")
    return runs_table(runs, sort, latest_only, store=store, baseline=baseline, interval=interval)


def runs_table(
    runs: list[Run],
    sort: str = DEFAULT_SORT,
    latest_only: bool = True,
    *,
    store: Store | None = None,
    baseline: str = DEFAULT_BASELINE,
    interval: IntervalMethod = "corrected_t",
) -> pd.DataFrame:
    """The leaderboard of summary runs ``runs`` (newest first). Without ``store`` every summary is
    its own single job (its logged means). Columns: translator, rank (empty for controls), control,
    tuned, n_splits, seeds; per metric ``<m>``, ``<m> sd``, ``<m> lo``, ``<m> hi``; the paired
    comparison on ``sort`` with ``baseline`` (``diff``, ``diff lo``, ``diff hi``, ``p_better``,
    ``crosses_zero``, ``baseline``, ``interval``); run_id."""
    if not runs:
        return pd.DataFrame()
    if store is None:
        from .uncertainty import results_of

        no_children = cast(Store, _NoChildren())  # results_of only calls search()
        results = [results_of(no_children, run, frozenset()) for run in runs]
        if latest_only:
            results = list({r.label: r for r in reversed(results)}.values())[::-1]
    else:
        results = collect(store, runs, latest_only=latest_only)
    return _frame(results, sort, baseline, interval)


class _NoChildren:
    """Stands in for a store when only the summary runs are at hand."""

    def search(self, *args: object, **kwargs: object) -> list[Run]:
        return []


def _frame(results: list[TranslatorResults], sort: str, baseline: str, interval: IntervalMethod) -> pd.DataFrame:
    nan = math.nan
    metrics = sorted({m for r in results for m in r.values}, key=_metric_order)
    compared = comparisons(results, baseline, sort, interval)
    rows = []
    for res in results:
        row: dict[str, object] = {
            "translator": res.label,
            "control": res.control,
            "tuned": res.tuned,
            "n_splits": len(res.splits),
            "seeds": ",".join(str(s) for s in sorted(res.seeds)),
        }
        for metric in metrics:
            iv = res.interval(metric)
            row[metric] = iv.estimate if iv else nan
            row[f"{metric} sd"] = res.sd(metric)
            row[f"{metric} lo"] = iv.low if iv else nan
            row[f"{metric} hi"] = iv.high if iv else nan
        comp = compared.get(res.label)
        row.update(
            diff=comp.difference.estimate if comp else nan,
            **{"diff lo": comp.difference.low if comp else nan, "diff hi": comp.difference.high if comp else nan},
            p_better=comp.p_better.estimate if comp and comp.n_splits > 1 else nan,
            crosses_zero=comp.crosses_zero if comp else None,
            baseline=baseline if comp or res.label == baseline else "",
            interval=comp.difference.method if comp else "",
            run_id=res.run_id,
        )
        rows.append(row)
    table = pd.DataFrame(rows)
    table = table.sort_values(
        ["control", sort], ascending=[True, is_lower_better(sort)], na_position="last", kind="stable"
    ).reset_index(drop=True)
    ranked = ~table["control"].astype(bool)
    table.insert(1, "rank", pd.Series([pd.NA] * len(table), dtype="Int64"))
    table.loc[ranked, "rank"] = range(1, int(ranked.sum()) + 1)
    table.attrs["sort"] = sort
    return table


def _metric_order(metric: str) -> tuple[int, str]:
    if metric in METRIC_NAMES:
        return 0, f"{METRIC_NAMES.index(metric):02d}"
    return (1 if metric.startswith("downstream/") else 2), metric


# --- rendering ------------------------------------------------------------------------------------------
def _number(value: float, metric: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if metric.endswith("_time_s"):
        if value < 0.01:
            return "<0.01 s"
        return f"{value:.2f} s" if value < 60 else f"{value / 60:.1f} min"
    if metric.startswith("count_"):
        return f"{value:.0f}"
    if abs(value) >= 1000:
        return f"{value:.0f}"
    return f"{value:.3f}" if abs(value) >= 0.01 or value == 0 else f"{value:.2g}"


def _cell(row: pd.Series, metric: str, cell: str) -> str:
    mean = row.get(metric, math.nan)
    text = _number(mean, metric)
    if text == "–" or metric.endswith("_time_s"):
        return text
    if cell == "ci" and not math.isnan(row.get(f"{metric} lo", math.nan)):
        return f"{text} [{_number(row[f'{metric} lo'], metric)}, {_number(row[f'{metric} hi'], metric)}]"
    sd = row.get(f"{metric} sd", math.nan)
    if cell == "sd" and not math.isnan(sd):
        return f"{text} ± {_number(sd, metric)}"
    return text


def _signed(value: float) -> str:
    return f"{value:+.3f}" if abs(value) >= 0.01 or value == 0 else f"{value:+.2g}"


def _diff_cell(row: pd.Series) -> str:
    if row["translator"] == row.get("baseline") and row.get("baseline"):
        return "(baseline)"
    diff = row.get("diff", math.nan)
    if diff is None or math.isnan(diff):
        return ""
    if math.isnan(row["diff lo"]):
        return f"{_signed(diff)} (n=1, no interval)"
    mark = "" if row["crosses_zero"] else " *"
    return f"{_signed(diff)} [{_signed(row['diff lo'])}, {_signed(row['diff hi'])}]{mark}"


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
    splits, or ``mean [lo, hi]`` (95% t interval). A footnote says what the cells and marks mean."""
    if fmt == "csv":
        return table.to_csv(index=False)
    from tabulate import tabulate

    sort = (sort or table.attrs.get("sort") or DEFAULT_SORT).removeprefix("test/")
    chosen = [c.removeprefix("test/") for c in columns] or [sort, *[c for c in DEFAULT_COLUMNS if c != sort]]
    chosen = [c for c in chosen if c in table.columns]
    shown: dict[str, list[str]] = {"translator": list(table["translator"])}
    shown["#"] = ["–" if pd.isna(r) else str(r) for r in table["rank"]]
    for metric in chosen:
        values = [_cell(row, metric, cell) for _, row in table.iterrows()]
        if len(values) > 1 and len(set(values)) == 1 and not columns:
            continue  # a constant column says nothing
        shown[_short(metric)] = values
    has_diff = table["diff"].notna().any() if "diff" in table else False
    baseline = str(next((b for b in table.get("baseline", []) if b), ""))
    if has_diff:
        shown[f"Δ{_short(sort)} vs {baseline}"] = [_diff_cell(row) for _, row in table.iterrows()]
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
    return text + "\n" + _footnote(table, has_diff, cell)


def _footnote(table: pd.DataFrame, has_diff: bool, cell: str) -> str:
    n = sorted({int(v) for v in table["n_splits"]})
    if n == [1]:
        what = "one outer split: n=1, no interval"
    elif cell == "ci":
        what = f"mean [95% t interval] over {'/'.join(map(str, n))} outer splits (seeds averaged within a split)"
    else:
        what = f"mean ± sd over {'/'.join(map(str, n))} outer splits (seeds averaged within a split)"
    notes = [what]
    if has_diff and n != [1]:
        method = next((m for m in table["interval"] if m), "")
        notes.append(f"Δ: paired difference, 95% {method.replace('_', ' ')} interval; * = interval excludes 0")
    if table["control"].any():
        notes.append("controls (#: –) are reference rows, never ranked")
    return "\n".join(notes)
