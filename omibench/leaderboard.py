"""The leaderboard: finished summary runs read back from MLflow, one row per translator."""

from __future__ import annotations

from typing import Literal

import pandas as pd

from .metrics import LOWER_IS_BETTER, METRIC_NAMES
from .tracking import TAG, Tracker

__all__ = ["leaderboard", "format_table", "DEFAULT_SORT"]

DEFAULT_SORT = "median_r2_featurewise"
_SHORT = {
    "mse": "MSE", "rmse": "RMSE", "mean_ae": "MeanAE", "median_ae": "MedianAE",
    "mean_r2_samplewise": "meanR2s", "mean_r2_featurewise": "meanR2f", "median_r2_featurewise": "medianR2f",
    "count_r2_featurewise_gt_0.3": "#R2f>0.3", "pct_r2_featurewise_gt_0.3": "%R2f>0.3",
}


def leaderboard(tracker: Tracker, experiment: str, sort: str = DEFAULT_SORT, split_hash: str | None = None,
                dataset_hash: str | None = None, latest_only: bool = True) -> pd.DataFrame:
    """One row per translator label (the newest finished run unless ``latest_only=False``), sorted
    best first by the test metric ``sort``. Mean over seeds, with ``<metric> sd`` where seeds > 1.
    """
    if sort not in METRIC_NAMES:
        raise ValueError(f"unknown metric {sort!r}; choose one of {', '.join(METRIC_NAMES)}")
    runs = tracker.summary_runs(experiment)
    if runs.empty:
        return pd.DataFrame()
    for col, value in ((f"tags.{TAG}split_hash", split_hash), (f"tags.{TAG}dataset_hash", dataset_hash)):
        if value is not None and col in runs:
            runs = runs[runs[col] == value]
    if latest_only:
        runs = runs.drop_duplicates(subset=[f"tags.{TAG}label", f"tags.{TAG}split_hash"], keep="first")
    table = pd.DataFrame({
        "translator": runs[f"tags.{TAG}label"].values,
        "seeds": runs.get("params.seeds", pd.Series([""] * len(runs))).values,
    })
    multi_seed = any(str(s).count(",") > 0 for s in table["seeds"])
    for name in METRIC_NAMES:
        table[name] = runs.get(f"metrics.test/{name}", pd.Series([float("nan")] * len(runs))).values
        if multi_seed:
            table[f"{name} sd"] = runs.get(f"metrics.test/{name}_std", pd.Series([float("nan")] * len(runs))).values
    table["fit_time_s"] = runs.get("metrics.fit_time_s", pd.Series([float("nan")] * len(runs))).values
    table["split"] = runs[f"tags.{TAG}split_hash"].values
    table["run_id"] = runs["run_id"].values
    return table.sort_values(sort, ascending=sort in LOWER_IS_BETTER, na_position="last").reset_index(drop=True)


def format_table(table: pd.DataFrame, fmt: Literal["table", "markdown", "csv"] = "table") -> str:
    """Render for people (aligned text or Markdown, short metric headers) or for tools (CSV, full names)."""
    if fmt == "csv":
        return table.to_csv(index=False)
    names = {**_SHORT, **{f"{k} sd": f"{v} sd" for k, v in _SHORT.items()}}
    shown = table.drop(columns=["run_id"]).copy()
    count = "count_r2_featurewise_gt_0.3"
    shown[count] = shown[count].round().astype("Int64")
    shown = shown.rename(columns=names)
    from tabulate import tabulate

    return tabulate(shown, headers="keys", tablefmt="github" if fmt == "markdown" else "simple",
                    showindex=False, floatfmt=".4g")
