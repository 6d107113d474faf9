"""The one read path (omibench.results) and what the tables built on it may claim (issues 26 and 28):
directions from the catalogue, ranks on matched splits, intervals with the fitted sizes, controls from
the run's own tag on every path, skill against the best control, stores of older versions read back."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from omibench import api, results
from omibench.report import tables
from omibench.report.cohorts import cross_cohort
from omibench.report.leaderboard import format_table, frame
from omibench.report.mlflow_page import board_markdown
from omibench.results import analysis
from omibench.stats import mean_interval
from omibench.stats.ranks import holm_min_datasets
from omibench.store import MemoryStore, MlflowStore, RunLevel, RunStatus, Tags

from .conftest import small_experiment

LEGACY = Path(__file__).parent / "fixtures" / "legacy_store"


def job_runs(
    store: MemoryStore,
    label: str,
    per_split: dict[str, dict[str, float]],
    *,
    control: str = "no",
    sizes: tuple[int, int, int] | None = (60, 20, 20),
    refit: bool = False,
    experiment: str = "exp",
    translator: str | None = None,
    summary_split: str | None = None,
) -> str:
    """A summary with one job per outer split, as today's runner writes them: metrics per split,
    sizes per job (n_train, n_val, n_test; n_fit = n_train, or + n_val after a refit)."""
    exp = store.experiment_id(experiment)
    assert exp is not None
    tags = Tags(
        level=RunLevel.SUMMARY, label=label, translator=translator or label, control=control, split_hash=summary_split
    )
    parent = store.create_run(exp, label, tags)
    for split, metrics in per_split.items():
        job = store.create_run(exp, f"{label} {split}", Tags(level=RunLevel.SEED, split_hash=split, seed=0), parent)
        if sizes is not None:
            n_train, n_val, n_test = sizes
            fit = n_train + n_val if refit else n_train
            store.log_params(job, {"n_train": n_train, "n_val": n_val, "n_test": n_test, "n_fit": fit})
        store.log_metrics(job, {key(k): v for k, v in metrics.items()})
        store.end_run(job)
    names = {k for m in per_split.values() for k in m}
    means = {key(k): float(np.mean([m[k] for m in per_split.values() if k in m])) for k in names}
    store.log_metrics(parent, means)  # what a summary logs: the mean over its jobs
    store.end_run(parent, RunStatus.FINISHED)
    return parent


def key(name: str) -> str:
    return name if name.startswith(("downstream/", "fit_")) else f"test/{name}"


def on(values: list[float], metric: str = "median_r2_featurewise", start: int = 0) -> dict[str, dict[str, float]]:
    return {f"s{i + start}": {metric: v} for i, v in enumerate(values)}


# --- 1. cost metrics go the right way -------------------------------------------------------------
def test_cost_metrics_sort_and_compare_lowest_first():
    st = MemoryStore()
    job_runs(st, "ridge", {f"s{i}": {"fit_time_s": 0.08 + 0.001 * i, "median_r2_featurewise": 0.3} for i in range(5)})
    job_runs(st, "lasso", {f"s{i}": {"fit_time_s": 21.0 + i, "median_r2_featurewise": 0.31} for i in range(5)})
    table = api.leaderboard_of(st, "exp", sort="fit_time_s").set_index("translator")
    assert table.loc["ridge", "rank"] == 1 and table.loc["lasso", "rank"] == 2  # the faster one first
    assert table.loc["lasso", "p_better"] < 0.5 and table.loc["lasso", "diff"] > 0
    assert "fit time (lower is better)" in format_table(table.reset_index())
    for metric in ("predict_time_s", "fit_cpu_s", "peak_rss_mb", "peak_gpu_mb", "mse"):
        assert results.analysis.catalogue.is_lower_better(metric)


# --- 2. matched splits ------------------------------------------------------------------------------
def test_a_translator_on_fewer_splits_is_not_ranked_above_one_that_beats_it_on_every_shared_split():
    st = MemoryStore()
    ridge = [0.30, 0.30, 0.30, 0.18, 0.18, 0.18, 0.18, 0.18, 0.18, 0.18]  # mean 0.216
    job_runs(st, "ridge", on(ridge))
    job_runs(st, "easy", on([0.28, 0.28, 0.28]))  # 0.28 > 0.216, yet 0.02 worse on each of its 3 splits
    table = api.leaderboard_of(st, "exp")
    ranked = table.dropna(subset=["rank"])
    assert list(ranked["translator"]) == ["ridge"]
    easy = table.set_index("translator").loc["easy"]
    assert pd.isna(easy["rank"]) and easy["ranked_splits"] == "3 of 10"
    assert easy["diff"] == pytest.approx(-0.02)  # still compared with ridge, on the 3 splits both ran
    text = format_table(table)
    assert "n=3/10" in text and "easy: n = 3 of 10, not ranked" in text
    # the paper's tables and the MLflow page rank the same way
    rs = results.load(st, "exp")
    assert analysis.ranking(rs, "median_r2_featurewise").order == ["ridge"]
    assert "not ranked: easy (n=3/10)" in board_markdown(rs, "median_r2_featurewise", "exp").splitlines()[0]


def test_without_a_complete_translator_all_are_ranked_on_the_splits_they_share():
    st = MemoryStore()
    job_runs(st, "a", on([0.5, 0.1, 0.1]))  # s0, s1, s2
    job_runs(st, "b", on([0.2, 0.2, 0.9], start=1))  # s1, s2, s3
    job_runs(st, "c", {"s1": {"median_r2_featurewise": 0.3}, "s2": {"median_r2_featurewise": 0.3}, "s9": {"mse": 1}})
    ranking = analysis.ranking(results.load(st, "exp"), "median_r2_featurewise")
    assert ranking.block == ["s1", "s2"] and ranking.order == ["c", "b", "a"]
    assert "ranked on the 2 they all ran" in ranking.note


def test_friedman_across_cohorts_uses_each_cohorts_matched_block():
    st = MemoryStore()
    for cohort in ("c1", "c2", "c3"):
        job_runs(st, "ridge", on([0.30, 0.18, 0.18, 0.18]), experiment=cohort)
        job_runs(st, "knn", on([0.25, 0.17, 0.17, 0.17]), experiment=cohort)
        job_runs(st, "easy", on([0.29]), experiment=cohort)  # one split only: never mixed in
    cross = cross_cohort([results.load(st, c) for c in ("c1", "c2", "c3")])
    assert list(cross.ranks["translator"]) == ["ridge", "knn"]
    assert any("easy" in note for note in cross.notes)


# --- 3. intervals with the sizes really fitted on -------------------------------------------------------
@pytest.mark.parametrize("refit", [False, True])
def test_the_corrected_interval_uses_the_fitted_sizes_of_each_split(refit):
    st = MemoryStore()
    values = [0.40, 0.42, 0.38, 0.41, 0.39]
    job_runs(st, "ridge", on(values), sizes=(60, 20, 20), refit=refit)
    res = results.load(st, "exp").get("ridge")
    assert res is not None
    iv = analysis.interval(res, "median_r2_featurewise")
    expected = mean_interval(values, n_fit=80 if refit else 60, n_test=20)
    assert iv is not None and iv.method == "corrected_t"
    assert (iv.low, iv.high) == pytest.approx((expected.low, expected.high))
    plain = analysis.interval(res, "median_r2_featurewise", "plain")
    assert plain is not None and plain.method == "t" and plain.high - plain.low < iv.high - iv.low
    table = api.leaderboard_of(st, "exp", columns=["median_r2_featurewise"])
    assert "corrected resampled t" in format_table(table, cell="ci")


def test_sizes_are_kept_per_split_in_merged_summaries():
    st = MemoryStore()
    job_runs(st, "ridge", {"s0": {"mse": 1.0}}, sizes=(60, 20, 20), summary_split="s0")
    job_runs(st, "ridge", {"s1": {"mse": 2.0}}, sizes=(90, 10, 30), summary_split="s1")  # older: a summary per split
    res = results.load(st, "exp").get("ridge")
    assert res is not None and res.sizes == {"s0": (60.0, 20.0), "s1": (90.0, 30.0)}
    assert res.fitted_sizes() == (75.0, 25.0)


# --- 4. controls, from the run's own tag, on every path --------------------------------------------------
def test_controls_are_never_ranked_through_any_path():
    st = MemoryStore()
    job_runs(st, "ridge", on([0.3, 0.3, 0.3]))
    job_runs(st, "my_floor", on([0.9, 0.9, 0.9]), control="anchor", translator="my_floor")  # not a registered name
    runs = st.summaries("exp")
    for rs in (results.load(st, "exp"), results.from_summaries(None, runs), results.from_summaries(st, runs)):
        assert [r.label for r in rs.controls] == ["my_floor"]
        assert analysis.ranking(rs, "median_r2_featurewise").order == ["ridge"]
        table = frame(rs, "median_r2_featurewise")
        assert table.set_index("translator").loc["my_floor", "rank"] is pd.NA
        assert tables.metric_table(rs, ["median_r2_featurewise"], "median_r2_featurewise")["#"].tolist() == ["1", "–"]
    assert "controls (not ranked): my_floor" in board_markdown(results.load(st, "exp"), "median_r2_featurewise", "e")


def test_reading_results_imports_neither_plugins_nor_torch(tmp_path):
    code = (
        "import sys\n"
        "from omibench import results\n"
        "from omibench.report.leaderboard import frame\n"
        "from omibench.store import MemoryStore\n"
        "st = MemoryStore()\n"
        "results.load(st, 'exp')\n"
        "loaded = ('torch', 'omibench_plugins', 'omibench.contract.registry')\n"
        "print(*(name in sys.modules for name in loaded))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False", "False"]


def test_the_leaderboard_command_on_a_store_of_this_version_does_not_import_torch(write_config, tmp_path):
    cfg = write_config(small_experiment(translators=[{"name": "ridge"}, {"name": "train_mean"}]))
    store = tmp_path / "store"
    api.run(cfg, store=store, executor="inline")
    code = (
        "import sys\n"
        "from omibench.cli import main\n"
        f"sys.argv = ['omibench', 'leaderboard', 't', '--store', {str(store)!r}]\n"
        "try:\n    main()\nexcept SystemExit as exc:\n    assert not exc.code, exc.code\n"
        "print('TORCH', 'torch' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "train_mean" in done.stdout and "TORCH False" in done.stdout


# --- 5. skill against the best control -------------------------------------------------------------------
def test_a_translator_below_class_mean_gets_a_negative_skill_and_a_flag():
    st = MemoryStore()
    job_runs(st, "krr", on([0.032, 0.03, 0.034]))
    job_runs(st, "ridge", on([0.20, 0.21, 0.19]))
    job_runs(st, "class_mean", on([0.072, 0.07, 0.074]), control="anchor")
    job_runs(st, "train_mean", on([-0.004, -0.003, -0.005]), control="anchor")
    job_runs(st, "random_profile", on([-1.0, -0.9, -1.1]), control="reference")  # never anchors
    rs = results.load(st, "exp")
    skills = analysis.skill(rs, "median_r2_featurewise")
    krr = skills.scores["krr"]
    assert krr.mean == pytest.approx(
        np.mean([(v - c) / (1 - c) for v, c in ((0.032, 0.072), (0.03, 0.07), (0.034, 0.074))])
    )
    assert krr.mean < 0 and krr.below_control and not skills.scores["ridge"].below_control
    table = api.leaderboard_of(st, "exp")
    assert table.set_index("translator").loc["krr", "below_control"]
    assert "!" in format_table(table).split("krr", 1)[1].splitlines()[0]
    t1 = tables.metric_table(rs, ["median_r2_featurewise"], "median_r2_featurewise").set_index("translator")
    assert t1.loc["krr", "skill(medianR2f)"].endswith("!")
    cohorts = [results.load(st, "exp"), results.load(st, "exp")]
    cohorts[1].experiment = "exp2"
    cross = cross_cohort(cohorts)
    assert bool(cross.skill.set_index("translator").loc["krr", "below control"])


def test_a_degenerate_control_is_said_not_turned_into_a_number():
    st = MemoryStore()
    job_runs(st, "ridge", on([0.2, 0.2]))
    job_runs(st, "oracle", on([1.0, 1.0]), control="anchor")  # the best control scores the ideal value
    skills = analysis.skill(results.load(st, "exp"), "median_r2_featurewise")
    assert math_isnan(skills.scores["ridge"].mean) and skills.notes


def math_isnan(value: float) -> bool:
    return value != value


# --- 6. a store written before results/ reads back as it did ------------------------------------------
@pytest.fixture()
def legacy_store(tmp_path) -> MlflowStore:
    shutil.copy(LEGACY / "mlflow.db", tmp_path / "mlflow.db")
    return MlflowStore(tmp_path)


def test_a_store_of_the_previous_version_reads_back_identically(legacy_store):
    """``collect.json``: what the previous version's reader returned for this store (per-split values,
    seeds, labels, run ids, control flags), written with it before the read path was replaced."""
    before = {r["label"]: r for r in json.loads((LEGACY / "collect.json").read_text())}
    now = results.load(legacy_store, "legacy")
    assert [r.label for r in now] == list(before)
    for res in now:
        old = before[res.label]
        assert (res.run_id, res.translator, res.control, res.tuned) == (
            old["run_id"],
            old["translator"],
            old["control"],
            old["tuned"],
        )
        assert sorted(res.seeds) == old["seeds"]
        assert res.values.keys() == old["values"].keys()
        for metric, per in old["values"].items():
            assert res.values[metric] == pytest.approx(per, rel=1e-12)
        assert res.sizes  # the summary's sizes stand in for the jobs' (written before n_fit)


def test_leaderboard_csv_keeps_its_columns(legacy_store):
    """The CSV keeps every column of the previous version (same order); new columns come after run_id."""
    table = api.leaderboard_of(legacy_store, "legacy")
    header = format_table(table, "csv").splitlines()[0].split(",")
    before = (LEGACY / "leaderboard_columns_v1.csv").read_text().strip().split(",")
    assert header[: len(before)] == before
    assert header[len(before) :] == ["ci", "ranked_splits", "skill", "below_control"]


# --- 7. honest cross-cohort notes --------------------------------------------------------------------------
def _cohorts(store: MemoryStore, names: tuple[str, ...], spread: float) -> list[results.ResultSet]:
    rng = np.random.default_rng(1)
    for cohort in names:
        for label, base in (("ridge", 0.30), ("knn", 0.30 - spread), ("pcr", 0.30 - 2 * spread)):
            job_runs(store, label, on(list(base + rng.normal(0, 0.01, 4))), experiment=cohort)
    return [results.load(store, c) for c in names]


def test_critical_difference_groups_are_drawn_only_when_friedman_rejects(monkeypatch):
    drawn = []
    monkeypatch.setattr(
        "omibench.report.cohorts.critical_difference_figure", lambda *a, cliques, **k: drawn.append(cliques) or b""
    )
    cross = cross_cohort(_cohorts(MemoryStore(), ("a", "b", "c"), spread=0.0))  # no real difference
    assert drawn == [[], []] and any("no groups are drawn" in n for n in cross.notes)
    drawn.clear()
    cross = cross_cohort(_cohorts(MemoryStore(), tuple("abcdefgh"), spread=0.1))  # the same order everywhere
    assert any(drawn) and not any("no groups are drawn" in n for n in cross.notes)


def test_the_minimum_n_for_wilcoxon_holm_is_stated_and_directions_are_not_mixed():
    st = MemoryStore()
    cross = cross_cohort(_cohorts(st, ("a", "b", "c", "d"), spread=0.1))
    need = holm_min_datasets(3)  # 3 translators, 3 pairs: 2 / 2**N <= 0.05 / 3 from N = 7 on
    assert need == 7 and any(f"only from {need} experiments on; with 4 it cannot" in n for n in cross.notes)
    with pytest.raises(Exception, match="one direction"):
        cross_cohort([results.load(st, "a"), results.load(st, "a_reverse")])
