"""Outer resampling in the run loop: k-fold outer splits disjoint and stratified, one fit per split
for a seed-independent translator, chosen settings logged, refit on train+val only, resume."""

import json
from collections import Counter
from pathlib import Path

import pytest

from omibench import api
from omibench.run.runner import run_experiment
from omibench.store import MemoryStore, RunLevel, RunStatus, Tags

from .conftest import small_experiment

FOLDS = 3
KFOLD = {"scheme": "kfold", "folds": FOLDS, "repeats": 1, "seed": 0, "val_fraction": 0.2}

RECORDER = Path(__file__).parent / "fixtures" / "plugins" / "recorder"  # logs each fit's sample ids to $SEEN_FILE


def _prepare(write_config, tmp_path, **body):
    cfg = write_config(small_experiment(**body))
    prep, _, _ = api.prepare_experiment(cfg, store=tmp_path / "cache_store")
    return prep


def _children(store, level=RunLevel.SEED):
    return store.search(store.experiment_id("t"), Tags(level=level))


def test_kfold_outer_splits_disjoint_stratified_and_one_fit_per_split(write_config, tmp_path):
    prep = _prepare(write_config, tmp_path, seeds=[0, 1], split=KFOLD, translators=[{"name": "ridge"}])
    assert len(prep.splits) == FOLDS
    tests = [set(s.test) for s in prep.splits]
    for i in range(FOLDS):
        for j in range(i + 1, FOLDS):
            assert not tests[i] & tests[j]
    assert set().union(*tests) == set(prep.raw.sample_ids.tolist())  # every sample tested once
    label = dict(zip(prep.raw.sample_ids.tolist(), prep.raw.labels.tolist()))
    overall = Counter(label.values())
    for t in tests:  # stratified: each class's share of a fold within one sample of its expectation
        counts = Counter(label[s] for s in t)
        for cls, n in overall.items():
            assert abs(counts[cls] - n / FOLDS) <= 1
    for s in prep.splits:
        assert not (set(s.train) | set(s.val)) & set(s.test)

    store = MemoryStore(tmp_path / "s")
    outcomes = run_experiment(prep, store, executor="inline")
    assert [o.status for o in outcomes] == ["FINISHED"]
    jobs = [r for r in _children(store) if r.status is RunStatus.FINISHED]
    # ridge is seed-independent: one fit per outer split, not one per (split, seed)
    assert sorted(r.tags.outer_split for r in jobs) == list(range(FOLDS))
    assert {r.tags.split_hash for r in jobs} == {s.hash for s in prep.splits}
    summary = _children(store, RunLevel.SUMMARY)[0]
    assert summary.tags.n_splits == FOLDS and summary.tags.seeds_fitted == "0"
    assert summary.params["seed_dependent"] == "False"
    # every chosen setting is logged: per job as param and metric, per job list on the summary
    for r in jobs:
        assert "chosen.alpha" in r.params and "chosen.alpha" in r.metrics
        assert float(r.params["chosen.alpha"]) == pytest.approx(r.metrics["chosen.alpha"])
    assert len(json.loads(summary.params["chosen.alpha"].replace("'", '"'))) == FOLDS
    r2 = [r.metrics["test/median_r2_featurewise"] for r in jobs]
    assert summary.metrics["test/median_r2_featurewise"] == pytest.approx(sum(r2) / FOLDS)
    # pictures for the first outer split only; tables and predictions for every split
    for r in jobs:
        files = set(store.artifact_paths(r.run_id, "results"))
        assert "results/r2_per_gene.csv" in files and "results/predictions_test.parquet" in files
        assert ("results/r2_histograms.png" in files) is (r.tags.outer_split == 0), (r.tags.outer_split, files)


def test_preprocessing_fitted_per_outer_split(write_config, tmp_path):
    """Each split's parts are scaled with its own training rows (no leakage from its test rows)."""
    from omibench.run.preparation import for_split

    prep = _prepare(write_config, tmp_path, split=KFOLD, translators=[{"name": "ridge"}], preprocess={"impute": "mean"})
    other = for_split(prep, 1)
    assert other.preprocessor is not prep.preprocessor
    assert other.split == prep.splits[1]
    assert set(other.test.sample_ids.tolist()) == set(prep.splits[1].test)
    assert set(other.train.sample_ids.tolist()) == set(prep.splits[1].train)


def test_refit_never_sees_test_rows(write_config, tmp_path, monkeypatch):
    plugins = RECORDER
    seen = tmp_path / "seen.jsonl"
    monkeypatch.setenv("SEEN_FILE", str(seen))
    prep = _prepare(
        write_config,
        tmp_path,
        split=KFOLD,
        refit="train+val",
        plugins_dir=str(plugins),
        translators=[{"name": "recorder"}],
    )
    store = MemoryStore(tmp_path / "s")
    assert [o.status for o in run_experiment(prep, store, executor="inline")] == ["FINISHED"]
    fits = [json.loads(line) for line in seen.read_text().splitlines()]
    assert len(fits) == 2 * FOLDS  # selection fit + refit per outer split
    for i, split in enumerate(prep.splits):
        first, refit = fits[2 * i], fits[2 * i + 1]
        assert set(first["train"]) == set(split.train)
        assert set(refit["train"]) == set(split.train) | set(split.val)  # training + validation rows
        assert not set(refit["train"]) & set(split.test)
    jobs = _children(store)
    assert all(r.params.get("chosen.refit.shift") == "0.5" for r in jobs)


