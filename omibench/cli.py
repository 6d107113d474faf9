"""The ``omibench`` command line: the only module that parses arguments or prints for people.

Heavy libraries (MLflow, torch, pandas) are imported inside the commands so that ``--help``
answers at once.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any, Callable

import click

from ._errors import OmibenchError

__all__ = ["main"]

USER_ERROR = 2


def _echo_err(message: str) -> None:
    click.echo(message, err=True)


def _user_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn OmibenchError into one line on stderr and exit status 2 (no traceback)."""
    import functools

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except OmibenchError as exc:
            _echo_err(f"error: {exc}")
            sys.exit(USER_ERROR)

    return wrapper


def _registry(plugin_dirs: tuple[Path, ...] | list[Path], quiet: bool = False):  # type: ignore[no-untyped-def]
    from .plugins import load_registry

    registry = load_registry(plugin_dirs)
    if not quiet:
        for problem in registry.problems:
            _echo_err(f"warning: plugin problem: {problem}")
    return registry


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="omibench")
@click.option("-v", "--verbose", is_flag=True, help="Show debug logging.")
def cli(verbose: bool) -> None:
    """Benchmark omics-to-omics translators (methylation -> expression), tracked in MLflow."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING, format="%(levelname)s: %(message)s")
    # our own warnings (dropped samples, dropped features) are for people
    logging.getLogger("omibench").setLevel(logging.DEBUG if verbose else logging.INFO)
    # mlflow resets its logger when imported; this variable is what it reads then
    import os

    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "DEBUG" if verbose else "WARNING")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")


@cli.command()
@click.argument("config", type=click.Path(path_type=Path))
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override a YAML field, e.g. --set seeds=[0,1,2].")
@click.option("--plugins-dir", "plugin_dirs", multiple=True, type=click.Path(path_type=Path), help="Folder of local *.py plugins.")
@click.option("--force", is_flag=True, help="Rerun translators that already have a finished run.")
@click.option("--store", type=click.Path(path_type=Path), default=None, help="Tracking store folder (default: tracking.store, mlruns).")
@click.option("--sort", default=None, help="Leaderboard metric (default: median_r2_featurewise).")
@click.option("--tuned", is_flag=True, help="Use each translator's best tuned parameters (from `omibench tune`).")
@click.option("--storage", default=None, help="Optuna storage of the tuning studies (default: the store's journal).")
@click.option("--executor", type=click.Choice(["inline", "local", "ray"]), default=None,
              help="Where jobs run (default: the YAML's executor.kind, inline).")
@_user_errors
def run(config: Path, overrides: tuple[str, ...], plugin_dirs: tuple[Path, ...], force: bool, store: Path | None,
        sort: str | None, tuned: bool, storage: str | None, executor: str | None) -> None:
    """Run every translator of an experiment YAML and print the leaderboard."""
    from .config import load_config
    from .leaderboard import DEFAULT_SORT, format_table, leaderboard
    from .preparation import prepare
    from .runner import run_experiment
    from .tracking import Tracker

    cfg = load_config(config, overrides)
    dirs = list(plugin_dirs) + ([cfg.plugins_dir] if cfg.plugins_dir else [])
    registry = _registry(dirs)
    _echo_err(f"omibench: preparing {cfg.name!r} (data source {cfg.data['source']!r})")
    store_dir = Path(store or cfg.tracking.store)
    prepared = prepare(cfg, registry, store_dir / "cache")
    _echo_err(f"omibench: {prepared.train.n_samples} train / {prepared.val.n_samples} val / {prepared.test.n_samples} test samples, "
              f"{prepared.train.b.shape[1]} -> {prepared.train.a.shape[1]} features, split {prepared.split.hash}")
    tracker = Tracker(store_dir, cfg.tracking.uri)
    if tuned:
        prepared = _apply_tuned(prepared, config, overrides, dirs, storage, str(tracker.store))
    ex = cfg.executor
    outcomes = run_experiment(prepared, tracker, force=force, show_progress=sys.stderr.isatty(), echo=_echo_err,
                              executor=executor or ex.kind, plugin_dirs=[str(d) for d in dirs],
                              gpus=ex.gpus, cpu_workers=ex.cpu_workers, address=ex.address)

    table = leaderboard(tracker, cfg.experiment_name, sort=sort or DEFAULT_SORT, split_hash=prepared.split.hash,
                        dataset_hash=prepared.dataset_hash)
    click.echo(f"\nLeaderboard: {cfg.experiment_name} (test split, {len(cfg.seeds)} seed(s), sorted by {sort or DEFAULT_SORT})")
    click.echo(format_table(table) if not table.empty else "(no finished runs)")
    exp_id = tracker.experiment_id(cfg.experiment_name, create=False)
    click.echo(f"\nBrowse it:  {tracker.ui_command()}\n            then open {tracker.ui_url(exp_id or '0')}")
    failed = [o for o in outcomes if o.status == "FAILED"]
    if failed:
        for o in failed:
            _echo_err(f"FAILED {o.label}: {o.error.splitlines()[0] if o.error else ''} (run {o.run_id})")
        sys.exit(1)


def _apply_tuned(prepared, config, overrides, dirs, storage, store):  # type: ignore[no-untyped-def]
    from .preparation import with_params
    from .tuning import TuneRequest, study_name, tuned_params

    for plan in prepared.translators:
        request = TuneRequest(str(config), tuple(overrides), tuple(map(str, dirs)), plan.entry.display, storage=storage, store=store)
        best = tuned_params(request, prepared, plan)
        if best is None:
            _echo_err(f"omibench: {plan.entry.display}: no tuning trial finished (or no study yet), default parameters kept")
            continue
        _echo_err(f"omibench: {plan.entry.display}: tuned parameters {best}")
        prepared = with_params(prepared, plan.entry.display, best, study_name(prepared, plan))
    return prepared


@cli.command()
@click.argument("config", type=click.Path(path_type=Path))
@click.option("--translator", "label", required=True, help="Label (or name) of the experiment's translator to tune.")
@click.option("--trials", type=click.IntRange(min=1), required=True, help="Trials to add to the study.")
@click.option("--timeout", type=float, default=None, help="Time budget: no trial starts after this many seconds, and a trial still training then is pruned.")
@click.option("--jobs", type=click.IntRange(min=1), default=1, show_default=True, help="Worker processes (one GPU each when GPUs exist).")
@click.option("--metric", type=click.Choice(["val_mse", "val_median_r2_featurewise"]), default="val_mse", show_default=True)
@click.option("--pruner", type=click.Choice(["median", "hyperband", "none"]), default="median", show_default=True)
@click.option("--storage", default=None, help="Optuna storage URL or journal file (default: <store>/optuna.journal).")
@click.option("--export", "export", type=click.Path(path_type=Path), default=None, help="Write the experiment YAML with the best parameters.")
@click.option("--seed", type=int, default=0, show_default=True, help="Sampler seed.")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE")
@click.option("--plugins-dir", "plugin_dirs", multiple=True, type=click.Path(path_type=Path))
@click.option("--store", type=click.Path(path_type=Path), default=None)
@_user_errors
def tune(config: Path, label: str, trials: int, timeout: float | None, jobs: int, metric: str, pruner: str,
         storage: str | None, export: Path | None, seed: int, overrides: tuple[str, ...], plugin_dirs: tuple[Path, ...],
         store: Path | None) -> None:
    """Tune one translator of an experiment with Optuna on the validation split."""
    import yaml

    from .config import load_config
    from .preparation import prepare
    from .tracking import Tracker
    from .tuning import TuneRequest, run_trials, study_name, sync_to_mlflow

    cfg = load_config(config, overrides)
    dirs = list(plugin_dirs) + ([cfg.plugins_dir] if cfg.plugins_dir else [])
    registry = _registry(dirs)
    labels = [t.display for t in cfg.translators]
    if label not in labels:
        raise OmibenchError(f"{config}: no translator labelled {label!r} in this experiment (it has {', '.join(labels)})")
    cfg = cfg.model_copy(update={"translators": [t for t in cfg.translators if t.display == label]})
    prepared = prepare(cfg, registry)
    plan = prepared.translators[0]
    tracker = Tracker(store or cfg.tracking.store, cfg.tracking.uri)
    request = TuneRequest(str(config), tuple(overrides), tuple(map(str, dirs)), label, metric, storage,
                          str(tracker.store), pruner, seed)

    def on_trial(trial) -> None:  # type: ignore[no-untyped-def]
        value = "" if trial.value is None else f" {metric}={trial.value:.5g}"
        _echo_err(f"  trial {trial.number}: {trial.state.name}{value} {trial.user_attrs.get('translator_params', {})}")

    _echo_err(f"omibench: tuning {label} ({trials} trials, {jobs} worker(s)), study {study_name(prepared, plan)}")
    study = run_trials(request, prepared, plan, trials, timeout, jobs, on_trial)
    parent = sync_to_mlflow(study, tracker, prepared, plan, metric)
    states = [t.state.name for t in study.trials]
    click.echo(f"study {study.study_name}: {len(states)} trials ({states.count('COMPLETE')} complete, "
               f"{states.count('PRUNED')} pruned, {states.count('FAIL')} failed); MLflow run {parent}")
    best = study.best_trial if states.count("COMPLETE") else None
    if best is None:
        raise OmibenchError("no trial completed: check the failed or pruned trials in MLflow, or raise --trials / --timeout")
    params = best.user_attrs.get("translator_params", {})
    click.echo(f"best trial {best.number}: {metric}={best.value:.6g} with {params}")
    click.echo(f"score it like every other run:  omibench run {config} --tuned")
    if export:
        raw = yaml.safe_load(Path(config).read_text())
        from .config import apply_overrides

        raw = apply_overrides(raw, overrides)
        for entry in raw["translators"]:
            if (entry.get("label") or entry["name"]) == label:
                entry["params"] = {**entry.get("params", {}), **params}
        export.write_text(yaml.safe_dump(raw, sort_keys=False))
        click.echo(f"wrote {export}")


@cli.command()
@click.argument("config", type=click.Path(path_type=Path))
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE")
@click.option("--plugins-dir", "plugin_dirs", multiple=True, type=click.Path(path_type=Path))
@click.option("--store", type=click.Path(path_type=Path), default=None)
@_user_errors
def downstream(config: Path, overrides: tuple[str, ...], plugin_dirs: tuple[Path, ...], store: Path | None) -> None:
    """Add Table 3 (the downstream classifier) to finished runs of an experiment that lack it."""
    from .config import load_config
    from .preparation import prepare
    from .runner import add_downstream
    from .tracking import Tracker

    cfg = load_config(config, overrides)
    registry = _registry(list(plugin_dirs) + ([cfg.plugins_dir] if cfg.plugins_dir else []), quiet=True)
    store_dir = Path(store or cfg.tracking.store)
    prepared = prepare(cfg, registry, store_dir / "cache")
    n = add_downstream(prepared, Tracker(store_dir, cfg.tracking.uri), _echo_err)
    click.echo(f"{cfg.experiment_name}: {n} finished translator run(s) on split {prepared.split.hash} have Table 3")


@cli.command()
@click.option("--plugins-dir", "plugin_dirs", multiple=True, type=click.Path(path_type=Path))
@_user_errors
def plugins(plugin_dirs: tuple[Path, ...]) -> None:
    """List registered translators and data sources: name, origin, default parameters."""
    import json

    registry = _registry(plugin_dirs)
    click.echo("Translators:")
    for name, reg in sorted(registry.translators.items()):
        params = json.dumps(dict(reg.cls.default_params), default=str)
        click.echo(f"  {name:<20} {reg.source}\n  {'':<20} defaults {params}")
    click.echo("Data sources:")
    for name, reg in sorted(registry.datasets.items()):
        click.echo(f"  {name:<20} {reg.source}")


@cli.command("check-plugin")
@click.argument("name")
@click.option("--plugins-dir", "plugin_dirs", multiple=True, type=click.Path(path_type=Path))
@_user_errors
def check_plugin(name: str, plugin_dirs: tuple[Path, ...]) -> None:
    """Run the conformance check on one translator (tiny fit / predict / save / load)."""
    from .conformance import check_translator

    cls = _registry(plugin_dirs).translator(name)
    results = check_translator(cls)
    for r in results:
        click.echo(f"  {'PASS' if r.passed else 'FAIL'}  {r.name:<26} {r.detail}")
    failed = sum(not r.passed for r in results)
    click.echo(f"{name}: {len(results) - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


@cli.command("leaderboard")
@click.argument("experiment")
@click.option("--sort", default="median_r2_featurewise", show_default=True, help="Test metric to rank by.")
@click.option("--format", "fmt", type=click.Choice(["table", "markdown", "csv"]), default="table", show_default=True)
@click.option("--store", type=click.Path(path_type=Path), default=Path("mlruns"), show_default=True)
@click.option("--uri", default=None, help="MLflow tracking URI (overrides --store).")
@click.option("--all", "show_all", is_flag=True, help="Every finished run, not only the newest per translator and split.")
@_user_errors
def leaderboard_cmd(experiment: str, sort: str, fmt: str, store: Path, uri: str | None, show_all: bool) -> None:
    """Print an experiment's leaderboard from the MLflow store."""
    from .leaderboard import format_table, leaderboard
    from .metrics import METRIC_NAMES
    from .tracking import Tracker

    if sort not in METRIC_NAMES:
        raise click.BadParameter(f"{sort!r} is not a metric; choose one of {', '.join(METRIC_NAMES)}", param_hint="--sort")
    tracker = Tracker(store, uri)
    table = leaderboard(tracker, experiment, sort=sort, latest_only=not show_all)
    if table.empty:
        raise OmibenchError(f"no finished runs of experiment {experiment!r} in {tracker.uri}: run `omibench run` first or check --store")
    click.echo(format_table(table, fmt))  # type: ignore[arg-type]


