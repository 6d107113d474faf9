"""Several workers on one study: each ``omibench tune`` adds its own trials, never a repeated point."""

import os
import subprocess
import sys
import time

import optuna
import pytest

from omibench.run import trial_loop

from .conftest import small_experiment

# a translator whose every fit takes a while, so that two processes' trials overlap
SLOW_RIDGE = '''
import time

from omibench import hookimpl
from omibench_plugins.baselines import Ridge


class SlowRidge(Ridge):
    """Ridge that sleeps before each fit."""

    name = "slow_ridge"

    def fit(self, train, val, context):
        time.sleep(1.5)
        return super().fit(train, val, context)


@hookimpl
def omibench_register_translators(register):
    register(SlowRidge)
'''


def study_trials(store, name_part):
    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(store / "optuna.journal")))
    (summary,) = [s for s in optuna.get_all_study_summaries(storage) if name_part in s.study_name]
    return optuna.load_study(study_name=summary.study_name, storage=storage).trials


def _tune(cfg, store, plugins, *extra):
    cmd = [sys.executable, "-m", "omibench.cli", "tune", str(cfg), "--translator", "slow_ridge"]
    cmd += ["--store", str(store), "--plugins-dir", str(plugins)]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}  # the warnings a user sees
    return subprocess.Popen([*cmd, *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def test_two_processes_each_add_their_trials_and_no_worker_repeats_a_point(write_config, tmp_path):
    store, plugins = tmp_path / "store", tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "slow_ridge.py").write_text(SLOW_RIDGE)
    cfg = write_config(small_experiment(translators=[{"name": "slow_ridge"}]))
    started = time.monotonic()
    # one process with two workers (--jobs 2), one with one: three workers on the study
    procs = [_tune(cfg, store, plugins, "--trials", "4", "--wait", "60", *jobs) for jobs in (["--jobs", "2"], [])]
    outs = [p.communicate(timeout=300) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, out + err
        assert "ExperimentalWarning" not in err and "Warning:" not in err, err
    trials = study_trials(store, "t.slow_ridge.")
    complete = [t for t in trials if t.state.name == "COMPLETE"]
    assert len(complete) == 8, [(t.number, t.state.name) for t in trials]
    points = [tuple(sorted(t.params.items())) for t in trials if trial_loop.DUPLICATE_ATTR not in t.user_attrs]
    assert len(set(points)) == len(points)  # no point evaluated twice
    seeds = {t.user_attrs[trial_loop.SEED_ATTR] for t in complete}
    assert len(seeds) == 3  # one seed per worker, recorded on its trials
    print(f"two processes: {time.monotonic() - started:.1f} s")


def test_one_process_one_worker_keeps_the_seeded_points(tmp_path):
    """A single worker on a new study draws exactly what a plain TPESampler(seed) draws."""

    def objective(trial):
        return (trial.suggest_float("x", -3, 3) - 1) ** 2 + trial.suggest_int("k", 0, 9)

    plain = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=7))
    plain.optimize(objective, n_trials=12)
    ours = optuna.create_study(sampler=trial_loop.WorkerSampler(7))
    trial_loop.optimize(ours, objective, trial_loop.LocalBudget(12))
    assert [t.params for t in ours.trials] == [t.params for t in plain.trials]
    assert all(t.state.name == "COMPLETE" for t in ours.trials)


def test_workers_joining_a_study_get_their_own_seeds():
    assert trial_loop.worker_seed(5, 0) == 5
    seeds = {trial_loop.worker_seed(5, n) for n in range(50)} | {trial_loop.worker_seed(n, 0) for n in range(50)}
    assert len(seeds) == 99  # 5 at trial 0 once; no other collision, as seed + k would give
    study = optuna.create_study()
    first, second = trial_loop.WorkerSampler(0), trial_loop.WorkerSampler(0)
    for sampler in (first, second):  # two workers, each joins with its first trial
        study.sampler = sampler
        trial = study.ask()
        trial.suggest_float("x", 0, 1)
        study.tell(trial, 0.0)
    assert first.seed == 0 and second.seed not in (None, 0)
    assert study.trials[0].params != study.trials[1].params


