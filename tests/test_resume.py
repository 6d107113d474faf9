"""Resume and interruption of the run loop, on the in-memory store (no SQLite): every state a
killed or interrupted run can leave behind is completed by a rerun, and an interruption never
turns a finished run into KILLED."""

import pytest

import omibench.run.jobs
import omibench.run.runner
from omibench import api
from omibench.run import interrupts as _interrupts
from omibench.run.runner import RunInterrupted, run_experiment
from omibench.store import MemoryStore, RunLevel, RunStatus, Tags

from .conftest import small_experiment

SEEDS = [0, 1, 2]
# seed-dependent translators: a seed-independent one (lasso, ridge) is fitted once, not per seed
SEEDED = [
    {"name": "sklearn"},
    {"name": "sklearn", "label": "sk2", "params": {"estimator": "sklearn.linear_model.LinearRegression"}},
]


@pytest.fixture
def prepared(write_config, tmp_path):
    cfg = write_config(small_experiment(seeds=SEEDS, translators=SEEDED))
    prep, _, _ = api.prepare_experiment(cfg, store=tmp_path / "cache_store")
    return prep


def _by_level(store, level, status=None):
    exp = store.experiment_id("t")
    return store.search(exp, Tags(level=level), status)


def _check_complete(store, n_translators=2, seeds=SEEDS):
    """One FINISHED summary per translator with one FINISHED run per seed; nothing RUNNING."""
    exp = store.experiment_id("t")
    assert not store.running_runs(exp)
    summaries = _by_level(store, RunLevel.SUMMARY, RunStatus.FINISHED)
    assert len(summaries) == n_translators
    per_translator = {}
    for summary in summaries:
        children = store.seed_runs(summary.run_id)
        finished = [r for r in children if r.status is RunStatus.FINISHED]
        assert sorted(r.tags.seed for r in finished) == list(seeds)  # each seed finished exactly once
        per_translator[summary.label] = summary.metrics
    return per_translator


def _test_metrics(metrics):
    return {k: v for k, v in metrics.items() if k.startswith("test/")}


@pytest.fixture
def reference(prepared, tmp_path):
    """Metrics of an uninterrupted run."""
    store = MemoryStore(tmp_path / "ref")
    outcomes = run_experiment(prepared, store, executor="inline")
    assert [o.status for o in outcomes] == ["FINISHED", "FINISHED"]
    return {label: _test_metrics(m) for label, m in _check_complete(store).items()}


def _same(store, reference):
    got = {label: _test_metrics(m) for label, m in _check_complete(store).items()}
    assert got == reference


def test_rerun_of_a_finished_experiment_skips_everything(prepared, tmp_path, reference):
    store = MemoryStore(tmp_path / "s")
    run_experiment(prepared, store, executor="inline")
    n_runs = len(store.runs)
    outcomes = run_experiment(prepared, store, executor="inline")
    assert [o.status for o in outcomes] == ["SKIPPED", "SKIPPED"]
    assert len(store.runs) == n_runs
    _same(store, reference)


@pytest.mark.parametrize("left", [RunStatus.RUNNING, RunStatus.KILLED, RunStatus.FAILED])
def test_all_seeds_finished_but_summary_open_is_closed_without_running_anything(prepared, tmp_path, reference, left):
    """The KeyError case: 0 jobs to submit, the summary must still be closed."""
    store = MemoryStore(tmp_path / "s")
    run_experiment(prepared, store, executor="inline")
    for summary in _by_level(store, RunLevel.SUMMARY):
        store.set_status(summary.run_id, left)
        store.runs[summary.run_id].metrics.clear()  # its aggregate was never logged
    n_runs = len(store.runs)
    outcomes = run_experiment(prepared, store, executor="inline")
    assert [o.status for o in outcomes] == ["FINISHED", "FINISHED"]
    assert len(store.runs) == n_runs  # no job ran again
    _same(store, reference)


