"""The leaderboard over outer splits, on a hand-built MemoryStore: intervals equal the stats functions."""

from __future__ import annotations

import numpy as np
import pytest

from omibench.api import leaderboard_of as leaderboard
from omibench.errors import ConfigError
from omibench.report.leaderboard import format_table
from omibench.stats.intervals import corrected_t_interval, mean_interval, prob_better
from omibench.store import RunLevel, RunStatus, Tags
from omibench.store.memory import MemoryStore

SPLITS = [f"split{i}" for i in range(5)]
SIZES = {"n_train": "60", "n_val": "20", "n_test": "20"}


def fabricate(
    store: MemoryStore,
    label: str,
    per_split: list[float],
    *,
    seeds: tuple[int, ...] = (0, 1),
    control: bool = False,
    downstream: bool = False,
    experiment: str = "exp",
    tuned: bool = False,
) -> str:
    """A summary run with one child per (outer split, seed); seed s shifts the value by +-0.01."""
    exp = store.experiment_id(experiment)
    assert exp is not None
    tags = Tags(
        level=RunLevel.SUMMARY,
        label=label,
        translator=label,
        tuned_from="study" if tuned else None,
        control="reference" if control else "no",
    )
    parent = store.create_run(exp, label, tags)
    store.log_params(parent, {**SIZES, "seeds": ",".join(map(str, seeds))})
    for split, value in zip(SPLITS[: len(per_split)], per_split, strict=True):
        for i, seed in enumerate(seeds):
            shift = 0.01 * (1 if i % 2 else -1) if len(seeds) > 1 else 0.0
            child = store.create_run(
                exp,
                f"{label} {split} {seed}",
                Tags(level=RunLevel.SEED, label=label, split_hash=split, seed=seed),
                parent_id=parent,
            )
            metrics = {"test/median_r2_featurewise": value + shift, "test/mse": 1 - value, "fit_time_s": 0.0002}
            if downstream:
                metrics["downstream/accuracy"] = 0.8
            store.log_metrics(child, metrics)
            store.end_run(child)
    store.log_metrics(parent, {"test/median_r2_featurewise": float(np.mean(per_split))})
    store.end_run(parent, RunStatus.FINISHED)
    return parent


RIDGE = [0.40, 0.42, 0.38, 0.41, 0.39]
STACK = [0.43, 0.44, 0.40, 0.45, 0.41]
LASSO = [0.38, 0.42, 0.35, 0.41, 0.39]


@pytest.fixture()
def store() -> MemoryStore:
    st = MemoryStore()
    fabricate(st, "ridge", RIDGE)
    fabricate(st, "stack", STACK)
    fabricate(st, "lasso", LASSO)
    fabricate(st, "random_profile", [0.0, 0.01, -0.01, 0.0, 0.02], control=True)
    return st


def test_intervals_match_stats_functions(store):
    table = leaderboard(store, "exp").set_index("translator")
    # the corrected interval with the sizes fitted on (n_train: refit none); seeds (+-0.01) average out
    expected = mean_interval(STACK, n_fit=60, n_test=20)
    assert table.loc["stack", "median_r2_featurewise"] == pytest.approx(expected.estimate)
    assert table.loc["stack", "median_r2_featurewise lo"] == pytest.approx(expected.low)
    assert table.loc["stack", "median_r2_featurewise hi"] == pytest.approx(expected.high)
    assert table.loc["stack", "median_r2_featurewise sd"] == pytest.approx(np.std(STACK, ddof=1))
    diff, _ = corrected_t_interval(np.subtract(STACK, RIDGE), 60.0, 20.0)  # n_fit = n_train (refit: none)
    assert table.loc["stack", "diff"] == pytest.approx(diff.estimate)
    assert (table.loc["stack", "diff lo"], table.loc["stack", "diff hi"]) == pytest.approx((diff.low, diff.high))
    assert bool(table.loc["stack", "crosses_zero"]) is diff.crosses_zero
    p = prob_better(STACK, RIDGE, lower_is_better=False)
    assert table.loc["stack", "p_better"] == pytest.approx(p.estimate)
    assert table.loc["stack", "n_splits"] == 5


def test_bootstrap_interval_option(store):
    table = leaderboard(store, "exp", interval="bootstrap").set_index("translator")
    assert table.loc["lasso", "interval"] == "bootstrap"
    corrected = leaderboard(store, "exp").set_index("translator")
    assert table.loc["lasso", "diff lo"] != corrected.loc["lasso", "diff lo"]


