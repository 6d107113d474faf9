"""``omibench run``, ``tune`` and ``downstream``: the commands that train translators and write runs."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from omibench.cli._common import (
    echo_err,
    example,
    plugins_dir_option,
    set_option,
    store_option,
    user_errors,
    wait_option,
)
from omibench.errors import OmibenchError

__all__ = ["downstream", "run", "tune"]


@click.command(epilog=example("omibench run experiments/quickstart.yaml -t ridge -t lasso --set seeds=[0,1,2]"))
@click.argument("config", type=click.Path(path_type=Path))
@set_option
@plugins_dir_option
@click.option(
    "-t",
    "--translator",
    "translators",
    multiple=True,
    metavar="NAME",
    help="Run only this translator (its label or registered name; repeatable): -t ridge -t lasso.",
)
@click.option("--force", is_flag=True, help="Rerun translators that already have a finished run.")
@click.option(
    "--log-models",
    is_flag=True,
    help="Also log each translator as an MLflow pyfunc model (for `mlflow models predict` and the registry).",
)
@store_option(from_yaml=True)
@click.option("--sort", default=None, help="Leaderboard metric (default: median_r2_featurewise).")
@click.option("--tuned", is_flag=True, help="Use each translator's best tuned parameters (from `omibench tune`).")
@click.option("--storage", default=None, help="Optuna storage of the tuning studies (default: the store's journal).")
@click.option(
    "--executor",
    type=click.Choice(["process", "inline", "local", "ray"]),
    default=None,
    help="Where jobs run (default: the YAML's executor.kind, process: a child process per job; "
    "inline: in this process, for debugging).",
)
@wait_option
@user_errors
def run(
    config: Path,
    overrides: tuple[str, ...],
    plugin_dirs: tuple[Path, ...],
    force: bool,
    store: Path | None,
    sort: str | None,
    tuned: bool,
    storage: str | None,
    executor: str | None,
    wait_s: float,
    translators: tuple[str, ...],
    log_models: bool,
) -> None:
    """Run every translator of an experiment YAML and print the leaderboard.

    The leaderboard is also written onto the experiment's MLflow page: open the printed URL after
    starting the printed `omibench ui` command (with a tracking server, `tracking.uri`, the URL is
    the server's own page). Only the leaderboard and that URL go to stdout; progress goes to stderr."""
    from omibench import api

    api.stop_on_sigterm()
    results = api.run(
        config,
        overrides=overrides,
        plugin_dirs=plugin_dirs,
        store=store,
        force=force,
        tuned=tuned,
        storage=storage,
        executor=executor,
        sort=sort,
        wait_s=wait_s,
        show_progress=sys.stderr.isatty(),
        translators=translators,
        log_models=log_models,
        echo=echo_err,
    )
    failed = []
    for res in [results] + ([results.reverse] if results.reverse is not None else []):
        table = res.leaderboard
        click.echo(f"\nLeaderboard: {res.experiment} (test split, {len(res.seeds)} seed(s), sorted by {res.sort})")
        click.echo(api.format_leaderboard(table) if not table.empty else "(no finished runs)")
        if res.board is not None and res.store.server_url:  # the server's UI is already up
            click.echo(f"\nMLflow leaderboard:  {res.board.url}")
        elif res.board is not None:
            click.echo(f"\nMLflow leaderboard:  {res.store.ui_command()}\n  then open {res.board.url}")
        failed += res.failed
    # a not-applicable verdict (the translator declined this data or this machine, e.g. too little
    # memory) is a result, as in Open Problems, not a fault: it is said, and the exit status stays 0
    for o in failed:
        said = "warning: not applicable:" if o.failure_kind == "not-applicable" else "FAILED"
        echo_err(f"{said} {o.label}: {o.reason} (run {o.run_id})")
    if any(o.failure_kind != "not-applicable" for o in failed):
        sys.exit(1)


@click.command(epilog=example("omibench tune experiments/quickstart.yaml --translator ridge --trials 30 --timeout 600"))
@click.argument("config", type=click.Path(path_type=Path))
@click.option("--translator", "label", required=True, help="Label (or name) of the experiment's translator to tune.")
@click.option("--trials", type=click.IntRange(min=1), required=True, help="Trials to add to the study.")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Time budget: no trial starts after this many seconds, and a trial still training then is pruned.",
)
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Worker processes (one GPU each when GPUs exist).",
)
@click.option(
    "--metric",
    type=click.Choice(["val_mse", "val_median_r2_featurewise"]),
    default="val_mse",
    show_default=True,
    help="The objective: a validation-split metric, minimised (MSE) or maximised (median R2).",
)
@click.option(
    "--pruner",
    type=click.Choice(["median", "hyperband", "none"]),
    default="median",
    show_default=True,
    help="Optuna pruner that stops unpromising trials early (translators reporting per epoch).",
)
@click.option(
    "--storage", default=None, help="Optuna storage URL or journal file (default: the store folder's journal file)."
)
@click.option(
    "--export",
    "export",
    type=click.Path(path_type=Path),
    default=None,
    help="Write the experiment YAML with the best parameters.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Sampler seed.")
