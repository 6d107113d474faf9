"""The ``omibench`` command line: the only module that parses arguments or prints for people.

Heavy libraries (MLflow, torch, pandas) are imported inside the commands so that ``--help``
answers at once.

Messages (stderr) have one style, whoever writes them (the commands, the library's progress
lines, its loggers):

- ``omibench: <what is happening>``: progress and information;
- ``omibench: warning: <what>``: something to know; the command goes on;
- ``error: <what>: <what to do>``: the command stopped (exit status 2), always the last line;
- ``interrupted: <what was kept>; <how to resume>``: Ctrl-C or SIGTERM (exit status 130).

Results (tables, paths, run ids) go to stdout without a prefix.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import click

from ._errors import OmibenchError

__all__ = ["main"]

USER_ERROR = 2
INTERRUPTED = 130


PREFIX = "omibench: "
_LAST_LINES = ("error: ", "interrupted: ")
_OURS = ("omibench", "omibench_plugins")


def _styled(message: str) -> str:
    """``message`` in the command line's style (see the module's docstring): each line prefixed
    ``omibench: `` (once: library messages may carry it already), a leading ``warning:`` kept after
    the prefix, error and interruption lines left as they are."""
    lines = []
    for line in message.split("\n"):
        text = line.removeprefix(PREFIX)
        if not text.strip() or text.startswith(_LAST_LINES):
            lines.append(text)
        elif text.lower().startswith("warning: "):
            lines.append(f"{PREFIX}warning: {text[len('warning: ') :]}")
        else:
            lines.append(PREFIX + text)
    return "\n".join(lines)


def _echo_err(message: str) -> None:
    click.echo(_styled(message), err=True)


class _LogStyle(logging.Formatter):
    """Log records in the same style: ``omibench: [level: ][logger: ]message``; the level is left
    out for INFO, the logger's name for omibench's own records (except DEBUG)."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        ours = record.name.partition(".")[0] in _OURS
        level = "" if record.levelno == logging.INFO else f"{record.levelname.lower()}: "
        where = "" if ours and record.levelno != logging.DEBUG else f"{record.name}: "
        return f"{PREFIX}{level}{where}{text}"


def _setup_logging(verbose: bool) -> None:
    """Warnings of every library and omibench's own information (``-v``: its debug lines too, not
    the libraries': no matplotlib font lines), in the messages' style, on stderr."""
    root = logging.getLogger()
    if not root.handlers:  # as logging.basicConfig: a host that set up logging (a test runner) keeps its own
        handler = logging.StreamHandler()
        handler.setFormatter(_LogStyle("%(message)s"))
        root.addHandler(handler)
    root.setLevel(logging.WARNING)
    for name in _OURS:
        logging.getLogger(name).setLevel(logging.DEBUG if verbose else logging.INFO)


def _user_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn OmibenchError into one line on stderr and exit status 2 (no traceback)."""
    import functools

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except OmibenchError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(USER_ERROR)
        except KeyboardInterrupt as exc:  # Ctrl-C or SIGTERM: one line, what was kept, how to resume
            summary = getattr(exc, "summary", None)
            click.echo(summary() if callable(summary) else "interrupted: rerun the same command to resume", err=True)
            sys.exit(INTERRUPTED)

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="omibench")
@click.option("-v", "--verbose", is_flag=True, help="Debug logging from omibench (not from its libraries).")
def cli(verbose: bool) -> None:
    """Benchmark omics-to-omics translators (methylation -> expression), tracked in MLflow."""
    _setup_logging(verbose)
    # mlflow resets its logger when imported; this variable is what it reads then
    import os

    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")


def _example(command: str) -> str:
    """A command's epilog: one example (\b keeps click from rewrapping it)."""
    return f"\b\nExample:\n  {command}"


def _first_line(obj: Any) -> str:
    """The first sentence of an object's docstring, at most 110 characters ("" when it has none)."""
    import inspect

    doc = inspect.getdoc(obj) if obj is not None else None
    if not doc:
        return ""
    paragraph = " ".join(doc.strip().split("\n\n")[0].split())
    sentence = paragraph.split(". ")[0].rstrip(".") + "."
    return sentence if len(sentence) <= 110 else sentence[:107] + "..."