def test_partial_seeds_resume_only_the_missing_ones(prepared, tmp_path, reference):
    store = MemoryStore(tmp_path / "s")
    run_experiment(prepared, store, executor="inline")
    exp = store.experiment_id("t")
    for summary in _by_level(store, RunLevel.SUMMARY):
        store.set_status(summary.run_id, RunStatus.RUNNING)  # SIGKILL: the summary left RUNNING
        seeds = store.seed_runs(summary.run_id)
        store.set_status(seeds[1].run_id, RunStatus.RUNNING)  # seed 1 was being fitted
        del store.runs[seeds[2].run_id]  # seed 2 never started
    kept = {r.run_id for r in _by_level(store, RunLevel.SEED, RunStatus.FINISHED)}
    run_experiment(prepared, store, executor="inline")
    _same(store, reference)
    finished_seeds = {r.run_id for r in _by_level(store, RunLevel.SEED, RunStatus.FINISHED)}
    assert kept < finished_seeds and len(finished_seeds - kept) == 4  # seeds 1 and 2 of both translators
    stale = store.search(exp, Tags(level=RunLevel.SEED, seed=1), RunStatus.FAILED)
    assert len(stale) == 2  # the runs left RUNNING by the dead process are marked FAILED, not reused


def test_single_seed_stale_run_is_failed_and_redone(write_config, tmp_path):
    cfg = write_config(small_experiment())
    prep, _, _ = api.prepare_experiment(cfg, store=tmp_path / "c")
    store = MemoryStore(tmp_path / "s")
    run_experiment(prep, store, executor="inline")
    (lasso,) = [r for r in _by_level(store, RunLevel.SUMMARY) if r.label == "lasso"]
    store.set_status(lasso.run_id, RunStatus.RUNNING)
    outcomes = run_experiment(prep, store, executor="inline")
    assert [o.status for o in outcomes] == ["SKIPPED", "FINISHED"]
    assert store.get_run(lasso.run_id).status is RunStatus.FAILED
    assert not store.running_runs(store.experiment_id("t"))


def _interrupt_at(monkeypatch, point, nth):
    calls = {"n": 0}

    def fault(name):
        if name == point:
            calls["n"] += 1
            if calls["n"] == nth:
                _interrupts.mark()  # as Ctrl-C does (a translator's own KeyboardInterrupt fails its job alone)
                raise KeyboardInterrupt

    monkeypatch.setattr(omibench.run.jobs, "fault_point", fault)
    monkeypatch.setattr(omibench.run.runner, "fault_point", fault)


@pytest.mark.parametrize("point, nth", [("fit", 2), ("fit", 5), ("seed_recorded", 3), ("seed_recorded", 6)])
def test_interruption_keeps_finished_runs_and_a_rerun_completes(prepared, tmp_path, reference, monkeypatch, point, nth):
    store = MemoryStore(tmp_path / "s")
    _interrupt_at(monkeypatch, point, nth)
    with pytest.raises(RunInterrupted) as info:
        run_experiment(prepared, store, executor="inline")
    exp = store.experiment_id("t")
    assert not store.running_runs(exp)
    finished_before = {r.run_id for r in store.search(exp, status=RunStatus.FINISHED)}
    seed_done = nth if point == "seed_recorded" else nth - 1
    assert len([r for r in finished_before if store.get_run(r).tags.level is RunLevel.SEED]) == seed_done
    assert "rerun the same command" in info.value.summary()
    monkeypatch.undo()
    run_experiment(prepared, store, executor="inline")
    _same(store, reference)
    for run_id in finished_before:  # finished work was kept, not redone
        assert store.get_run(run_id).status is RunStatus.FINISHED


def test_stop_if_running_never_touches_a_finished_run(tmp_path):
    store = MemoryStore(tmp_path)
    exp = store.experiment_id("e")
    done, live = store.create_run(exp, "a", Tags()), store.create_run(exp, "b", Tags())
    store.end_run(done)
    assert store.stop_if_running([done, live, "unknown"]) == [live]
    assert store.get_run(done).status is RunStatus.FINISHED
    assert store.get_run(live).status is RunStatus.KILLED
