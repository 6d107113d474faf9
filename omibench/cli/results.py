"""``omibench leaderboard``, ``report`` and ``ui``: the commands that read finished runs back from the store."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Literal, cast

import click

from omibench.cli._common import comparison_options, echo_err, example, store_option, uri_option, user_errors

__all__ = ["leaderboard", "report", "ui"]


@click.command("leaderboard", epilog=example("omibench leaderboard quickstart --sort mse --baseline ridge --cell ci"))
@click.argument("experiment")
@click.option("--sort", default="median_r2_featurewise", show_default=True, help="Logged metric to rank by.")
@click.option(
    "--columns",
    default="",
    help="Metrics to show, comma-separated (e.g. mse,median_r2_featurewise,downstream/accuracy).",
)
@comparison_options
@click.option(
    "--cell",
    type=click.Choice(["sd", "ci"]),
    default="sd",
    show_default=True,
    help="Metric cells as mean ± sd or mean [95% interval] over outer splits.",
)
@click.option(
    "--ci",
    type=click.Choice(["corrected", "plain"]),
    default="corrected",
    show_default=True,
    help="Per-translator interval: corrected resampled t (the expected score at this training size) or the "
    "plain t over re-splits of this cohort.",
)
@click.option("--format", "fmt", type=click.Choice(["table", "markdown", "csv"]), default="table", show_default=True)
@store_option(from_yaml=False)
@uri_option
@click.option("--all", "show_all", is_flag=True, help="Every finished run, not only the newest per translator.")
@user_errors
def leaderboard(
    experiment: str,
    sort: str,
    columns: str,
    baseline: str,
    interval: str,
    cell: str,
    ci: str,
    fmt: str,
    store: Path,
    uri: str | None,
    show_all: bool,
) -> None:
    """Print an experiment's leaderboard from the MLflow store: mean over outer splits, paired
    difference to --baseline with its interval, controls as unranked reference rows."""
    from omibench import api

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
        ci=ci,
    )
    kind: Literal["table", "markdown", "csv"] = "csv" if fmt == "csv" else "markdown" if fmt == "markdown" else "table"
    click.echo(api.format_leaderboard(table, kind, chosen, sort, "ci" if cell == "ci" else "sd"))


@click.command(epilog=example("omibench report brca laml coad rosmap --out reports/all"))
@click.argument("experiments", nargs=-1, required=True)
@store_option(from_yaml=False)
@uri_option
@click.option("--split", "split_hash", default=None, help="Split hash of Tables 1 and 3 (default: the newest run's).")
@click.option(
    "--out", type=click.Path(path_type=Path), default=None, help="Output folder (default: reports/<experiment>)."
)
@comparison_options
@click.option("--metric", default="median_r2_featurewise", show_default=True, help="Metric ranked across experiments.")
@click.option("--no-log", is_flag=True, help="Do not log the report to MLflow.")
@user_errors
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
    from omibench import api

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
    if len(experiments) > 1:  # the report across experiments
        cross = cast("api.CrossCohort", result.report)
        click.echo(
            f"report: {result.html} and {result.markdown} ({len(cross.ranks)} translators ranked over "
            f"{len(cross.cohorts)} experiments)"
        )
        return
    built = cast("api.Report", result.report)
    click.echo(
        f"report: {result.html} and {result.markdown} ({len(built.table1)} translators, {len(built.figures)} figures)"
    )
    if result.run_id:
        click.echo(f"logged as run {result.run_id}")


@click.command(epilog=example("omibench ui --store mlruns --port 5000"))
@store_option(from_yaml=False)
@click.option("--port", type=click.IntRange(1, 65535), default=5000, show_default=True, help="Port on 127.0.0.1.")
@click.option(
    "--experiment", default=None, help="Print the leaderboard URL of this experiment (default: every one in the store)."
)
@click.option(
    "--workers", type=click.IntRange(min=1), default=None, help="Server worker processes (default: MLflow's, 4)."
)
@user_errors
def ui(store: Path, port: int, experiment: str | None, workers: int | None) -> None:
    """Start the MLflow UI on the store (with this environment's MLflow) and print the leaderboard URLs.

    Each URL opens an experiment's runs page showing one summary run per translator, ranked by
    the metric of its last `omibench run`, with the leaderboard in the experiment's description.
    The server is this command's child: Ctrl-C, SIGTERM or SIGHUP to this command stops all of its
    processes within seconds, and it never outlives this command."""
    from omibench import api

    pages, command = api.ui_pages(store, experiment, port, workers)
    for name, url in pages:
        echo_err(f"{name}: {url}")
    echo_err(f"MLflow UI on http://127.0.0.1:{port} (Ctrl-C stops it)")
    sys.exit(api.serve_ui(command))