def test_controls_never_ranked(store):
    table = leaderboard(store, "exp")
    control = table[table["translator"] == "random_profile"].iloc[0]
    assert bool(control["control"]) and control["rank"] is pd_na() and np.isnan(control["diff"])
    ranked = table[~table["control"]]
    assert list(ranked["translator"]) == ["stack", "ridge", "lasso"]
    assert list(ranked["rank"]) == [1, 2, 3]
    assert table["translator"].iloc[-1] == "random_profile"
    text = format_table(table)
    assert "never ranked" in text


def pd_na():
    import pandas as pd

    return pd.NA


def test_lower_is_better_sort(store):
    table = leaderboard(store, "exp", sort="mse")
    ranked = table[~table["control"]]
    assert list(ranked["mse"]) == sorted(ranked["mse"])


def test_single_split_shows_no_interval():
    st = MemoryStore()
    fabricate(st, "ridge", [0.40], seeds=(0,))
    fabricate(st, "stack", [0.43], seeds=(0,))
    table = leaderboard(st, "exp").set_index("translator")
    assert np.isnan(table.loc["stack", "median_r2_featurewise lo"])
    assert table.loc["stack", "diff"] == pytest.approx(0.03)
    text = format_table(leaderboard(st, "exp"))
    assert "n=1, no interval" in text
    assert "±" not in text and "[" not in text


def test_sort_validated_before_work(store, monkeypatch):
    def no_work(*args, **kwargs):
        raise AssertionError("children read before --sort was checked")

    monkeypatch.setattr("omibench.results.load", no_work)
    with pytest.raises(ConfigError, match="median_r2_featurewise") as err:
        leaderboard(store, "exp", sort="nonsense")
    assert "\n" not in str(err.value)
    with pytest.raises(ConfigError, match="--columns"):
        leaderboard(store, "exp", columns=["bogus"])


def test_any_logged_metric_sorts(store):
    table = leaderboard(store, "exp", sort="fit_time_s")
    assert not table.empty


def test_resource_columns_show_and_sort_lowest_first():
    st = MemoryStore()
    exp = st.experiment_id("exp")
    assert exp is not None
    for label, mb in (("ridge", 900.0), ("lasso", 300.0), ("knn", 600.0)):
        run = st.create_run(exp, label, Tags(level=RunLevel.SUMMARY, label=label, translator=label))
        st.log_metrics(run, {"test/median_r2_featurewise": 0.1, "peak_rss_mb": mb, "fit_cpu_s": mb / 100})
        st.end_run(run, RunStatus.FINISHED)
    table = leaderboard(st, "exp", sort="peak_rss_mb", columns=["fit_cpu_s"])
    assert list(table["translator"]) == ["lasso", "knn", "ridge"]
    assert table["fit_cpu_s"].tolist() == [3.0, 6.0, 9.0]


def test_quickstart_table_fits_120_columns():
    st = MemoryStore()
    for label, value in [
        ("ridge", 0.40),
        ("lasso", 0.38),
        ("linear_regression", 0.2),
        ("pcr", 0.35),
        ("knn", 0.3),
        ("train_mean", 0.0),
        ("omitrans_fc", 0.36),
    ]:
        fabricate(st, label, [value], seeds=(0, 1, 2), downstream=True)
    text = format_table(leaderboard(st, "exp"))
    width = max(len(line) for line in text.splitlines())
    assert width <= 120, text
    assert "<0.01 s" not in text  # a constant column is dropped
    st5 = MemoryStore()
    for label, values in [("ridge", RIDGE), ("stack", STACK), ("lasso", LASSO)]:
        fabricate(st5, label, values, downstream=True)
    text5 = format_table(leaderboard(st5, "exp"))
    assert max(len(line) for line in text5.splitlines()) <= 120, text5
    assert "±" in text5 and "P(better)" in text5


def test_columns_choice_and_ci_cells(store):
    table = leaderboard(store, "exp", columns=["mse"])
    text = format_table(table, columns=["mse"], cell="ci")
    header = text.splitlines()[0]
    assert "MSE" in header and "medianR2f" not in header.split("Δ")[0]
    assert "[" in text.splitlines()[2]


def test_tuned_marker_and_short_run_id():
    st = MemoryStore()
    fabricate(st, "ridge", RIDGE)
    parent = fabricate(st, "lasso", LASSO, tuned=True)
    lines = format_table(leaderboard(st, "exp")).splitlines()
    assert "tuned" in lines[0]
    lasso = next(line for line in lines if line.startswith("lasso"))
    ridge = next(line for line in lines if line.startswith("ridge"))
    assert " yes " in lasso and " yes " not in ridge
    assert parent[:8] in lasso