def _stop_on_sigterm() -> None:
    """SIGTERM (a batch scheduler, ``kill``) stops a run like Ctrl-C: unfinished runs are KILLED, finished ones kept."""
    import signal

    def handler(signum: int, frame: Any) -> None:
        from . import _interrupts

        _interrupts.mark()
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


SET_HELP = "Override a YAML field (repeatable), e.g. --set seeds=[0,1,2] --set downstream.enabled=false."
PLUGINS_HELP = "Folder of local *.py translator plugins (repeatable)."
STORE_HELP = "Tracking store folder (default: the YAML's tracking.store, mlruns)."
WAIT_HELP = "Seconds to wait for another omibench process writing this experiment of the store, then give up."


@cli.command(epilog=_example("omibench run experiments/quickstart.yaml -t ridge -t lasso --set seeds=[0,1,2]"))
@click.argument("config", type=click.Path(path_type=Path))
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help=SET_HELP)
@click.option("--plugins-dir", "plugin_dirs", multiple=True, type=click.Path(path_type=Path), help=PLUGINS_HELP)
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
@click.option(
    "--store",
    type=click.Path(path_type=Path),
    default=None,
    help=STORE_HELP,
)
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
@click.option("--wait", "wait_s", type=click.FloatRange(min=0), default=10.0, show_default=True, help=WAIT_HELP)
@_user_errors
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
    starting the printed `omibench ui` command."""
    from . import api
    from .leaderboard import format_table

    _stop_on_sigterm()
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
        echo=_echo_err,
    )
    failed = []
    for res in [results] + ([results.reverse] if results.reverse is not None else []):
        table = res.leaderboard
        click.echo(f"\nLeaderboard: {res.experiment} (test split, {len(res.seeds)} seed(s), sorted by {res.sort})")
        click.echo(format_table(table) if not table.empty else "(no finished runs)")
        if res.board is not None:
            click.echo(f"\nMLflow leaderboard:  {res.store.ui_command()}\n  then open {res.board.url}")
        failed += res.failed
    # a not-applicable verdict (the translator declined this data or this machine, e.g. too little
    # memory) is a result, as in Open Problems, not a fault: it is said, and the exit status stays 0
    for o in failed:
        said = "warning: not applicable:" if o.failure_kind == "not-applicable" else "FAILED"
        _echo_err(f"{said} {o.label}: {o.reason} (run {o.run_id})")
    if any(o.failure_kind != "not-applicable" for o in failed):
        sys.exit(1)


@cli.command(epilog=_example("omibench tune experiments/quickstart.yaml --translator ridge --trials 30 --timeout 600"))
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
@click.option("--storage", default=None, help="Optuna storage URL or journal file (default: <store>/optuna.journal).")
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
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help=SET_HELP)
@click.option("--plugins-dir", "plugin_dirs", multiple=True, type=click.Path(path_type=Path), help=PLUGINS_HELP)
@click.option("--store", type=click.Path(path_type=Path), default=None, help=STORE_HELP)
@click.option("--wait", "wait_s", type=click.FloatRange(min=0), default=10.0, show_default=True, help=WAIT_HELP)
@_user_errors
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
    from . import api

    def on_trial(trial: Any) -> None:
        value = "" if trial.value is None else f" {metric}={trial.value:.5g}"
        _echo_err(f"  trial {trial.number}: {trial.state.name}{value} {trial.user_attrs.get('translator_params', {})}")

    _stop_on_sigterm()
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
        echo=_echo_err,
    )
    states = [t.state.name for t in result.study.trials]
    click.echo(
        f"study {result.study.study_name}: {len(states)} trials ({states.count('COMPLETE')} complete, "
        f"{states.count('PRUNED')} pruned, {states.count('FAIL')} failed); MLflow run {result.run_id}"
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


@cli.command(epilog=_example("omibench downstream experiments/brca.yaml"))
@click.argument("config", type=click.Path(path_type=Path))
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help=SET_HELP)
@click.option("--plugins-dir", "plugin_dirs", multiple=True, type=click.Path(path_type=Path), help=PLUGINS_HELP)
@click.option("--store", type=click.Path(path_type=Path), default=None, help=STORE_HELP)
@_user_errors
def downstream(config: Path, overrides: tuple[str, ...], plugin_dirs: tuple[Path, ...], store: Path | None) -> None:
    """Add Table 3 (the downstream classifier) to finished runs of an experiment that lack it."""
    from . import api

    n, prepared = api.add_downstream(config, overrides=overrides, plugin_dirs=plugin_dirs, store=store, echo=_echo_err)
    click.echo(
        f"{prepared.config.experiment_name}: {n} finished translator run(s) on split {prepared.split.hash} have Table 3"
    )


@cli.command(epilog=_example("omibench plugins --plugins-dir my_plugins --params"))
@click.option("--plugins-dir", "plugin_dirs", multiple=True, type=click.Path(path_type=Path), help=PLUGINS_HELP)
@click.option("--params", "verbose", is_flag=True, help="Also show each translator's default parameters.")
@_user_errors
def plugins(plugin_dirs: tuple[Path, ...], verbose: bool) -> None:
    """List registered translators and data sources: name, what it is, where it comes from."""
    import json

    from . import api

    registry = api.plugins(plugin_dirs, echo=_echo_err)
    click.echo("Translators:")
    for name, reg in sorted(registry.translators.items()):
        click.echo(f"  {name:<18} {_first_line(reg.cls)}  [{reg.source}]")
        if verbose:
            params = json.dumps(dict(getattr(reg.cls, "default_params", {})), default=str)
            click.echo(f"  {'':<18} defaults {params}")
    click.echo("Data sources:")
    for name, reg in sorted(registry.datasets.items()):
        described = getattr(reg, "cls", None) or getattr(reg, "func", None)
        click.echo(f"  {name:<18} {_first_line(described)}  [{reg.source}]")


@cli.command("check-plugin", epilog=_example("omibench check-plugin my_translator --plugins-dir my_plugins"))
@click.argument("name")
@click.option("--plugins-dir", "plugin_dirs", multiple=True, type=click.Path(path_type=Path), help=PLUGINS_HELP)
@_user_errors
def check_plugin(name: str, plugin_dirs: tuple[Path, ...]) -> None:
    """Run the conformance check on one translator (tiny fit / predict / save / load)."""
    from . import api

    results = api.check_plugin(name, plugin_dirs, echo=_echo_err)
    for r in results:
        click.echo(f"  {'PASS' if r.passed else 'FAIL'}  {r.name:<26} {r.detail}")
    failed = sum(not r.passed for r in results)
    click.echo(f"{name}: {len(results) - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


@cli.command("leaderboard", epilog=_example("omibench leaderboard quickstart --sort mse --baseline ridge --cell ci"))
@click.argument("experiment")
@click.option("--sort", default="median_r2_featurewise", show_default=True, help="Logged metric to rank by.")
@click.option(
    "--columns",
    default="",
    help="Metrics to show, comma-separated (e.g. mse,median_r2_featurewise,downstream/accuracy).",
)
@click.option("--baseline", default="ridge", show_default=True, help="Translator every other is compared with.")
@click.option(
    "--interval",
    type=click.Choice(["corrected_t", "bootstrap"]),
    default="corrected_t",
    show_default=True,
    help="Interval of the paired difference over outer splits.",
)
@click.option(
    "--cell",
    type=click.Choice(["sd", "ci"]),
    default="sd",
    show_default=True,
    help="Metric cells as mean ± sd or mean [95% interval] over outer splits.",
)
@click.option("--format", "fmt", type=click.Choice(["table", "markdown", "csv"]), default="table", show_default=True)
@click.option(
    "--store", type=click.Path(path_type=Path), default=Path("mlruns"), show_default=True, help="Tracking store folder."
)
@click.option("--uri", default=None, help="MLflow tracking URI (overrides --store).")
@click.option("--all", "show_all", is_flag=True, help="Every finished run, not only the newest per translator.")
@_user_errors
def leaderboard_cmd(
    experiment: str,
    sort: str,
    columns: str,
    baseline: str,
    interval: str,
    cell: str,
    fmt: str,
    store: Path,
    uri: str | None,
    show_all: bool,
) -> None:
    """Print an experiment's leaderboard from the MLflow store: mean over outer splits, paired
    difference to --baseline with its interval, controls as unranked reference rows."""
    from . import api
    from .leaderboard import format_table

    chosen = [c.strip() for c in columns.split(",") if c.strip()]
    table = api.leaderboard(
        experiment,
        store=store,
        uri=uri,
        sort=sort,
        latest_only=not show_all,
        baseline=baseline,
        interval=interval,
        columns=chosen,
    )
    kind: Literal["table", "markdown", "csv"] = "csv" if fmt == "csv" else "markdown" if fmt == "markdown" else "table"
    click.echo(format_table(table, kind, columns=chosen, sort=sort, cell="ci" if cell == "ci" else "sd"))


@cli.command(epilog=_example("omibench report brca laml coad rosmap --out reports/all"))
@click.argument("experiments", nargs=-1, required=True)
@click.option(
    "--store", type=click.Path(path_type=Path), default=Path("mlruns"), show_default=True, help="Tracking store folder."
)
@click.option("--uri", default=None, help="MLflow tracking URI (overrides --store).")
@click.option("--split", "split_hash", default=None, help="Split hash of Tables 1 and 3 (default: the newest run's).")
@click.option(
    "--out", type=click.Path(path_type=Path), default=None, help="Output folder (default: reports/<experiment>)."
)
@click.option("--baseline", default="ridge", show_default=True, help="Translator every other is compared with.")
@click.option(
    "--interval",
    type=click.Choice(["corrected_t", "bootstrap"]),
    default="corrected_t",
    show_default=True,
    help="Interval of the paired differences over outer splits.",
)
@click.option("--metric", default="median_r2_featurewise", show_default=True, help="Metric ranked across experiments.")
@click.option("--no-log", is_flag=True, help="Do not log the report to MLflow.")
@_user_errors
def report(
    experiments: tuple[str, ...],
    store: Path,
    uri: str | None,
    split_hash: str | None,
    out: Path | None,
    baseline: str,
    interval: str,
    metric: str,
    no_log: bool,
) -> None:
    """Write an experiment's HTML and Markdown report: Tables 1 and 3, intervals and paired differences
    over outer splits, the figures. Several experiments (one per cohort): average ranks with
    critical-difference diagrams (Friedman + Nemenyi, Wilcoxon-Holm) and each cohort's paired differences."""
    from . import api
    from .report_stats import CrossCohort

    result = api.report(
        experiments if len(experiments) > 1 else experiments[0],
        store=store,
        uri=uri,
        split_hash=split_hash,
        out=out,
        log=not no_log,
        baseline=baseline,
        interval=interval,
        metric=metric,
    )
    built = result.report
    if isinstance(built, CrossCohort):
        click.echo(
            f"report: {result.html} and {result.markdown} ({len(built.ranks)} translators ranked over "
            f"{len(built.cohorts)} experiments)"
        )
        return
    click.echo(
        f"report: {result.html} and {result.markdown} ({len(built.table1)} translators, {len(built.figures)} figures)"
    )
    if result.run_id:
        click.echo(f"logged as run {result.run_id}")


