"""What the runner writes with each run: the control status tag (read without importing plugins), the
sample sizes each job was really fitted and tested on, and resumed jobs' cost metrics aggregated."""

from pathlib import Path

import pytest

from omibench import api
from omibench.contract.registry import load_registry
from omibench.contract.translator import Translator
from omibench.run.runner import run_experiment
from omibench.store import MemoryStore, RunLevel, RunStatus, Tags, control_tag
from omibench.store.schema import TAG

from .conftest import small_experiment

FIXTURES = Path(__file__).parent / "fixtures" / "plugins"

RECORDER_PLUGIN = FIXTURES / "mean_refit" / "mean_refit.py"


def _prepare(write_config, tmp_path, **body):
    cfg = write_config(small_experiment(**body))
    prep, _, _ = api.prepare_experiment(cfg, store=tmp_path / "cache_store")
    return prep


def _runs(store, level):
    return store.search(store.experiment_id("t"), Tags(level=level))


# --- control status ------------------------------------------------------------------------------


def test_control_tag_values():
    assert control_tag(True, True) == "anchor"
    assert control_tag(True, False) == "reference"
    assert control_tag(False, True) == "no"
    assert control_tag(False, False) == "no"
    assert Tags(control="anchor").to_dict() == {f"{TAG}control": "anchor"}
    assert Tags.from_dict({f"{TAG}control": "reference"}).control == "reference"


def test_contract_declares_which_controls_anchor_the_skill_score():
    assert Translator.anchors_skill is True
    registry = load_registry()
    assert registry.translator("train_mean").control and registry.translator("train_mean").anchors_skill
    assert registry.translator("class_mean").control and registry.translator("class_mean").anchors_skill
    assert registry.translator("random_profile").control and not registry.translator("random_profile").anchors_skill
    assert not registry.translator("ridge").control


def test_control_status_is_tagged_on_summary_and_job_runs(write_config, tmp_path):
    prep = _prepare(
        write_config,
        tmp_path,
        seeds=[0, 1],
        translators=[{"name": "ridge"}, {"name": "sklearn"}],
        controls=["train_mean", "random_profile", "class_mean"],
    )
    store = MemoryStore(tmp_path / "s")
    outcomes = run_experiment(prep, store, executor="inline")
    assert all(o.status == "FINISHED" for o in outcomes), [o.error for o in outcomes]
    expected = {
        "ridge": "no",
        "sklearn": "no",
        "train_mean": "anchor",
        "class_mean": "anchor",
        "random_profile": "reference",
    }
    summaries = {r.label: r for r in _runs(store, RunLevel.SUMMARY)}
    assert set(summaries) == set(expected)
    for label, value in expected.items():
        assert summaries[label].tags.control == value, label
    seeds = _runs(store, RunLevel.SEED)
    assert {r.tags.label for r in seeds} >= {"sklearn", "random_profile"}  # the seed-dependent ones
    for run in seeds:
        assert run.tags.control == expected[run.tags.label], run.name


# --- sizes per job ---------------------------------------------------------------------------------


REPEATED = {"scheme": "repeated_holdout", "repeats": 3, "seed": 0, "val_fraction": 0.2, "test_fraction": 0.25}


def _sizes(run):
    return {k: int(run.params[k]) for k in ("n_train", "n_val", "n_test", "n_fit")}


def test_each_job_logs_the_sizes_of_its_own_outer_split(write_config, tmp_path):
    prep = _prepare(write_config, tmp_path, seeds=[0, 1], split=REPEATED, translators=[{"name": "sklearn"}])
    assert len(prep.splits) == 3
    store = MemoryStore(tmp_path / "s")
    assert [o.status for o in run_experiment(prep, store, executor="inline")] == ["FINISHED"]
    jobs = [r for r in _runs(store, RunLevel.SEED) if r.status is RunStatus.FINISHED]
    assert len(jobs) == 3 * 2
    for run in jobs:
        split = prep.splits[run.tags.outer_split]
        n = (len(split.train), len(split.val), len(split.test))
        assert _sizes(run) == {"n_train": n[0], "n_val": n[1], "n_test": n[2], "n_fit": n[0]}
    (summary,) = _runs(store, RunLevel.SUMMARY)
    assert int(summary.params["n_fit"]) == int(summary.params["n_train"]) == len(prep.splits[0].train)


