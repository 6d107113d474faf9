"""``omibench report``: one self-contained page per experiment, laid out like the paper.

Table 1 (the nine reconstruction metrics) and Table 3 (the downstream classifier, with the real
test data as "original data"), one row per translator, mean ± sd over seeds, each row with its
config hash, split hash and run id; then the uncertainty over outer splits (each metric's mean with
a 95% interval, the paired difference of every translator to a baseline with P(better), and the
paired-difference figure: :mod:`omibench.report_stats`); then the comparison figure and each
translator's figures (R² histograms, best-gene scatter, t-SNE) from its first seed. Written as HTML
(jinja2, figures embedded) and Markdown (figures beside it), and logged to MLflow as a ``report`` run.
"""

from __future__ import annotations

import io
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ._errors import OmibenchError
from .downstream import DOWNSTREAM_METRICS, REFERENCE_LABEL
from .figures import comparison_figure
from .leaderboard import SHORT_NAMES as _SHORT
from .metrics import LOWER_IS_BETTER, METRIC_NAMES
from .report_pages import Section, write_pages
from .report_stats import CohortStats, CrossCohort, cohort_stats
from .store import Run, RunLevel, Store, Tags, report_experiment
from .uncertainty import IntervalMethod

__all__ = ["Report", "build_report", "default_out", "log_report", "write_cross_report", "write_report"]

LEVEL_REPORT = RunLevel.REPORT.value
_RUN_FIGURES = (
    ("results/r2_histograms.png", "R² histograms (Figs 6, 7)"),
    ("results/top_genes_scatter.png", "best-predicted genes, real vs predicted (supp. Fig. 5)"),
    ("downstream/tsne.png", "classifier latent space, real training + translated test (Fig. 8)"),
)


@dataclass
class Report:
    experiment: str
    split_hash: str
    table1: pd.DataFrame  # translator, seeds, metrics as "mean ± sd", config, split, run
    table3: pd.DataFrame  # translator, downstream metrics as "mean ± sd", note
    figures: list[tuple[str, str, bytes]] = field(default_factory=list)  # (section, caption, png)
    stats: CohortStats | None = None  # intervals and paired differences over outer splits


def _pm(mean: float | None, sd: float | None) -> str:
    if mean is None or (isinstance(mean, float) and np.isnan(mean)):
        return "–"
    text = f"{mean:.4g}"
    if sd is not None and not np.isnan(sd):
        text += f" ± {sd:.2g}"
    return text


def default_out(experiment: str) -> Path:
    """``reports/<experiment>`` with the name made a plain folder name: an experiment called
    ``../x`` cannot send the report outside the working folder."""
    slug = "".join(c if c.isalnum() or c in "-_." else "_" for c in experiment).strip(".") or "experiment"
    return Path("reports") / slug


def _first_seed_run(store: Store, run_id: str) -> str:
    children = store.seed_runs(run_id)
    return children[0].run_id if children else run_id


def _artifact(store: Store, run_id: str, path: str) -> bytes | None:
    with tempfile.TemporaryDirectory() as tmp:
        try:
            return store.download(run_id, path, tmp).read_bytes()
        except (FileNotFoundError, OSError):  # a missing figure is left out, not fatal
            return None