@cli.command(epilog=_example("omibench translate <run id> --input new_methylation.csv --output predicted.h5ad"))
@click.argument("model")
@click.option(
    "--input",
    "input_path",
    required=True,
    type=click.Path(path_type=Path),
    help="New methylation matrix (CSV/TSV/parquet, either orientation, or .h5ad with samples as obs).",
)
@click.option(
    "--output",
    "output_path",
    required=True,
    type=click.Path(path_type=Path),
    help="Where to write predicted expression (.csv, .tsv[.gz], .parquet, or .h5ad: AnnData, input obs kept).",
)
@click.option(
    "--labels",
    "labels_path",
    type=click.Path(path_type=Path),
    default=None,
    help="Sample labels: draw the Fig. 9 t-SNE.",
)
@click.option("--label-column", default=None, help="Column of --labels (default: the first).")
@click.option(
    "--figure",
    "figure_path",
    type=click.Path(path_type=Path),
    default=None,
    help="t-SNE PNG (default: beside --output).",
)
@click.option(
    "--store", type=click.Path(path_type=Path), default=Path("mlruns"), show_default=True, help="Tracking store folder."
)
@click.option("--uri", default=None, help="MLflow tracking URI (overrides --store).")
@click.option("--plugins-dir", "plugin_dirs", multiple=True, type=click.Path(path_type=Path), help=PLUGINS_HELP)
@_user_errors
def translate(
    model: str,
    input_path: Path,
    output_path: Path,
    labels_path: Path | None,
    label_column: str | None,
    figure_path: Path | None,
    store: Path,
    uri: str | None,
    plugin_dirs: tuple[Path, ...],
) -> None:
    """Predict expression for new methylation with a trained translator (MODEL: run id or model folder)."""
    from . import api

    result = api.translate(
        model,
        input_path,
        output_path,
        labels_path=labels_path,
        label_column=label_column,
        figure_path=figure_path,
        store=store,
        uri=uri,
        plugin_dirs=plugin_dirs,
    )
    counts = result.counts
    click.echo(
        f"{output_path}: {counts['samples']} samples x {result.n_genes} genes; {counts['missing_features']} model "
        f"features missing and {counts['missing_cells']} empty cells filled with training means, "
        f"{counts['extra_features']} extra features ignored"
    )
    if result.figure is not None:
        click.echo(f"{result.figure}: t-SNE of {result.n_labelled} labelled new samples with the real training set")