def test_refit_jobs_are_fitted_on_training_plus_validation(write_config, tmp_path):
    plugins = tmp_path / "plug"
    plugins.mkdir()
    (plugins / "mean_refit.py").write_text(RECORDER_PLUGIN.read_text())
    prep = _prepare(
        write_config,
        tmp_path,
        split=REPEATED,
        refit="train+val",
        plugins_dir=str(plugins),
        translators=[{"name": "mean_refit"}],
    )
    store = MemoryStore(tmp_path / "s")
    outcomes = run_experiment(prep, store, executor="inline")
    assert [o.status for o in outcomes] == ["FINISHED"], [o.error for o in outcomes]
    jobs = _runs(store, RunLevel.SEED)
    assert sorted(r.tags.outer_split for r in jobs) == [0, 1, 2]
    for run in jobs:
        split = prep.splits[run.tags.outer_split]
        sizes = _sizes(run)
        assert sizes["n_train"] == len(split.train) and sizes["n_val"] == len(split.val) > 0
        assert sizes["n_test"] == len(split.test)
        assert sizes["n_fit"] == len(split.train) + len(split.val)
    (summary,) = _runs(store, RunLevel.SUMMARY)
    assert int(summary.params["n_fit"]) == len(prep.splits[0].train) + len(prep.splits[0].val)


def test_a_single_job_summary_logs_n_fit(write_config, tmp_path):
    prep = _prepare(write_config, tmp_path, translators=[{"name": "ridge"}])
    store = MemoryStore(tmp_path / "s")
    run_experiment(prep, store, executor="inline")
    (summary,) = _runs(store, RunLevel.SUMMARY)
    assert not _runs(store, RunLevel.SEED)  # the summary is the job run
    assert _sizes(summary) == {
        "n_train": len(prep.split.train),
        "n_val": len(prep.split.val),
        "n_test": len(prep.split.test),
        "n_fit": len(prep.split.train),
    }


# --- resume aggregates every result metric --------------------------------------------------------


def test_resume_aggregates_cost_metrics_of_jobs_finished_before_the_interruption(write_config, tmp_path):
    prep = _prepare(write_config, tmp_path, seeds=[0, 1, 2], translators=[{"name": "sklearn"}])
    store = MemoryStore(tmp_path / "s")
    run_experiment(prep, store, executor="inline")
    (summary,) = _runs(store, RunLevel.SUMMARY)
    seeds = sorted(store.seed_runs(summary.run_id), key=lambda r: r.tags.seed)
    # as if killed while seed 2 was being fitted: summary left RUNNING without its aggregate
    store.set_status(summary.run_id, RunStatus.RUNNING)
    store.runs[summary.run_id].metrics.clear()
    del store.runs[seeds[2].run_id]
    # marked values on the kept jobs, to see them in the mean
    for run, mark in zip(seeds[:2], (1000.0, 3000.0)):
        store.runs[run.run_id].metrics.update({"fit_cpu_s": mark, "peak_rss_mb": 10 * mark})
    assert [o.status for o in run_experiment(prep, store, executor="inline")] == ["FINISHED"]
    redone = [r for r in store.seed_runs(summary.run_id) if r.tags.seed == 2 and r.status is RunStatus.FINISHED]
    assert len(redone) == 1
    new = redone[0].metrics
    got = store.get_run(summary.run_id).metrics
    assert got["fit_cpu_s"] == pytest.approx((1000.0 + 3000.0 + new["fit_cpu_s"]) / 3)
    assert got["peak_rss_mb"] == pytest.approx((10000.0 + 30000.0 + new["peak_rss_mb"]) / 3)
    assert got["fit_cpu_s_std"] > 0