def build_report(
    store: Store,
    experiment: str,
    split_hash: str | None = None,
    *,
    baseline: str = "ridge",
    interval: IntervalMethod = "corrected_t",
) -> Report:
    """Collect the newest finished summary run of every translator on one split (default: the split
    of the newest run) and the reference run of that split; the uncertainty section uses every
    outer split of the experiment."""
    all_runs = store.summaries(experiment)
    if not all_runs:
        raise OmibenchError(
            f"no finished runs of experiment {experiment!r} in {store.uri}: run `omibench run` first or check --store"
        )
    split_hash = split_hash or all_runs[0].tags.split_hash
    runs: list[Run] = []
    for run in all_runs:
        if run.tags.split_hash == split_hash and run.label not in {r.label for r in runs}:
            runs.append(run)
    if not runs:
        raise OmibenchError(f"experiment {experiment!r} has no finished runs on split {split_hash}")
    runs.sort(key=lambda r: -r.metrics.get("test/median_r2_featurewise", float("-inf")))
    exp_id = runs[0].experiment_id

    t1 = []
    for run in runs:
        entry: dict[str, object] = {"translator": run.label, "seeds": run.params.get("seeds", "")}
        for name in METRIC_NAMES:
            entry[_SHORT[name]] = _pm(run.metrics.get(f"test/{name}"), run.metrics.get(f"test/{name}_std"))
        entry.update(
            tuned="yes" if run.tags.tuned_from else "no",  # from `omibench run --tuned`
            config=run.tags.config_hash or "",
            split=split_hash,
            run=run.run_id,
        )
        t1.append(entry)

    reference = store.reference_run(exp_id, split_hash)
    rows3: list[tuple[str, dict[str, float], Tags, str]] = []
    if reference is not None:
        rows3.append((REFERENCE_LABEL, reference.metrics, reference.tags, reference.run_id))
    rows3 += [(run.label, run.metrics, run.tags, run.run_id) for run in runs]
    t3 = []
    for label, metrics, tags, _ in rows3:
        row: dict[str, object] = {"translator": label}
        for name in DOWNSTREAM_METRICS:
            row[name] = _pm(metrics.get(f"downstream/{name}"), metrics.get(f"downstream/{name}_std"))
        row["config"] = tags.config_hash or ""
        row["note"] = tags.downstream_note or ("" if "downstream/accuracy" in metrics else "not scored")
        t3.append(row)
    report = Report(experiment, str(split_hash), pd.DataFrame(t1), pd.DataFrame(t3))
    report.stats = cohort_stats(store, experiment, baseline=baseline, method=interval)

    r2 = {}
    first_runs = {}
    for run in runs:
        first_runs[run.label] = _first_seed_run(store, run.run_id)
        data = _artifact(store, first_runs[run.label], "results/r2_per_gene.csv")
        if data is not None:
            r2[run.label] = pd.read_csv(io.BytesIO(data))["r2"].to_numpy()
    down = {}
    for label, metrics, _, _ in rows3:
        if "downstream/accuracy" in metrics:
            down[label] = {"accuracy": metrics["downstream/accuracy"], "f1": metrics.get("downstream/f1", np.nan)}
    if r2:
        with tempfile.TemporaryDirectory() as tmp:
            comparison_figure(Path(tmp) / "c.png", r2, down or None)
            report.figures.append(
                (
                    "comparison",
                    "all translators: featurewise R² and downstream scores",
                    (Path(tmp) / "c.png").read_bytes(),
                )
            )
    if reference is not None:
        png = _artifact(store, reference.run_id, "downstream/tsne.png")
        if png:
            report.figures.append((REFERENCE_LABEL, "classifier latent space, real training + real test", png))
    for label, run_id in first_runs.items():
        for path, caption in _RUN_FIGURES:
            png = _artifact(store, run_id, path)
            if png:
                report.figures.append((label, caption, png))
    return report