@cli.command(epilog=_example("omibench ui --store mlruns --port 5000"))
@click.option(
    "--store", type=click.Path(path_type=Path), default=Path("mlruns"), show_default=True, help="Tracking store folder."
)
@click.option("--port", type=click.IntRange(1, 65535), default=5000, show_default=True, help="Port on 127.0.0.1.")
@click.option(
    "--experiment", default=None, help="Print the leaderboard URL of this experiment (default: every one in the store)."
)
@_user_errors
def ui(store: Path, port: int, experiment: str | None) -> None:
    """Start the MLflow UI on the store (with this environment's MLflow) and print the leaderboard URLs.

    Each URL opens an experiment's runs page showing one summary run per translator, ranked by
    the metric of its last `omibench run`, with the leaderboard in the experiment's description."""
    import subprocess

    from . import api

    pages, command = api.ui_pages(store, experiment, port)
    for name, url in pages:
        _echo_err(f"{name}: {url}")
    _echo_err(f"MLflow UI on http://127.0.0.1:{port} (Ctrl-C stops it)")
    try:
        sys.exit(subprocess.call(command))
    except KeyboardInterrupt:
        sys.exit(0)


@cli.group()
def data() -> None:
    """Look at input files and run the preprocessing pipeline alone."""


@data.command("inspect", epilog=_example("omibench data inspect data/methylation.csv"))
@click.argument("file", type=click.Path(path_type=Path))
@_user_errors
def data_inspect(file: Path) -> None:
    """Summarise a matrix: shape, orientation guess, value range, missing values, scale guess."""
    from . import api

    for key, value in api.inspect(file).items():
        click.echo(f"{key:>18}: {value}")


