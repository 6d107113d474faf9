"""Hyperparameter tuning with Optuna on the validation split, mirrored into MLflow.

The Optuna storage is the source of truth (a journal file in the store by default, any Optuna
storage URL otherwise, e.g. PostgreSQL for several machines). Workers only run trials; the
driving process alone writes MLflow: a parent run per study and a child run per trial (params,
per-epoch validation values, final value, state), synchronised idempotently after the trials, in
an experiment of their own (``<experiment>/tune/<translator>``).

Each ``omibench tune`` adds its own ``--trials`` finished trials, every worker samples from its own
seed and no point is evaluated twice, however many processes share the study (:mod:`.trial_loop`).
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from omibench.contract.translator import BoundTrial, FitContext, resolve_device, validate_params
from omibench.data.paired import PairedData
from omibench.errors import ConfigError, PluginError
from omibench.metrics import catalogue
from omibench.run import trial_loop
from omibench.run.fitting import fit_and_score
from omibench.run.gpus import gpu_count
from omibench.run.preparation import PlannedTranslator, Prepared
from omibench.store import RunLevel, RunStatus, Store, Tags, layout, tune_experiment

if TYPE_CHECKING:
    import optuna

__all__ = [
    "TUNE_METRICS",
    "TuneRequest",
    "apply_tuned",
    "export_tuned",
    "open_study",
    "run_trials",
    "study_name",
    "sync_to_mlflow",
    "tuned_params",
]

log = logging.getLogger(__name__)
# tuned metric val_<name> -> (direction, the per-epoch value a neural translator reports for pruning);
# the direction is the catalogue's
TUNE_METRICS = {
    f"val_{name}": ("minimize" if catalogue.is_lower_better(name) else "maximize", f"val_{name}")
    for name in ("mse", "median_r2_featurewise")
}
_STATUS = {"COMPLETE": RunStatus.FINISHED, "PRUNED": RunStatus.KILLED, "FAIL": RunStatus.FAILED}


@dataclass(frozen=True)
class TuneRequest:
    """One tuning invocation; picklable so worker processes can rebuild everything from it."""

    config_path: str
    overrides: tuple[str, ...]
    plugin_dirs: tuple[str, ...]
    translator: str  # label of the experiment entry to tune
    metric: str = "val_mse"
    storage: str | None = None
    store: str = "mlruns"
    pruner: str = "median"
    seed: int = 0
    cv: int = 0  # >= 2: score each trial by cv-fold CV over training + validation rows (never test)


def study_name(prepared: Prepared, plan: PlannedTranslator) -> str:
    """Experiment, translator and split: a rerun (or another worker) finds the same study."""
    return f"{prepared.config.experiment_name}.{plan.entry.display}.{prepared.split.hash}"


def storage_for(storage: str | None, store: str | Path) -> optuna.storages.BaseStorage | str:
    """An Optuna storage URL as given, a ``*.journal`` path as a journal file, else the store's journal."""
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    if storage and "://" in storage:
        from omibench.run.optuna_storage import ready_rdb

        return ready_rdb(storage)  # tables created once, even by two machines at the same moment
    path = Path(storage) if storage else Path(store) / layout.OPTUNA_JOURNAL
    path.parent.mkdir(parents=True, exist_ok=True)
    return JournalStorage(JournalFileBackend(str(path)))


def open_study(request: TuneRequest, name: str) -> optuna.Study:
    """Create or join study ``name``; its sampler is this worker's own (:class:`WorkerSampler`)."""
    import optuna

    trial_loop.quiet_dependencies()
    pruners = {
        "median": lambda: optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=2),
        "hyperband": lambda: optuna.pruners.HyperbandPruner(),
        "none": lambda: optuna.pruners.NopPruner(),
    }
    if request.pruner not in pruners:
        raise ConfigError(f"--pruner {request.pruner!r}: choose median, hyperband or none")
    direction = TUNE_METRICS[request.metric][0]
    study = optuna.create_study(
        storage=storage_for(request.storage, request.store),
        study_name=name,
        direction="minimize" if direction == "minimize" else "maximize",
        load_if_exists=True,
        sampler=trial_loop.WorkerSampler(request.seed),  # type: ignore[arg-type]  # a BaseSampler by duck typing
        pruner=pruners[request.pruner](),
    )
    study.set_metric_names([request.metric])  # optuna-dashboard labels the objective
    scored_by = study.user_attrs.get("cv")
    if scored_by is None:
        study.set_user_attr("cv", request.cv)
    elif int(scored_by) != request.cv:  # trials scored two ways are not comparable
        how = f"--cv {scored_by}" if int(scored_by) else "the validation split (no --cv)"
        raise ConfigError(
            f"study {name}: its trials were scored by {how}; tune with the same, or give another --storage"
        )
    return study