def _stats_section(stats: CohortStats, heading: str = "Uncertainty over outer splits") -> Section:
    section = Section(heading)
    single = all(n <= 1 for n in stats.intervals["outer splits"]) if not stats.intervals.empty else True
    if single:
        section.paragraphs.append(
            "One outer split: n=1, no interval. Differences to the baseline below are single values; "
            "run the experiment with several outer splits to get intervals and P(better)."
        )
    else:
        section.paragraphs.append(
            "Each metric: mean over outer splits (seeds averaged within a split) with a 95% Student-t interval. "
            f"Paired differences (translator − {stats.baseline}) over the outer splits both ran: the corrected "
            "resampled t of Nadeau & Bengio (2003) by default, because outer splits of one cohort share most "
            "training samples and a plain t would be too narrow; P(better) is the share of splits won, with a "
            "Wilson interval (Bouthillier et al. 2021). Verdict 'inconclusive': the interval crosses zero."
        )
        section.tables.append(("Metrics with 95% intervals", stats.intervals))
    if stats.controls:
        section.paragraphs.append(f"Controls (reference rows, never ranked or compared): {', '.join(stats.controls)}.")
    if not stats.paired.empty:
        section.tables.append((f"Paired differences to {stats.baseline}", stats.paired))
    else:
        section.paragraphs.append(f"No paired differences: the baseline {stats.baseline!r} has no finished run.")
    section.figures.extend(stats.figures)
    return section


def write_report(report: Report, out: Path, title: str = "") -> tuple[Path, Path]:
    """Write ``report.html`` (self-contained) and ``report.md`` (+ ``figures/``) into ``out``."""
    title = title or f"omibench report: {report.experiment}"
    lower = ", ".join(_SHORT[m] for m in METRIC_NAMES if m in LOWER_IS_BETTER)
    intro = (
        f"Test split {report.split_hash}. Mean ± sd over seeds. Lower is better for {lower}; higher for the rest. "
        "Table 3: a classifier trained on the real training expression, applied to the real test expression "
        "(original data) and to each translator's test predictions."
    )
    sections = [Section("Table 1: reconstruction", tables=[("", report.table1)])]
    if report.stats is not None:
        sections.append(_stats_section(report.stats))
    sections.append(Section("Table 3: downstream classification", tables=[("", report.table3)]))
    sections.append(Section("Figures", figures=list(report.figures)))
    return write_pages(out, title, [intro], sections)


def write_cross_report(cross: CrossCohort, out: Path, title: str = "") -> tuple[Path, Path]:
    """Write the report over several experiments (average ranks, CD diagrams, per-cohort sections)."""
    names = ", ".join(c.experiment for c in cross.cohorts)
    title = title or f"omibench report across cohorts: {names}"
    intro = (
        f"Each experiment is one dataset of Demšar's (2006) comparison; a translator's score on it is its mean "
        f"{cross.metric} over outer splits (test split). Rank 1 is best; controls are never ranked."
    )
    ranks = cross.ranks.copy()
    for column in ranks.columns[1:]:
        ranks[column] = [f"{v:.4g}" for v in ranks[column]]
    sections = [
        Section("Average ranks", paragraphs=list(cross.notes), tables=[("", ranks)], figures=list(cross.figures))
    ]
    if not cross.scaled.empty:
        scaled = cross.scaled.copy()
        for column in scaled.columns[1:]:
            scaled[column] = [f"{v:.3f}" for v in scaled[column]]
        sections.append(
            Section(
                "Control-scaled scores",
                paragraphs=[
                    f"Each cohort's {cross.metric}, split by split, scaled between the worst control (0) and the "
                    "truth (1) and clipped, as Open Problems does, so that cohorts of different difficulty can be "
                    "averaged; the mean over outer splits per cohort, then over cohorts."
                ],
                tables=[("", scaled)],
            )
        )
    sections += [_stats_section(c, f"{c.experiment}: uncertainty over outer splits") for c in cross.cohorts]
    return write_pages(out, title, [intro], sections)


def log_report(store: Store, report: Report, out: Path) -> str:
    """Log the written report folder as a ``report`` run in experiment ``<experiment>/report``
    (:func:`report_experiment`: the translators' experiment holds translator runs only); return its
    run id."""
    exp_id = store.experiment_id(report_experiment(report.experiment))
    assert exp_id is not None
    run_id = store.create_run(
        exp_id, f"report {report.split_hash}", Tags(level=RunLevel.REPORT, split_hash=report.split_hash)
    )
    store.log_artifacts(run_id, out, "report")
    store.end_run(run_id)
    return run_id