@cli.command()
@click.argument("experiment")
@click.option("--store", type=click.Path(path_type=Path), default=Path("mlruns"), show_default=True)
@click.option("--uri", default=None, help="MLflow tracking URI (overrides --store).")
@click.option("--split", "split_hash", default=None, help="Split hash (default: the newest run's split).")
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Output folder (default: reports/<experiment>).")
@click.option("--no-log", is_flag=True, help="Do not log the report to MLflow.")
@_user_errors
def report(experiment: str, store: Path, uri: str | None, split_hash: str | None, out: Path | None, no_log: bool) -> None:
    """Write an experiment's HTML and Markdown report: Tables 1 and 3 and the figures."""
    from .report import build_report, log_report, write_report
    from .tracking import Tracker

    tracker = Tracker(store, uri)
    built = build_report(tracker, experiment, split_hash)
    html_path, md_path = write_report(built, out or Path("reports") / experiment)
    click.echo(f"report: {html_path} and {md_path} ({len(built.table1)} translators, {len(built.figures)} figures)")
    if not no_log:
        click.echo(f"logged as run {log_report(tracker, built, html_path.parent)}")


@cli.command()
@click.argument("model")
@click.option("--input", "input_path", required=True, type=click.Path(path_type=Path), help="New methylation matrix (CSV/TSV/parquet, either orientation).")
@click.option("--output", "output_path", required=True, type=click.Path(path_type=Path), help="Where to write predicted expression (.csv, .tsv[.gz], .parquet).")
@click.option("--labels", "labels_path", type=click.Path(path_type=Path), default=None, help="Sample labels: draw the Fig. 9 t-SNE.")
@click.option("--label-column", default=None, help="Column of --labels (default: the first).")
@click.option("--figure", "figure_path", type=click.Path(path_type=Path), default=None, help="t-SNE PNG (default: beside --output).")
@click.option("--store", type=click.Path(path_type=Path), default=Path("mlruns"), show_default=True)
@click.option("--uri", default=None, help="MLflow tracking URI (overrides --store).")
@click.option("--plugins-dir", "plugin_dirs", multiple=True, type=click.Path(path_type=Path))
@_user_errors
def translate(model: str, input_path: Path, output_path: Path, labels_path: Path | None, label_column: str | None,
              figure_path: Path | None, store: Path, uri: str | None, plugin_dirs: tuple[Path, ...]) -> None:
    """Predict expression for new methylation with a trained translator (MODEL: run id or model folder)."""
    import tempfile

    from .data.tabular import read_table
    from .tracking import Tracker
    from .translate import load_trained, orient_samples, translate_frame, translation_figure, write_matrix

    if not output_path.name.lower().removesuffix(".gz").endswith((".csv", ".tsv", ".txt", ".parquet", ".pq")):
        raise OmibenchError(f"{output_path}: unknown output type; use .csv, .tsv (optionally .gz) or .parquet")
    with tempfile.TemporaryDirectory() as tmp:
        trained = load_trained(model, _registry(plugin_dirs, quiet=True), Tracker(store, uri), Path(tmp))
        frame = orient_samples(read_table(input_path, numeric=True), [str(f) for f in trained.preprocessor.b_features_in_], input_path)
        pred, counts = translate_frame(trained, frame, str(input_path))
        write_matrix(pred, output_path)
        click.echo(f"{output_path}: {counts['samples']} samples x {pred.shape[1]} genes; {counts['missing_features']} model "
                   f"features missing and {counts['missing_cells']} empty cells filled with training means, "
                   f"{counts['extra_features']} extra features ignored")
        if labels_path is not None:
            figure = figure_path or output_path.with_suffix(".tsne.png")
            n = translation_figure(trained, pred, labels_path, label_column, figure)
            click.echo(f"{figure}: t-SNE of {n} labelled new samples with the real training set")