def make_objective(
    prepared: Prepared, plan: PlannedTranslator, metric: str, deadline: float | None = None, cv: int = 0
) -> Callable[[optuna.Trial], float]:
    """Fit on the training split, report per-epoch validation values (pruning), return the
    validation metric. The test split is never touched. A trial still reporting epochs after
    ``deadline`` (``time.monotonic()``) is pruned: the time budget is a hard one.

    With ``cv`` >= 2 the training and validation rows are pooled and cut into ``cv`` folds
    (stratified by label where there are labels); a trial is fitted ``cv`` times, each fold once
    the validation part, and scores the mean of the folds' validation metric. Small validation
    splits (17, 35 and 4 samples on LAML, ROSMAP and COAD) otherwise pick settings by noise.
    Per-epoch pruning is off then (fold curves are not one curve); the time budget still holds."""
    import optuna

    report_key = TUNE_METRICS[metric][1]
    folds = _cv_folds(prepared, cv) if cv >= 2 else None
    if folds is None and prepared.val.n_samples < 2:
        raise ConfigError("tuning needs a validation split of at least 2 samples: raise split.val_fraction")

    def objective(trial: optuna.Trial) -> float:
        suggested = plan.cls.search_space(trial)
        trial_loop.check_new_point(trial)  # a point another trial holds is not fitted again
        params = validate_params(plan.cls, {**plan.params, **suggested})
        trial.set_user_attr("translator_params", suggested)

        def reporter(step: int, values: Mapping[str, float]) -> None:
            if report_key in values:
                trial.report(values[report_key], step)
                if trial.should_prune():
                    raise optuna.TrialPruned(f"pruned at epoch {step}")
                if deadline is not None and time.monotonic() > deadline:
                    trial.set_user_attr("pruned_by", "time budget")
                    raise optuna.TrialPruned(f"time budget spent at epoch {step}")

        # the same fit as a benchmark job: global generators seeded with the experiment's first seed
        context = FitContext(
            seed=prepared.config.seeds[0],
            device=resolve_device(plan.cls.resources),
            n_jobs=prepared.config.n_jobs or os.cpu_count() or 1,
            reporter=reporter,
            source=prepared.source,
        )
        key = metric.removeprefix("val_")
        if folds is None:
            fitted = fit_and_score(plan.cls, params, prepared.train, prepared.val, context)
            assert fitted.val is not None
            return fitted.val.summary[key]

        def in_time(step: int, values: Mapping[str, float]) -> None:
            if deadline is not None and time.monotonic() > deadline:
                trial.set_user_attr("pruned_by", "time budget")
                raise optuna.TrialPruned(f"time budget spent at epoch {step}")

        context.reporter = in_time
        scores = []
        for inner_train, inner_val in folds:
            fitted = fit_and_score(plan.cls, params, inner_train, inner_val, context)
            assert fitted.val is not None
            scores.append(fitted.val.summary[key])
        trial.set_user_attr("cv_scores", [float(x) for x in scores])
        return float(np.mean(scores))

    return objective


def _cv_folds(prepared: Prepared, k: int) -> list[tuple[PairedData, PairedData]]:
    """``k`` (train, validation) folds of the training + validation rows (the test rows never enter)."""
    from sklearn.model_selection import KFold, StratifiedKFold

    pool = PairedData.concat(prepared.train, prepared.val)
    if pool.n_samples < 2 * k:
        raise ConfigError(f"--cv {k}: {pool.n_samples} training + validation samples are too few for {k} folds")
    labels = pool.labels
    seed = prepared.config.split.seed
    if labels is not None and all(lab is not None for lab in labels):
        names = np.array([str(lab) for lab in labels])
        if min(np.unique(names, return_counts=True)[1]) >= k:
            splitter = StratifiedKFold(k, shuffle=True, random_state=seed)
            return [(pool.subset(a), pool.subset(b)) for a, b in splitter.split(names, names)]
    splitter_plain = KFold(k, shuffle=True, random_state=seed)
    return [(pool.subset(a), pool.subset(b)) for a, b in splitter_plain.split(np.arange(pool.n_samples))]


