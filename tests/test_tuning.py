"""Tuning with a real Optuna journal storage and a real MLflow store."""

import os
import signal
import subprocess
import sys
import time

import optuna
import pytest
from click.testing import CliRunner

from omibench.cli import cli
from omibench.store import TAG
from omibench.store import MlflowStore as Tracker

from .conftest import small_experiment

TINY_TD = {"hidden": 8, "epochs": 12, "batch_size": 16}


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def study_trials(store, name_part):
    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(store / "optuna.journal")))
    (summary,) = [s for s in optuna.get_all_study_summaries(storage) if name_part in s.study_name]
    return optuna.load_study(study_name=summary.study_name, storage=storage).trials


def test_lasso_study_continues_and_feeds_a_normal_run(write_config, tmp_path):
    store = tmp_path / "store"
    cfg = write_config(small_experiment())
    first = invoke(
        "tune", cfg, "--translator", "lasso", "--trials", "3", "--store", store, "--export", tmp_path / "best.yaml"
    )
    assert first.exit_code == 0, first.output
    assert len(study_trials(store, "t.lasso.")) == 3
    again = invoke("tune", cfg, "--translator", "lasso", "--trials", "2", "--store", store)
    assert again.exit_code == 0
    trials = study_trials(store, "t.lasso.")
    assert len(trials) == 5 and all(t.state.name == "COMPLETE" for t in trials)
    best = min(trials, key=lambda t: t.value)

    tracker = Tracker(store)
    # the study is mirrored in an experiment of its own: the translators' page is the leaderboard
    assert tracker.client.get_experiment_by_name("t") is None
    runs = tracker.client.search_runs([tracker.client.get_experiment_by_name("t/tune/lasso").experiment_id])
    levels = [r.data.tags[f"{TAG}level"] for r in runs]
    assert levels.count("study") == 1 and levels.count("trial") == 5  # synced once each
    parent = next(r for r in runs if r.data.tags[f"{TAG}level"] == "study")
    assert float(parent.data.tags["best.alpha"]) == best.params["alpha"]
    assert parent.data.metrics["best_val_mse"] == best.value
    assert "alpha: " in (tmp_path / "best.yaml").read_text()

    scored = invoke(
        "run", cfg, "--store", store, "--tuned", "--set", "translators=[{name: lasso, params: {n_alphas: 3}}]"
    )
    assert scored.exit_code == 0, scored.output
    exp = tracker.client.get_experiment_by_name("t")
    run = next(
        r for r in tracker.client.search_runs([exp.experiment_id]) if r.data.tags.get(f"{TAG}level") == "summary"
    )
    assert float(run.data.params["alpha"]) == best.params["alpha"]
    assert run.data.tags[f"{TAG}tuned_from"].startswith("t.lasso.")

    plain = invoke("run", cfg, "--store", store, "--set", "translators=[{name: ridge}]")
    assert plain.exit_code == 0, plain.output
    assert invoke("report", "t", "--store", store, "--out", tmp_path / "report").exit_code == 0
    rows: dict[str, str] = {}
    for line in (tmp_path / "report" / "report.md").read_text().splitlines():
        cells = [c.strip() for c in line.split("|")]
        if len(cells) > 2 and cells[2] in ("lasso", "ridge"):  # | # | translator | ...
            rows.setdefault(cells[2], cells)  # Table 1 comes first
    assert "yes" in rows["lasso"] and "no" in rows["ridge"]  # Table 1 says which rows were tuned
    reports = tracker.client.search_runs([tracker.client.get_experiment_by_name("t/report").experiment_id])
    assert [r.data.tags[f"{TAG}level"] for r in reports] == ["report"]
    levels = {r.data.tags[f"{TAG}level"] for r in tracker.client.search_runs([exp.experiment_id])}
    assert levels == {"summary"}  # the translators' experiment: translator runs only


def test_pruning_stops_poor_neural_trials(write_config, tmp_path):
    store = tmp_path / "store"
    cfg = write_config(small_experiment(translators=[{"name": "tdimpute", "params": TINY_TD}]))
    result = invoke("tune", cfg, "--translator", "tdimpute", "--trials", "12", "--store", store, "--seed", "1")
    assert result.exit_code == 0, result.output
    trials = study_trials(store, "t.tdimpute.")
    pruned = [t for t in trials if t.state.name == "PRUNED"]
    assert pruned, [t.state.name for t in trials]
    assert all(max(t.intermediate_values) < TINY_TD["epochs"] for t in pruned)  # stopped early
    tracker = Tracker(store)
    exp = tracker.client.get_experiment_by_name("t/tune/tdimpute")
    killed = tracker.client.search_runs([exp.experiment_id], filter_string="attributes.status = 'KILLED'")
    assert len(killed) == len(pruned)