def test_a_repeated_point_is_not_evaluated_and_a_spent_space_stops():
    evaluated = []

    def objective(trial):
        trial.suggest_categorical("k", ["a", "b", "c"])
        trial_loop.check_new_point(trial)
        evaluated.append(dict(trial.params))
        return 0.0

    study = optuna.create_study(sampler=trial_loop.WorkerSampler(0))
    budget = trial_loop.LocalBudget(10)
    trial_loop.optimize(study, objective, budget)  # 3 points exist; 10 asked
    complete = [t for t in study.trials if t.state.name == "COMPLETE"]
    assert sorted(t.params["k"] for t in complete) == ["a", "b", "c"] and len(evaluated) == 3
    repeats = [t for t in study.trials if trial_loop.DUPLICATE_ATTR in t.user_attrs]
    assert all(t.state.name == "FAIL" for t in repeats) and len(repeats) >= trial_loop.MAX_DUPLICATES
    assert budget.left == 7  # the repeats gave their slots back
    counts = trial_loop.trial_counts(study)
    assert counts == {"complete": 3, "pruned": 0, "failed": 0, "repeated": len(repeats)}


def test_the_tune_summary_counts_repeated_points_apart_from_failures(monkeypatch, tmp_path):
    """Trials closed as duplicates (``duplicate_of``) are skipped points, not failed trials."""
    from click.testing import CliRunner

    from omibench import api
    from omibench.cli import cli

    study = optuna.create_study(sampler=trial_loop.WorkerSampler(0))
    calls = []

    def objective(trial):
        trial.suggest_categorical("k", ["a", "b"])
        trial_loop.check_new_point(trial)
        calls.append(trial.number)
        if len(calls) == 1:
            raise ValueError("a real failure")  # once: a failed point may be tried again
        return 0.0

    trial_loop.optimize(study, objective, trial_loop.LocalBudget(60), catch=(ValueError,))
    counts = trial_loop.trial_counts(study)
    assert counts["complete"] == 2 and counts["failed"] == 1 and counts["repeated"] >= 1, counts
    best = study.best_trial
    monkeypatch.setattr(api, "stop_on_sigterm", lambda: None)
    monkeypatch.setattr(api, "tune", lambda *a, **k: api.TuneResult(study, "r1", {"k": "a"}, best.value, best.number))
    cfg = tmp_path / "x.yaml"
    cfg.write_text("name: x\n")
    result = CliRunner().invoke(cli, ["tune", str(cfg), "--translator", "t", "--trials", "60"])
    assert result.exit_code == 0, result.output
    assert (
        f"({counts['complete']} complete, 0 pruned, {counts['failed']} failed, "
        f"{counts['repeated']} repeated points skipped)" in result.output
    ), result.output


def test_shared_budget_hands_out_exactly_n_slots():
    import multiprocessing as mp

    budget = trial_loop.SharedBudget(3, mp.get_context("spawn"))
    assert [budget.claim() for _ in range(4)] == [True, True, True, False]
    budget.release()
    assert budget.claim() and not budget.claim()


@pytest.mark.parametrize("value", [float("nan"), "x"])
def test_an_objective_value_that_is_not_a_number_fails_the_trial(value):
    study = optuna.create_study(sampler=trial_loop.WorkerSampler(0))
    budget = trial_loop.LocalBudget(1)
    calls = []

    def objective(trial):
        calls.append(trial.suggest_float("x", 0, 1))
        if len(calls) == 1:
            return value
        return 1.0

    trial_loop.optimize(study, objective, budget)
    assert [t.state.name for t in study.trials] == ["FAIL", "COMPLETE"]  # the failed one gave its slot back


def test_a_translator_that_fails_everywhere_ends_the_worker_instead_of_looping():
    # failed trials give their slot back (the N are finished trials), so without a cap a
    # translator that fails at every point would loop forever without --timeout
    study = optuna.create_study()
    calls = []

    def objective(trial):
        calls.append(trial.suggest_float("x", 0, 1))
        raise FloatingPointError("diverged")

    trial_loop.optimize(study, objective, trial_loop.LocalBudget(3), catch=(FloatingPointError,))
    assert len(calls) == trial_loop.MAX_FAILURES
    assert all(t.state == optuna.trial.TrialState.FAIL for t in study.trials)