def run_trials(
    request: TuneRequest,
    prepared: Prepared,
    plan: PlannedTranslator,
    n_trials: int,
    timeout: float | None,
    jobs: int,
    on_trial: Callable[[Any], None] | None = None,
) -> optuna.Study:
    """Add ``n_trials`` finished (complete or pruned) trials to the study, in this process or in
    ``jobs`` workers, within ``timeout`` seconds: no trial starts after it, and a trial still
    training is pruned. Trials other processes add to the same study at the time do not count
    against ``n_trials``; failed trials and repeated points do not either."""
    if not plan.cls.search_space(BoundTrial()):
        raise PluginError(f"translator {plan.cls.name!r} declares no search space: nothing to tune")
    study = open_study(request, study_name(prepared, plan))
    if jobs <= 1:
        trial_loop.optimize(
            study,
            make_objective(prepared, plan, request.metric, _deadline(timeout), request.cv),
            trial_loop.LocalBudget(n_trials),
            timeout=timeout,
            catch=_CAUGHT,
            on_trial=on_trial,
        )
        return study
    ctx = mp.get_context("spawn")
    gpus = gpu_count()
    procs = []
    # workers get the wall-clock end of the budget: their own start-up (data loading) counts
    ends_at = None if timeout is None else time.time() + timeout
    budget = trial_loop.SharedBudget(n_trials, ctx)
    for w in range(jobs):
        env = {"CUDA_VISIBLE_DEVICES": str(w % gpus)} if gpus else {}
        procs.append(ctx.Process(target=_worker, args=(request, budget, ends_at, env), daemon=False))
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    failed = [p.exitcode for p in procs if p.exitcode]
    if failed:
        log.warning("%d tuning workers exited with errors (exit codes %s)", len(failed), failed)
    return open_study(request, study_name(prepared, plan))


_CAUGHT = (FloatingPointError, RuntimeError)  # a trial that raises these fails alone; the study goes on


def _deadline(timeout: float | None) -> float | None:
    return None if timeout is None else time.monotonic() + timeout


def _worker(request: TuneRequest, budget: trial_loop.SharedBudget, ends_at: float | None, env: dict[str, str]) -> None:
    """One worker process: rebuild the data from the request, join the study, run trials while the
    invocation's shared ``budget`` has slots."""
    os.environ.update(env)  # before anything touches CUDA in this fresh process
    from omibench.run.setup import prepare_experiment

    prepared, _, _ = prepare_experiment(
        request.config_path, request.overrides, request.plugin_dirs, request.store, only=request.translator
    )
    plan = prepared.translators[0]
    study = open_study(request, study_name(prepared, plan))
    timeout = None if ends_at is None else max(0.0, ends_at - time.time())
    trial_loop.optimize(
        study,
        make_objective(prepared, plan, request.metric, _deadline(timeout), request.cv),
        budget,
        timeout=timeout,
        catch=_CAUGHT,
    )


