"""Tuning studies and reports are kept out of the translators' experiment (its page is the leaderboard)."""

from types import SimpleNamespace

import optuna

from omibench.run.tuning import sync_to_mlflow
from omibench.store import MemoryStore, RunLevel, Tags, tune_experiment


def _study(name: str) -> optuna.Study:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(study_name=name, direction="minimize")
    for value in (0.5, 0.25):
        trial = study.ask()
        trial.set_user_attr("translator_params", {"alpha": value})
        study.tell(trial, value)
    return study


def _fakes(tmp_path):
    entry = SimpleNamespace(display="lasso")
    plan = SimpleNamespace(entry=entry, params={}, cls=SimpleNamespace(name="lasso"))
    prepared = SimpleNamespace(
        config=SimpleNamespace(experiment_name="e"), split=SimpleNamespace(hash="s1"), dataset_hash="d1"
    )
    return MemoryStore(tmp_path), prepared, plan


def test_a_new_study_is_mirrored_in_its_own_experiment(tmp_path):
    store, prepared, plan = _fakes(tmp_path)
    main = store.experiment_id("e")
    study = _study("e.lasso.s1")
    parent = sync_to_mlflow(study, store, prepared, plan, "val_mse")
    tune_id = store.experiment_id(tune_experiment("e", "lasso"), create=False)
    assert tune_id is not None and store.get_run(parent).experiment_id == tune_id
    assert store.search(main) == []
    assert len(store.study_runs(tune_id, study.study_name)) == 3  # the study and its two trials
    sync_to_mlflow(study, store, prepared, plan, "val_mse")  # idempotent
    assert len(store.study_runs(tune_id, study.study_name)) == 3


def test_a_study_an_older_version_mirrored_beside_the_translators_stays_there(tmp_path):
    store, prepared, plan = _fakes(tmp_path)
    main = store.experiment_id("e")
    study = _study("e.lasso.s1")
    old = store.create_run(main, "tune lasso", Tags(level=RunLevel.STUDY, study=study.study_name))
    assert sync_to_mlflow(study, store, prepared, plan, "val_mse") == old
    assert len(store.study_runs(main, study.study_name)) == 3  # its trials joined it: none logged twice
    assert store.experiment_id(tune_experiment("e", "lasso"), create=False) is None
