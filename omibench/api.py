"""The library API: what the ``omibench`` command does, callable from Python (a notebook, a script).

>>> from omibench import api
>>> results = api.run("experiments/quickstart.yaml", store="mlruns")
>>> results.leaderboard[["translator", "median_r2_featurewise", "mse"]]
>>> results.failed            # the outcomes that failed, with their errors
>>> api.report("quickstart", store="mlruns").html

Every function raises :class:`omibench.OmibenchError` (one-line message) for a user mistake, and
writes nothing to the store before the input has been validated. The CLI is a thin wrapper.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from omibench.api_results import (  # re-exported: the read side
    DEFAULT_WAIT_S,
    ReportResult,
    TranslateResult,
    format_leaderboard,
    leaderboard,
    leaderboard_of,
    report,
    translate,
)
from omibench.api_tools import fetch_data, inspect, serve_ui, ui_pages  # re-exported: ui and data tools
from omibench.errors import ConfigError, check_output
from omibench.run.setup import Echo, load_plugins, prepare_experiment, quiet
from omibench.store.schema import RunStatus

if TYPE_CHECKING:
    import optuna
    import pandas as pd

    from omibench.config import ExperimentConfig
    from omibench.contract.registry import Registry
    from omibench.report.cohorts import CrossCohort  # noqa: F401 (ReportResult.report, as the CLI names it)
    from omibench.report.document import Report  # noqa: F401
    from omibench.report.mlflow_page import Board
    from omibench.run.preparation import Prepared
    from omibench.run.runner import Outcome
    from omibench.store import Store

__all__ = [
    "ReportResult",
    "Results",
    "TranslateResult",
    "TuneResult",
    "add_downstream",
    "check_plugin",
    "fetch_data",
    "format_leaderboard",
    "inspect",
    "leaderboard",
    "leaderboard_of",
    "plugins",
    "prepare_experiment",
    "report",
    "run",
    "serve_ui",
    "stop_on_sigterm",
    "translate",
    "tune",
    "ui_pages",
]


@dataclass
class Results:
    """What :func:`run` returns: one outcome per translator and the leaderboard read back from the store."""

    experiment: str
    outcomes: list[Outcome]
    leaderboard: pd.DataFrame
    store: Store
    split_hash: str
    sort: str
    seeds: list[int]
    board: Board | None = None  # the leaderboard written onto the MLflow page, with its URL
    reverse: Results | None = None  # with ``direction: both``: the A -> B experiment (``<name>_reverse``)

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == RunStatus.FAILED.value]


@dataclass
class TuneResult:
    study: optuna.Study
    run_id: str  # the study's run in the store
    best_params: dict[str, Any] | None
    best_value: float | None
    best_trial: int | None

    def trial_counts(self) -> dict[str, int]:
        """The study's trials by outcome: ``complete``, ``pruned``, ``failed``, and ``repeated``: points
        closed before any fit because another trial already had them (user attribute ``duplicate_of``,
        see :mod:`omibench.run.trial_loop`), which are not failures. Running trials are in none."""
        from omibench.run.trial_loop import trial_counts

        return trial_counts(self.study)


def run(
    config: str | Path | ExperimentConfig,
    *,
    overrides: Sequence[str] = (),
    plugin_dirs: Sequence[str | Path] = (),
    store: str | Path | None = None,
    force: bool = False,
    tuned: bool = False,
    storage: str | None = None,
    executor: str | None = None,
    sort: str | None = None,
    wait_s: float = DEFAULT_WAIT_S,
    show_progress: bool = False,
    translators: Sequence[str] = (),
    log_models: bool = False,
    echo: Echo = quiet,
    _source: tuple[str | Path | ExperimentConfig, Sequence[str]] | None = None,
) -> Results:
    """Run every translator of an experiment (resuming what an earlier run left unfinished) and
    return the outcomes and the leaderboard (test split, mean over seeds).

    ``translators`` keeps only the entries with those labels or registered names. At the end the
    leaderboard is written onto the experiment's MLflow page (see :mod:`omibench.board`) and, with
    ``log_models``, each of its translators is logged as an MLflow pyfunc model. With ``direction:
    both`` the experiment runs B -> A, then A -> B as ``<name>_reverse`` on the same outer splits; the
    forward results are returned with the reverse ones in ``Results.reverse``."""
    from omibench.metrics.reconstruction import METRIC_NAMES
    from omibench.report.leaderboard import DEFAULT_SORT
    from omibench.run.runner import run_experiment
    from omibench.store import ExperimentLock, open_store

    sort = sort or DEFAULT_SORT
    if sort not in METRIC_NAMES:
        raise ConfigError(f"sort {sort!r} is not a metric; choose one of {', '.join(METRIC_NAMES)}")
    if wait_s < 0:
        raise ConfigError(f"wait {wait_s}: must be 0 or more seconds")
    from omibench.run.claims import claim_settings

    claim_timeout_s, claim_settle_s = claim_settings()  # a bad $OMIBENCH_CLAIM_*: refused before any write
    source, source_overrides = _source or (config, overrides)  # what --tuned looks the studies up by
    from omibench.run.setup import load_experiment_config

    loaded = load_experiment_config(config, overrides)
    if loaded.direction == "both":
        forward, backward = loaded.directions()

        def one(cfg: ExperimentConfig) -> Results:
            return run(
                cfg,
                plugin_dirs=plugin_dirs,
                store=store,
                force=force,
                tuned=tuned,
                storage=storage,
                executor=executor,
                sort=sort,
                wait_s=wait_s,
                show_progress=show_progress,
                translators=translators,
                log_models=log_models,
                echo=echo,
                _source=(source, source_overrides),
            )

        first = one(forward)
        echo(f"omibench: direction both: now A -> B, experiment {backward.experiment_name!r}")
        first.reverse = one(backward)
        return first
    if translators:
        config, overrides = _only(config, overrides, translators), ()
    prepared, dirs, store_dir = prepare_experiment(config, overrides, plugin_dirs, store, echo=echo)
    cfg = prepared.config
    st = open_store(store_dir, cfg.tracking.uri)
    from omibench.run.runner import build_executor

    # built before anything is written: an unreachable Ray cluster is one line, with the store untouched
    runner = build_executor(
        executor or cfg.executor.kind,
        prepared,
        st,
        show_progress,
        gpus=cfg.executor.gpus,
        cpu_workers=cfg.executor.cpu_workers,
        address=cfg.executor.address,
    )
    with ExperimentLock(st.path, cfg.experiment_name, "omibench run", wait_s):
        if tuned:
            from omibench.run.tuning import TuneRequest, apply_tuned

            base = TuneRequest(
                str(source), tuple(source_overrides), tuple(dirs), "", storage=storage, store=str(st.path)
            )
            prepared = apply_tuned(prepared, base, echo)
        outcomes = run_experiment(
            prepared,
            st,
            force=force,
            show_progress=show_progress,
            echo=echo,
            executor=runner,
            plugin_dirs=dirs,
            timeout_s=cfg.timeout_s,
            claim_timeout_s=claim_timeout_s,
            claim_settle_s=claim_settle_s,
        )
    table = leaderboard_of(
        st, cfg.experiment_name, sort=sort, split_hash=prepared.split.hash, dataset_hash=prepared.dataset_hash
    )
    from omibench.report.mlflow_page import refresh

    board = refresh(st, cfg.experiment_name, prepared.split.hash, sort)
    if log_models and board is not None:
        from omibench.run.pyfunc_models import log_pyfunc_models

        log_pyfunc_models(st, board.runs, echo)
    return Results(cfg.experiment_name, outcomes, table, st, prepared.split.hash, sort, list(cfg.seeds), board)


def _only(config: str | Path | ExperimentConfig, overrides: Sequence[str], wanted: Sequence[str]) -> ExperimentConfig:
    """The experiment with only the translators whose label or registered name is in ``wanted``."""
    from omibench.run.setup import load_experiment_config

    cfg = load_experiment_config(config, overrides)
    known = {t.display for t in cfg.translators} | {t.name for t in cfg.translators}
    unknown = [w for w in wanted if w not in known]
    if unknown:
        raise ConfigError(
            f"{config}: no translator labelled or named {', '.join(map(repr, unknown))} "
            f"(it has {', '.join(t.display for t in cfg.translators)}); fix -t/--translator"
        )
    kept = [t for t in cfg.translators if t.display in wanted or t.name in wanted]
    return cfg.model_copy(update={"translators": kept})


def tune(
    config: str | Path,
    translator: str,
    trials: int,
    *,
    timeout: float | None = None,
    jobs: int = 1,
    metric: str = "val_mse",
    pruner: str = "median",
    storage: str | None = None,
    seed: int = 0,
    overrides: Sequence[str] = (),
    plugin_dirs: Sequence[str | Path] = (),
    store: str | Path | None = None,
    export: Path | None = None,
    cv: int = 0,
    wait_s: float = DEFAULT_WAIT_S,
    on_trial: Callable[[Any], None] | None = None,
    echo: Echo = quiet,
) -> TuneResult:
    """Tune one translator (by label) with Optuna on the validation split; mirror the study into the
    store; optionally write the experiment YAML with the best parameters to ``export``."""
    from omibench.config import MAX_SEED
    from omibench.run.tuning import TUNE_METRICS, TuneRequest, export_tuned, run_trials, study_name, sync_to_mlflow
    from omibench.store import ExperimentLock, open_store

    if trials < 1:
        raise ConfigError(f"trials {trials}: must be at least 1")
    if timeout is not None and not timeout > 0:
        raise ConfigError(f"timeout {timeout}: must be a positive number of seconds")
    if jobs < 1:
        raise ConfigError(f"jobs {jobs}: must be at least 1")
    if not 0 <= seed <= MAX_SEED:  # numpy's range, as every seed of the config (omibench.config.Seed)
        raise ConfigError(f"seed {seed}: the sampler seed must be a whole number from 0 to {MAX_SEED}")
    if cv == 1 or cv < 0:
        raise ConfigError(f"cv {cv}: give at least 2 folds (or 0 to score on the validation split)")
    if metric not in TUNE_METRICS:
        raise ConfigError(f"metric {metric!r}: choose one of {', '.join(TUNE_METRICS)}")
    if pruner not in ("median", "hyperband", "none"):
        raise ConfigError(f"pruner {pruner!r}: choose median, hyperband or none")
    if export:
        check_output(export, "--export")
    if storage and "://" not in storage:  # a journal file (a URL is a database)
        check_output(storage, "--storage")
    prepared, dirs, store_dir = prepare_experiment(config, overrides, plugin_dirs, store, only=translator, echo=echo)
    plan = prepared.translators[0]
    st = open_store(store_dir, prepared.config.tracking.uri)
    request = TuneRequest(
        str(config), tuple(overrides), tuple(dirs), translator, metric, storage, str(st.path), pruner, seed, cv
    )
    echo(f"omibench: tuning {translator} ({trials} trials, {jobs} worker(s)), study {study_name(prepared, plan)}")
    study = run_trials(request, prepared, plan, trials, timeout, jobs, on_trial)
    # trials live in Optuna's storage (safe for concurrent workers); the store's mirror is written under the lock
    with ExperimentLock(st.path, prepared.config.experiment_name, "omibench tune", wait_s):
        run_id = sync_to_mlflow(study, st, prepared, plan, metric)
    complete = [t for t in study.trials if t.state.name == "COMPLETE"]
    if not complete:
        return TuneResult(study, run_id, None, None, None)
    best = study.best_trial
    params = dict(best.user_attrs.get("translator_params", {}))
    if export:
        export_tuned(config, tuple(overrides), translator, params, Path(export))
    return TuneResult(study, run_id, params, best.value, best.number)


def add_downstream(
    config: str | Path,
    *,
    overrides: Sequence[str] = (),
    plugin_dirs: Sequence[str | Path] = (),
    store: str | Path | None = None,
    wait_s: float = DEFAULT_WAIT_S,
    echo: Echo = quiet,
) -> tuple[int, Prepared]:
    """Add Table 3 to an experiment's finished runs that lack it; return how many have it, and the data."""
    from omibench.run.runner import add_downstream as add
    from omibench.store import ExperimentLock, open_store

    prepared, _, store_dir = prepare_experiment(config, overrides, plugin_dirs, store)
    st = open_store(store_dir, prepared.config.tracking.uri)
    with ExperimentLock(st.path, prepared.config.experiment_name, "omibench downstream", wait_s):
        return add(prepared, st, echo), prepared


def plugins(plugin_dirs: Sequence[str | Path] = (), echo: Echo = quiet) -> Registry:
    """Every registered translator and data source (plugin problems go to ``echo``)."""
    return load_plugins([str(d) for d in plugin_dirs], echo)


def check_plugin(
    name: str, plugin_dirs: Sequence[str | Path] = (), echo: Echo = quiet, timeout_s: float | None = 600
) -> list[Any]:
    """The conformance check of translator ``name``: one result per check (``name``, ``passed``,
    ``detail``). The checks run in a child process: a translator that exits (``sys.exit``,
    ``os._exit``), interrupts or hangs fails the check instead of ending it silently."""
    from omibench.contract.conformance import run_checks

    return list(run_checks(name, [str(d) for d in plugin_dirs], timeout_s=timeout_s or 900.0, on_problem=echo))


def stop_on_sigterm() -> None:
    """Make SIGTERM (a batch scheduler, ``kill``) stop a run as Ctrl-C does: unfinished runs are
    marked KILLED, finished ones kept. Call it from the main thread before :func:`run` or :func:`tune`."""
    import signal

    from omibench.run import interrupts

    def handler(signum: int, frame: Any) -> None:
        interrupts.mark()
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)