def sync_to_mlflow(study: optuna.Study, store: Store, prepared: Prepared, plan: PlannedTranslator, metric: str) -> str:
    """Mirror the study into the store (idempotent): returns the study run's id. The caller holds
    the experiment's lock.

    The mirror lives in experiment ``<experiment>/tune/<translator>`` (:func:`tune_experiment`), not
    among the translators' runs. A study that an older omibench mirrored into the translators'
    experiment itself keeps being mirrored there, so its trials are never logged twice."""
    name = prepared.config.experiment_name
    legacy = store.experiment_id(name, create=False)
    runs = store.study_runs(legacy, study.study_name) if legacy is not None else []
    if runs:
        exp_id: str | None = legacy
    else:
        exp_id = store.experiment_id(tune_experiment(name, plan.entry.display))
        assert exp_id is not None
        runs = store.study_runs(exp_id, study.study_name)
    assert exp_id is not None
    parent = next((r.run_id for r in runs if r.tags.level is RunLevel.STUDY), None)
    logged = {r.tags.trial for r in runs if r.tags.level is RunLevel.TRIAL}
    tags = Tags(
        study=study.study_name,
        translator=plan.cls.name,
        label=plan.entry.display,
        split_hash=prepared.split.hash,
        dataset_hash=prepared.dataset_hash,
        tune_metric=metric,
    )
    if parent is None:
        parent = store.create_run(exp_id, f"tune {plan.entry.display}", tags.with_(level=RunLevel.STUDY))
        store.log_params(parent, {**plan.params, "translator": plan.cls.name, "metric": metric})
    import optuna

    for trial in study.get_trials(deepcopy=False):
        if trial.state.name not in _STATUS or trial.number in logged or trial_loop.DUPLICATE_ATTR in trial.user_attrs:
            continue  # a repeated point was closed before any fit: nothing to mirror
        child = store.create_run(
            exp_id,
            f"trial {trial.number}",
            tags.with_(
                level=RunLevel.TRIAL,
                trial=trial.number,
                trial_state=trial.state.name,
                pruned_by=trial.user_attrs.get("pruned_by"),
            ),
            parent_id=parent,
        )
        store.log_params(child, {**plan.params, **trial.user_attrs.get("translator_params", {})})
        for step, value in sorted(trial.intermediate_values.items()):
            store.log_metrics(child, {TUNE_METRICS[metric][1]: value}, step=step)
        if trial.value is not None:
            store.log_metrics(child, {metric: trial.value})
        store.end_run(child, _STATUS[trial.state.name])
    done = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if done:
        best = study.best_trial
        store.set_tags(
            parent,
            Tags(best_trial=best.number),
            {f"best.{k}": str(v) for k, v in best.user_attrs.get("translator_params", {}).items()},
        )
        store.log_metrics(
            parent, {f"best_{metric}": float(best.value or 0.0), "n_trials": len(study.trials)}, step=len(study.trials)
        )
    store.end_run(parent)
    return parent


def tuned_params(request: TuneRequest, prepared: Prepared, plan: PlannedTranslator) -> dict[str, Any] | None:
    """The best trial's translator parameters of this translator's study, or None if untuned."""
    import optuna

    try:
        study = optuna.load_study(
            study_name=study_name(prepared, plan), storage=storage_for(request.storage, request.store)
        )
    except KeyError:
        return None
    if not study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)):
        return None
    return dict(study.best_trial.user_attrs.get("translator_params", {}))


def apply_tuned(prepared: Prepared, base: TuneRequest, echo: Callable[[str], None] = lambda _: None) -> Prepared:
    """``prepared`` with each translator's best tuned parameters merged in (translators without a
    finished trial keep their own). ``base`` names the config, storage and store of the studies."""
    from dataclasses import replace

    from omibench.run.preparation import with_params

    for plan in prepared.translators:
        if getattr(plan.cls, "control", False):
            continue  # nothing to tune
        best = tuned_params(replace(base, translator=plan.entry.display), prepared, plan)
        if best is None:
            echo(f"{plan.entry.display}: no tuning trial finished (or no study yet), default parameters kept")
            continue
        echo(f"{plan.entry.display}: tuned parameters {best}")
        prepared = with_params(prepared, plan.entry.display, best, study_name(prepared, plan))
    return prepared


def export_tuned(
    config_path: str | Path, overrides: tuple[str, ...], label: str, params: dict[str, Any], out: Path
) -> None:
    """Write the experiment YAML (with ``overrides`` applied) with ``params`` merged into translator ``label``."""
    import yaml

    from omibench.config import apply_overrides, safe_yaml

    raw = apply_overrides(safe_yaml(Path(config_path)), overrides)
    for entry in raw["translators"]:
        if (entry.get("label") or entry["name"]) == label:
            entry["params"] = {**entry.get("params", {}), **params}
    out.write_text(yaml.safe_dump(raw, sort_keys=False))
