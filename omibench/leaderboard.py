"""The leaderboard: finished summary runs read back from MLflow, one row per translator."""

from __future__ import annotations

from typing import Literal

import pandas as pd

from .metrics import LOWER_IS_BETTER, METRIC_NAMES
from .store import Run, Store

__all__ = ["DEFAULT_SORT", "SHORT_NAMES", "format_table", "leaderboard", "runs_table"]

DEFAULT_SORT = "median_r2_featurewise"
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
}


def leaderboard(
    store: Store,
    experiment: str,
    sort: str = DEFAULT_SORT,
    split_hash: str | None = None,
    dataset_hash: str | None = None,
    latest_only: bool = True,
) -> pd.DataFrame:
    """One row per translator label (the newest finished run unless ``latest_only=False``), sorted
    best first by the test metric ``sort``. Mean over seeds, with ``<metric> sd`` where seeds > 1.
    """
    if sort not in METRIC_NAMES:
        raise ValueError(f"unknown metric {sort!r}; choose one of {', '.join(METRIC_NAMES)}")
    return runs_table(store.summaries(experiment, split_hash, dataset_hash), sort, latest_only)


def runs_table(runs: list[Run], sort: str = DEFAULT_SORT, latest_only: bool = True) -> pd.DataFrame:
    """The leaderboard of summary runs ``runs`` (newest first)."""
    if latest_only:
        seen: set[tuple[str, str | None]] = set()
        kept = []
        for run in runs:
            if (run.label, run.tags.split_hash) not in seen:
                seen.add((run.label, run.tags.split_hash))
                kept.append(run)
        runs = kept
    if not runs:
        return pd.DataFrame()
    nan = float("nan")
    table = pd.DataFrame({"translator": [r.label for r in runs], "seeds": [r.params.get("seeds", "") for r in runs]})
    multi_seed = any(str(s).count(",") > 0 for s in table["seeds"])
    for name in METRIC_NAMES:
        table[name] = [r.metrics.get(f"test/{name}", nan) for r in runs]
        if multi_seed:
            table[f"{name} sd"] = [r.metrics.get(f"test/{name}_std", nan) for r in runs]
    table["fit_time_s"] = [r.metrics.get("fit_time_s", nan) for r in runs]
    table["split"] = [r.tags.split_hash for r in runs]
    table["run_id"] = [r.run_id for r in runs]
    return table.sort_values(sort, ascending=sort in LOWER_IS_BETTER, na_position="last").reset_index(drop=True)


def format_table(table: pd.DataFrame, fmt: Literal["table", "markdown", "csv"] = "table") -> str:
    """Render for people (aligned text or Markdown, short metric headers) or for tools (CSV, full names)."""
    if fmt == "csv":
        return table.to_csv(index=False)
    names = {**SHORT_NAMES, **{f"{k} sd": f"{v} sd" for k, v in SHORT_NAMES.items()}}
    shown = table.drop(columns=["run_id"]).copy()
    count = "count_r2_featurewise_gt_0.3"
    shown[count] = shown[count].round().astype("Int64")
    shown = shown.rename(columns=names)
    from tabulate import tabulate

    return tabulate(
        shown, headers="keys", tablefmt="github" if fmt == "markdown" else "simple", showindex=False, floatfmt=".4g"
    )