@data.command("prepare", epilog=_example("omibench data prepare experiments/brca.yaml"))
@click.argument("config", type=click.Path(path_type=Path))
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help=SET_HELP)
@click.option("--plugins-dir", "plugin_dirs", multiple=True, type=click.Path(path_type=Path), help=PLUGINS_HELP)
@click.option("--store", type=click.Path(path_type=Path), default=None, help=STORE_HELP)
@_user_errors
def data_prepare(config: Path, overrides: tuple[str, ...], plugin_dirs: tuple[Path, ...], store: Path | None) -> None:
    """Load, pair, split and preprocess an experiment's data (cached), and report what came out."""
    from . import api

    p, _, store_dir = api.prepare_experiment(config, overrides, plugin_dirs, store, data_only=True)
    n = p.train.n_samples + p.val.n_samples + p.test.n_samples
    click.echo(f"dataset {p.train.name}: {n} paired samples, content hash {p.dataset_hash}")
    click.echo(
        f"split {p.split.hash}: {p.train.n_samples} train / {p.val.n_samples} val / {p.test.n_samples} test "
        f"(saved in {p.split.save(store_dir / 'splits' / f'{p.split.hash}.json')})"
    )
    click.echo(
        f"B: {p.train.b.shape[1]} features (first {', '.join(map(str, p.train.b_features[:3]))}), "
        f"range {float(p.train.b.min()):.4g}..{float(p.train.b.max()):.4g}"
    )
    click.echo(
        f"A: {p.train.a.shape[1]} features (first {', '.join(map(str, p.train.a_features[:3]))}), "
        f"range {float(p.train.a.min()):.4g}..{float(p.train.a.max()):.4g}"
    )
    if p.train.has_labels:
        import collections

        counts = collections.Counter(
            lab for lab in (p.train.labels if p.train.labels is not None else []) if lab is not None
        )
        click.echo(f"labels (train): {dict(sorted(counts.items()))}")
    click.echo(f"cache: {store_dir / 'cache'}")


def main() -> None:
    cli(prog_name="omibench")


if __name__ == "__main__":
    main()