def test_refit_refused_for_a_translator_that_cannot(write_config, tmp_path):
    from omibench.errors import ConfigError

    with pytest.raises(ConfigError, match="refit"):
        _prepare(write_config, tmp_path, refit="train+val", translators=[{"name": "linear_regression"}])


def test_resume_across_outer_splits(write_config, tmp_path):
    prep = _prepare(write_config, tmp_path, split=KFOLD, translators=[{"name": "ridge"}])
    store = MemoryStore(tmp_path / "s")
    run_experiment(prep, store, executor="inline")
    summary = _children(store, RunLevel.SUMMARY)[0]
    jobs = sorted(_children(store), key=lambda r: r.tags.outer_split)
    # as if killed after split 0 finished: split 1's run died, split 2 never started, summary open
    store.set_status(summary.run_id, RunStatus.RUNNING)
    store.set_status(jobs[1].run_id, RunStatus.KILLED)
    store.runs.pop(jobs[2].run_id)
    outcomes = run_experiment(prep, store, executor="inline")
    assert [o.status for o in outcomes] == ["FINISHED"]
    finished = [r for r in _children(store) if r.status is RunStatus.FINISHED]
    assert sorted(r.tags.outer_split for r in finished) == list(range(FOLDS))  # each split once
    assert jobs[0].run_id in {r.run_id for r in finished}  # split 0 was kept, not redone
    assert store.get_run(summary.run_id).status is RunStatus.FINISHED


def test_holdout_default_keeps_the_single_split_and_its_keys(write_config, tmp_path):
    prep = _prepare(write_config, tmp_path, translators=[{"name": "ridge"}])
    assert len(prep.splits) == 1 and prep.raw is None
    plan = prep.translators[0]
    assert plan.split_keys == (plan.key,)


def test_ridge_refit_pins_the_alpha_chosen_on_validation(write_config, tmp_path):
    tdimpute = {"name": "tdimpute", "params": {"hidden": 8, "epochs": 4, "batch_size": 16, "select": "best_val"}}
    prep = _prepare(
        write_config,
        tmp_path,
        refit="train+val",
        translators=[{"name": "ridge"}, {"name": "knn"}, {"name": "krr"}, tdimpute],
    )
    store = MemoryStore(tmp_path / "s")
    outcomes = run_experiment(prep, store, executor="inline")
    assert [o.status for o in outcomes] == ["FINISHED"] * 4, [o.error for o in outcomes]
    runs = {r.label: r for r in _children(store, RunLevel.SUMMARY)}
    assert float(runs["ridge"].params["chosen.refit.alpha"]) == pytest.approx(
        float(runs["ridge"].params["chosen.alpha"])
    )
    assert float(runs["knn"].params["chosen.refit.k"]) == float(runs["knn"].params["chosen.k"])
    assert json.loads(runs["krr"].params["chosen.refit.bandwidths"]) == [float(runs["krr"].params["chosen.bandwidth"])]
    assert float(runs["tdimpute"].params["chosen.refit.epochs"]) == float(runs["tdimpute"].params["chosen.best_epoch"])


def test_editing_a_plugin_file_changes_its_job_key(write_config, tmp_path, monkeypatch):
    import sys

    plugins = tmp_path / "plug"
    plugins.mkdir()
    source = (RECORDER / "recorder.py").read_text()
    (plugins / "recorder.py").write_text(source)  # a copy: the test edits it
    body = {"plugins_dir": str(plugins), "translators": [{"name": "recorder"}, {"name": "ridge"}]}
    first = _prepare(write_config, tmp_path, **body).translators
    (plugins / "recorder.py").write_text(source + "\n# a change\n")
    for name in [m for m in sys.modules if "recorder" in m]:  # the registry imports the file afresh
        monkeypatch.delitem(sys.modules, name)
    second = _prepare(write_config, tmp_path, **body).translators
    assert first[0].key != second[0].key  # the edited plugin reruns
    assert first[1].key == second[1].key  # ridge's code did not change


def test_outer_splits_through_the_process_executor(write_config, tmp_path):
    """Forked jobs build their own split's parts; results match the inline executor's."""
    prep = _prepare(write_config, tmp_path, split=KFOLD, translators=[{"name": "ridge"}])
    inline, forked = MemoryStore(tmp_path / "a"), MemoryStore(tmp_path / "b")
    run_experiment(prep, inline, executor="inline")
    run_experiment(prep, forked, executor="process")

    def by_split(store):
        return {r.tags.outer_split: r.metrics["test/mse"] for r in _children(store)}

    assert by_split(forked) == pytest.approx(by_split(inline))
    assert len(by_split(forked)) == FOLDS