@click.option(
    "--cv",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Score each trial by K-fold CV over the training + validation rows (never test); 0: the validation split.",
)
@set_option
@plugins_dir_option
@store_option(from_yaml=True)
@wait_option
@user_errors
def tune(
    config: Path,
    label: str,
    trials: int,
    timeout: float | None,
    jobs: int,
    metric: str,
    pruner: str,
    storage: str | None,
    export: Path | None,
    seed: int,
    cv: int,
    overrides: tuple[str, ...],
    plugin_dirs: tuple[Path, ...],
    store: Path | None,
    wait_s: float,
) -> None:
    """Tune one translator of an experiment with Optuna on the validation split."""
    from omibench import api

    def on_trial(trial: Any) -> None:
        value = "" if trial.value is None else f" {metric}={trial.value:.5g}"
        echo_err(f"  trial {trial.number}: {trial.state.name}{value} {trial.user_attrs.get('translator_params', {})}")

    api.stop_on_sigterm()
    result = api.tune(
        config,
        label,
        trials,
        timeout=timeout,
        jobs=jobs,
        metric=metric,
        pruner=pruner,
        storage=storage,
        seed=seed,
        cv=cv,
        overrides=overrides,
        plugin_dirs=plugin_dirs,
        store=store,
        export=export,
        wait_s=wait_s,
        on_trial=on_trial,
        echo=echo_err,
    )
    n = result.trial_counts()  # points repeated by a worker were skipped before any fit: not failures
    repeated = f", {n['repeated']} repeated points skipped" if n["repeated"] else ""
    click.echo(
        f"study {result.study.study_name}: {len(result.study.trials)} trials ({n['complete']} complete, "
        f"{n['pruned']} pruned, {n['failed']} failed{repeated}); MLflow run {result.run_id}"
    )
    if result.best_params is None or result.best_value is None:
        raise OmibenchError(
            "no trial completed: check the failed or pruned trials in MLflow, or raise --trials / --timeout"
        )
    click.echo(f"best trial {result.best_trial}: {metric}={result.best_value:.6g} with {result.best_params}")
    click.echo(f"score it like every other run:  {_rerun_command(config, overrides, plugin_dirs, store)}")
    if export:
        click.echo(f"wrote {export}")


def _rerun_command(config: Path, overrides: tuple[str, ...], plugin_dirs: tuple[Path, ...], store: Path | None) -> str:
    """``omibench run ... --tuned`` with the user's own --set / --plugins-dir / --store, quoted for a shell."""
    import shlex

    words = ["omibench", "run", str(config)]
    for o in overrides:
        words += ["--set", o]
    for d in plugin_dirs:
        words += ["--plugins-dir", str(d)]
    if store is not None:
        words += ["--store", str(store)]
    return shlex.join([*words, "--tuned"])


@click.command(epilog=example("omibench downstream experiments/brca.yaml"))
@click.argument("config", type=click.Path(path_type=Path))
@set_option
@plugins_dir_option
@store_option(from_yaml=True)
@user_errors
def downstream(config: Path, overrides: tuple[str, ...], plugin_dirs: tuple[Path, ...], store: Path | None) -> None:
    """Add Table 3 (the downstream classifier) to finished runs of an experiment that lack it."""
    from omibench import api

    n, prepared = api.add_downstream(config, overrides=overrides, plugin_dirs=plugin_dirs, store=store, echo=echo_err)
    click.echo(
        f"{prepared.config.experiment_name}: {n} finished translator run(s) on split {prepared.split.hash} have Table 3"
    )