def test_time_budget_prunes_a_trial_still_training(write_config, tmp_path):
    store = tmp_path / "store"
    endless = {**TINY_TD, "epochs": 100_000}
    cfg = write_config(small_experiment(translators=[{"name": "tdimpute", "params": endless}]))
    started = time.monotonic()
    result = invoke("tune", cfg, "--translator", "tdimpute", "--trials", "5", "--timeout", "2", "--store", store)
    assert time.monotonic() - started < 60  # not 100,000 epochs
    assert result.exit_code != 0 and "no trial completed" in result.output
    (trial,) = study_trials(store, "t.tdimpute.")
    assert trial.state.name == "PRUNED" and trial.user_attrs["pruned_by"] == "time budget"
    assert 0 < max(trial.intermediate_values) < endless["epochs"]
    tracker = Tracker(store)
    (run,) = tracker.client.search_runs(
        [tracker.client.get_experiment_by_name("t/tune/tdimpute").experiment_id],
        filter_string=f"tags.`{TAG}level` = 'trial'",
    )
    assert run.info.status == "KILLED" and run.data.tags[f"{TAG}pruned_by"] == "time budget"  # visible in MLflow


@pytest.mark.slow  # ~110 s: two worker processes, each trial held to a 30 s budget
def test_time_budget_holds_for_parallel_workers(write_config, tmp_path):
    store = tmp_path / "store"
    endless = {**TINY_TD, "epochs": 100_000}
    cfg = write_config(small_experiment(translators=[{"name": "tdimpute", "params": endless}]))
    started = time.monotonic()
    result = invoke(
        "tune", cfg, "--translator", "tdimpute", "--trials", "4", "--jobs", "2", "--timeout", "30", "--store", store
    )
    assert time.monotonic() - started < 150  # workers start in ~10 s, each trial stops at 30 s
    assert result.exit_code != 0 and "no trial completed" in result.output
    trials = study_trials(store, "t.tdimpute.")
    assert trials and all(t.user_attrs.get("pruned_by") == "time budget" for t in trials)


def test_killed_study_resumes_without_losing_trials(write_config, tmp_path):
    store = tmp_path / "store"
    slow = {**TINY_TD, "epochs": 60}
    cfg = write_config(small_experiment(translators=[{"name": "tdimpute", "params": slow}]))
    cmd = [
        sys.executable,
        "-m",
        "omibench.cli",
        "tune",
        str(cfg),
        "--translator",
        "tdimpute",
        "--trials",
        "100",
        "--store",
        str(store),
        "--pruner",
        "none",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ})
    deadline = time.time() + 120
    journal = store / "optuna.journal"
    while time.time() < deadline:
        if journal.exists() and sum(t.state.name == "COMPLETE" for t in study_trials(store, "t.tdimpute.")) >= 2:
            break
        time.sleep(0.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = study_trials(store, "t.tdimpute.")
    complete_before = {t.number for t in before if t.state.name == "COMPLETE"}
    assert len(complete_before) >= 2
    result = invoke("tune", cfg, "--translator", "tdimpute", "--trials", "2", "--store", store, "--pruner", "none")
    assert result.exit_code == 0, result.output
    after = study_trials(store, "t.tdimpute.")
    complete_after = {t.number for t in after if t.state.name == "COMPLETE"}
    assert complete_before < complete_after and len(complete_after) == len(complete_before) + 2


def test_parallel_workers_share_one_study(write_config, tmp_path):
    store = tmp_path / "store"
    cfg = write_config(small_experiment())
    result = invoke("tune", cfg, "--translator", "lasso", "--trials", "4", "--jobs", "2", "--store", store)
    assert result.exit_code == 0, result.output
    trials = study_trials(store, "t.lasso.")
    assert sum(t.state.name == "COMPLETE" for t in trials) >= 4


def test_translator_without_search_space(write_config, tmp_path):
    cfg = write_config(small_experiment())
    result = invoke("tune", cfg, "--translator", "linear_regression", "--trials", "2", "--store", tmp_path / "s")
    assert result.exit_code == 2 and "declares no search space" in result.output


def test_cv_tuning_scores_folds_of_train_and_val_never_test(write_config, tmp_path):
    import numpy as np
    import pytest

    from omibench import api
    from omibench.errors import ConfigError
    from omibench.run.tuning import TuneRequest, _cv_folds, run_trials

    cfg = write_config(small_experiment(translators=[{"name": "ridge"}]))
    prepared, dirs, _ = api.prepare_experiment(cfg, store=tmp_path / "store")
    folds = _cv_folds(prepared, 3)
    pool = set(prepared.train.sample_ids.tolist()) | set(prepared.val.sample_ids.tolist())
    vals = [set(v.sample_ids.tolist()) for _, v in folds]
    assert set().union(*vals) == pool and sum(map(len, vals)) == len(pool)  # each pooled row validates once
    for train, val in folds:
        ids = set(train.sample_ids.tolist()) | set(val.sample_ids.tolist())
        assert ids == pool and not ids & set(prepared.test.sample_ids.tolist())

    request = TuneRequest(str(cfg), (), tuple(dirs), "ridge", store=str(tmp_path / "store"), cv=3)
    study = run_trials(request, prepared, prepared.translators[0], 2, None, 1)
    for trial in study.trials:
        assert len(trial.user_attrs["cv_scores"]) == 3
        assert trial.value == pytest.approx(float(np.mean(trial.user_attrs["cv_scores"])))
    plain = TuneRequest(str(cfg), (), tuple(dirs), "ridge", store=str(tmp_path / "store"))
    with pytest.raises(ConfigError, match="--cv 3"):  # a study's trials are scored one way only
        run_trials(plain, prepared, prepared.translators[0], 1, None, 1)
