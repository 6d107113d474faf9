"""``omibench data inspect``, ``data fetch``, ``data prepare`` and ``translate``: input files, public
datasets' downloads, the preprocessing alone, and predictions for new data."""

from __future__ import annotations

from pathlib import Path

import click

from omibench.api_tools import MIRROR_ENV
from omibench.cli._common import (
    echo_err,
    example,
    plugins_dir_option,
    set_option,
    store_option,
    uri_option,
    user_errors,
)

__all__ = ["data", "translate"]


@click.group()
def data() -> None:
    """Look at input files, download public datasets, run the preprocessing pipeline alone."""


@data.command("inspect", epilog=example("omibench data inspect data/methylation.csv"))
@click.argument("file", type=click.Path(path_type=Path))
@user_errors
def data_inspect(file: Path) -> None:
    """Summarise a matrix: shape, orientation guess, value range, missing values, scale guess."""
    from omibench import api

    for key, value in api.inspect(file).items():
        click.echo(f"{key:>18}: {value}")


@data.command("fetch", epilog=example("omibench data fetch tcga --to data/tcga"))
@click.argument("dataset")
@click.option(
    "--to",
    type=click.Path(path_type=Path),  # checked by api.fetch_data (check_output): one line, exit 2
    default=None,
    help="Folder for the files (default: data/DATASET, where the dataset's experiment YAML looks).",
)
@click.option(
    "--mirror",
    default=None,
    envvar=MIRROR_ENV,
    show_envvar=True,
    help="Base URL (http, https or file) of a mirror serving the same files by name, checked as the originals are.",
)
@user_errors
def data_fetch(dataset: str, to: Path | None, mirror: str | None) -> None:
    """Download a public dataset's input files: `tcga`, the paper's (the UCSC Xena GDC Pan-Cancer
    methylation 450K and expression matrices, the phenotype table, OmiTrans's test ids).

    Files already there are skipped; an interrupted download resumes where it stopped (rerun the
    same command). Each file is put under its name only when whole and checked: the test-id list
    against its recorded size and SHA-256, the Xena files against the size the server announces
    (their first download's SHA-256 is recorded beside them, as NAME.sha256)."""
    from omibench import api

    fetched = api.fetch_data(dataset, to, mirror=mirror, echo=echo_err)
    folder = fetched[0].path.parent if fetched else to
    click.echo(f"{dataset}: {len(fetched)} files in {folder}")


@data.command("prepare", epilog=example("omibench data prepare experiments/brca.yaml"))
@click.argument("config", type=click.Path(path_type=Path))
@set_option
@plugins_dir_option
@store_option(from_yaml=True)
@user_errors
def data_prepare(config: Path, overrides: tuple[str, ...], plugin_dirs: tuple[Path, ...], store: Path | None) -> None:
    """Load, pair, split and preprocess an experiment's data (cached), and report what came out."""
    from omibench import api

    p, _, store_dir = api.prepare_experiment(config, overrides, plugin_dirs, store, data_only=True)
    n = p.train.n_samples + p.val.n_samples + p.test.n_samples
    click.echo(f"dataset {p.train.name}: {n} paired samples, content hash {p.dataset_hash}")
    click.echo(
        f"split {p.split.hash}: {p.train.n_samples} train / {p.val.n_samples} val / {p.test.n_samples} test "
        f"(saved in {p.save_splits(store_dir)[0]})"
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
    click.echo(f"cache: {p.cache_dir}")


@click.command(epilog=example("omibench translate <run id> --input new_methylation.csv --output predicted.h5ad"))
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
@store_option(from_yaml=False)
@uri_option
@plugins_dir_option
@user_errors
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
    from omibench import api

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
