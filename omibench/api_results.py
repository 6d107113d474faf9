"""The read side of the API: leaderboards and reports from a store, and a trained translator applied to
new data. Re-exported by :mod:`omibench.api` (``omibench.api.leaderboard`` ...), which is where users
import them from."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from omibench.errors import OmibenchError, check_output

if TYPE_CHECKING:
    import pandas as pd

    from omibench.report.cohorts import CrossCohort
    from omibench.report.document import Report
    from omibench.results.analysis import PairedMethod
    from omibench.store import Store

__all__ = [
    "ReportResult",
    "TranslateResult",
    "format_leaderboard",
    "leaderboard",
    "leaderboard_of",
    "report",
    "translate",
]

DEFAULT_WAIT_S = 10.0  # how long a second process waits for an experiment's lock before refusing


@dataclass
class ReportResult:
    report: Report | CrossCohort  # one experiment's report, or the comparison across several
    html: Path
    markdown: Path
    run_id: str | None


@dataclass
class TranslateResult:
    output: Path
    counts: dict[str, int]
    n_genes: int
    figure: Path | None = None
    n_labelled: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def leaderboard(
    experiment: str,
    *,
    store: str | Path = "mlruns",
    uri: str | None = None,
    sort: str | None = None,
    latest_only: bool = True,
    baseline: str = "ridge",
    interval: str = "corrected_t",
    columns: Sequence[str] = (),
    ci: str = "corrected",
) -> pd.DataFrame:
    """An experiment's leaderboard read from the store (one row per translator, best first): each
    metric's mean over outer splits with its interval (``ci``: ``corrected``, the default, or ``plain``),
    the ranking on matched splits, the skill score and the paired difference to ``baseline``.
    ``sort`` and ``columns`` must be logged metrics (checked before the runs' children are read)."""
    from omibench.store import MlflowStore

    st = MlflowStore(store, uri)
    if st.exists():
        st.check(write=False)
    table = leaderboard_of(
        st, experiment, sort=sort, latest_only=latest_only, baseline=baseline, interval=interval, columns=columns, ci=ci
    )
    if table.empty:
        raise OmibenchError(
            f"no finished runs of experiment {experiment!r} in {st.uri}: run `omibench run` first or check --store"
        )
    return table


def leaderboard_of(
    st: Store,
    experiment: str,
    *,
    sort: str | None = None,
    split_hash: str | None = None,
    dataset_hash: str | None = None,
    latest_only: bool = True,
    baseline: str = "ridge",
    interval: str = "corrected_t",
    columns: Sequence[str] = (),
    ci: str = "corrected",
) -> pd.DataFrame:
    """:func:`leaderboard` on an open store (empty when the experiment has no finished run)."""
    from omibench import results
    from omibench.report.leaderboard import DEFAULT_SORT, check_metric, frame

    available = results.available_metrics(st, experiment, split_hash, dataset_hash)
    if not available:
        import pandas

        return pandas.DataFrame()
    sort = check_metric(sort or DEFAULT_SORT, available)
    for column in columns:
        check_metric(column, available, "--columns")
    found = results.load(
        st,
        experiment,
        split_hash=split_hash,
        dataset_hash=dataset_hash,
        latest_only=latest_only,
        legacy_controls=_registered_controls,
    )
    return frame(
        found,
        sort,
        baseline=baseline,
        interval="bootstrap" if interval == "bootstrap" else "corrected_t",
        ci="plain" if ci == "plain" else "corrected",
    )


def _registered_controls() -> frozenset[str]:
    """Names of the registered translators that are controls: only for runs written before the runner
    tagged each run's control status (loading the registry imports every plugin)."""
    from omibench.contract.registry import load_registry

    try:
        registry = load_registry()
    except OmibenchError:
        return frozenset()
    return frozenset(name for name, reg in registry.translators.items() if getattr(reg.cls, "control", False))


def report(
    experiment: str | Sequence[str],
    *,
    store: str | Path = "mlruns",
    uri: str | None = None,
    split_hash: str | None = None,
    out: Path | None = None,
    log: bool = True,
    baseline: str = "ridge",
    interval: str = "corrected_t",
    metric: str = "median_r2_featurewise",
) -> ReportResult:
    """Write an experiment's HTML and Markdown report (Tables 1 and 3, intervals and paired differences
    to ``baseline`` over outer splits, figures) from the store; by default into ``reports/<experiment>``
    and logged as a ``report`` run. Given several experiments (cohorts), write the report across them
    instead: average ranks on ``metric`` with critical-difference diagrams and each cohort's paired
    differences (not logged: it belongs to no single experiment)."""
    from omibench import results
    from omibench.report.cohorts import cross_cohort
    from omibench.report.document import build_report, default_out, log_report, write_cross_report, write_report
    from omibench.store import ExperimentLock, MlflowStore

    method: PairedMethod = "bootstrap" if interval == "bootstrap" else "corrected_t"
    names = [experiment] if isinstance(experiment, str) else list(experiment)
    out = check_output(out or default_out("+".join(names)), "--out", folder=True)
    st = MlflowStore(store, uri)
    st.check(write=log and len(names) == 1)
    found = []
    for name in names:
        one = results.load(st, name, split_hash=split_hash, legacy_controls=_registered_controls)
        if not len(one):
            raise OmibenchError(
                f"no finished runs of experiment {name!r} in {st.uri}: run `omibench run` first or check --store"
            )
        found.append(one)
    if len(names) > 1:
        cross = cross_cohort(found, metric=metric, baseline=baseline, method=method)
        html_path, md_path = write_cross_report(cross, out or default_out("+".join(names)))
        return ReportResult(cross, html_path, md_path, None)  # ReportResult.report: Report or CrossCohort
    built = build_report(st, found[0], sort=metric, baseline=baseline, interval=method)
    html_path, md_path = write_report(built, out or default_out(names[0]))
    run_id = None
    if log:
        with ExperimentLock(st.path, names[0], "omibench report", DEFAULT_WAIT_S):
            run_id = log_report(st, built, html_path.parent)
    return ReportResult(built, html_path, md_path, run_id)


def translate(
    model: str,
    input_path: Path,
    output_path: Path,
    *,
    labels_path: Path | None = None,
    label_column: str | None = None,
    figure_path: Path | None = None,
    store: str | Path = "mlruns",
    uri: str | None = None,
    plugin_dirs: Sequence[str | Path] = (),
) -> TranslateResult:
    """Predict expression for new methylation with a trained translator (a run id or a model folder)."""
    import tempfile

    from omibench.contract.registry import load_registry
    from omibench.data.tabular import read_table
    from omibench.run.translate import (
        OUTPUT_TYPES,
        load_trained,
        orient_samples,
        read_h5ad,
        translate_frame,
        translation_figure,
        write_matrix,
    )
    from omibench.store import MlflowStore

    output_path, input_path = Path(output_path), Path(input_path)
    kinds = (".csv", ".tsv", ".txt", ".parquet", ".pq", ".h5ad")
    if not output_path.name.lower().removesuffix(".gz").endswith(kinds):
        raise OmibenchError(f"{output_path}: unknown output type; {OUTPUT_TYPES}")
    if output_path.suffix.lower() == ".h5ad":
        from omibench.run.translate import _anndata

        _anndata()  # a missing anndata is one line before any work
    check_output(output_path, "--output")
    if labels_path is not None:
        check_output(figure_path or output_path.with_suffix(".tsne.png"), "--figure")
    st = MlflowStore(store, uri)
    if st.exists():
        st.check(write=False)
    with tempfile.TemporaryDirectory() as tmp:
        trained = load_trained(model, load_registry(plugin_dirs), st, Path(tmp))
        obs = None
        if input_path.suffix.lower() == ".h5ad":
            raw, obs = read_h5ad(input_path)
        else:
            raw = read_table(input_path, numeric=True)
        frame = orient_samples(raw, [str(f) for f in trained.preprocessor.b_features_in_], input_path)
        pred, counts = translate_frame(trained, frame, str(input_path))
        write_matrix(pred, output_path, obs)
        result = TranslateResult(output_path, counts, pred.shape[1])
        if labels_path is not None:
            result.figure = figure_path or output_path.with_suffix(".tsne.png")
            result.n_labelled = translation_figure(trained, pred, labels_path, label_column, result.figure)
    return result


def format_leaderboard(
    table: pd.DataFrame,
    fmt: Literal["table", "markdown", "csv"] = "table",
    columns: Sequence[str] = (),
    sort: str | None = None,
    cell: Literal["sd", "ci"] = "sd",
) -> str:
    """A leaderboard (from :func:`leaderboard` or ``Results.leaderboard``) as text: aligned columns,
    Markdown or CSV; ``columns`` the metrics to show, ``cell`` ``mean ± sd`` or ``mean [95% interval]``."""
    from omibench.report.leaderboard import format_table

    return format_table(table, fmt, columns=columns, sort=sort, cell=cell)