@cli.group()
def data() -> None:
    """Look at input files and run the preprocessing pipeline alone."""


@data.command("inspect")
@click.argument("file", type=click.Path(path_type=Path))
@_user_errors
def data_inspect(file: Path) -> None:
    """Summarise a matrix: shape, orientation guess, value range, missing values, scale guess."""
    from .data.inspect import inspect_matrix

    for key, value in inspect_matrix(file).items():
        click.echo(f"{key:>18}: {value}")


@data.command("prepare")
@click.argument("config", type=click.Path(path_type=Path))
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE")
@click.option("--plugins-dir", "plugin_dirs", multiple=True, type=click.Path(path_type=Path))
@click.option("--store", type=click.Path(path_type=Path), default=None)
@_user_errors
def data_prepare(config: Path, overrides: tuple[str, ...], plugin_dirs: tuple[Path, ...], store: Path | None) -> None:
    """Load, pair, split and preprocess an experiment's data (cached), and report what came out."""
    from .config import load_config
    from .preparation import prepare

    cfg = load_config(config, overrides)
    registry = _registry(list(plugin_dirs) + ([cfg.plugins_dir] if cfg.plugins_dir else []), quiet=True)
    cfg = cfg.model_copy(update={"translators": cfg.translators[:1]})  # translators play no part here
    store_dir = Path(store or cfg.tracking.store)
    p = prepare(cfg, registry, store_dir / "cache")
    n = p.train.n_samples + p.val.n_samples + p.test.n_samples
    click.echo(f"dataset {p.train.name}: {n} paired samples, content hash {p.dataset_hash}")
    click.echo(f"split {p.split.hash}: {p.train.n_samples} train / {p.val.n_samples} val / {p.test.n_samples} test "
               f"(saved in {p.split.save(store_dir / 'splits' / f'{p.split.hash}.json')})")
    click.echo(f"B: {p.train.b.shape[1]} features (first {', '.join(map(str, p.train.b_features[:3]))}), "
               f"range {float(p.train.b.min()):.4g}..{float(p.train.b.max()):.4g}")
    click.echo(f"A: {p.train.a.shape[1]} features (first {', '.join(map(str, p.train.a_features[:3]))}), "
               f"range {float(p.train.a.min()):.4g}..{float(p.train.a.max()):.4g}")
    if p.train.has_labels:
        import collections

        counts = collections.Counter(lab for lab in p.train.labels if lab is not None)  # type: ignore[union-attr]
        click.echo(f"labels (train): {dict(sorted(counts.items()))}")
    click.echo(f"cache: {store_dir / 'cache'}")


def main() -> None:
    cli(prog_name="omibench")


if __name__ == "__main__":
    main()
