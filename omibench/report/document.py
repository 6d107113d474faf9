"""``omibench report``: one self-contained page per experiment, laid out like the paper.

Table 1 (the nine reconstruction metrics) and Table 3 (the downstream classifier, with the real test
data as "original data"), one row per translator ordered by the ranking on matched splits, each cell
mean ± sd (over outer splits, or over seeds with one outer split), each row with its config hash,
split hash and run id and its skill score; then the uncertainty over outer splits (each metric's mean
with the corrected interval, the paired difference of every translator to a baseline with P(better),
and the paired-difference figure: :mod:`omibench.report.cohorts`); then the comparison figure and each
translator's figures (R² histograms, best-gene scatter, t-SNE) from its first seed. The numbers come
from a :class:`~omibench.results.ResultSet`; the store is read only for the pictures. Written as HTML
(jinja2, figures embedded) and Markdown (figures beside it), and logged to MLflow as a ``report`` run.
"""

from __future__ import annotations

import io
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from omibench.errors import OmibenchError
from omibench.metrics import catalogue
from omibench.plots.paper import comparison_figure
from omibench.report import tables
from omibench.report.cohorts import CohortStats, CrossCohort, cohort_stats
from omibench.report.pages import Section, write_pages
from omibench.results import ResultSet, analysis
from omibench.results.artifacts import artifact, first_job
from omibench.store import RunLevel, Store, Tags, layout, report_experiment

__all__ = ["Report", "build_report", "default_out", "log_report", "write_cross_report", "write_report"]

_RUN_FIGURES = (
    (layout.R2_HISTOGRAMS, "R² histograms (Figs 6, 7)"),
    (layout.TOP_GENES_SCATTER, "best-predicted genes, real vs predicted (supp. Fig. 5)"),
    (layout.TSNE, "classifier latent space, real training + translated test (Fig. 8)"),
)
_ACCURACY, _F1 = catalogue.DOWNSTREAM + "accuracy", catalogue.DOWNSTREAM + "f1"


@dataclass
class Report:
    experiment: str
    split_hash: str
    table1: pd.DataFrame  # #, translator, metrics as "mean ± sd", skill, config, split, run
    table3: pd.DataFrame  # #, translator, downstream metrics as "mean ± sd"
    cells: str = ""  # what a cell is (over outer splits, or over seeds)
    figures: list[tuple[str, str, bytes]] = field(default_factory=list)  # (section, caption, png)
    stats: CohortStats | None = None  # intervals and paired differences over outer splits


def default_out(experiment: str) -> Path:
    """``reports/<experiment>`` with the name made a plain folder name: an experiment called
    ``../x`` cannot send the report outside the working folder."""
    slug = "".join(c if c.isalnum() or c in "-_." else "_" for c in experiment).strip(".") or "experiment"
    return Path("reports") / slug


def build_report(
    store: Store,
    results: ResultSet,
    *,
    sort: str = "median_r2_featurewise",
    baseline: str = "ridge",
    interval: analysis.PairedMethod = "corrected_t",
) -> Report:
    """The report of one experiment's results (:func:`omibench.results.load`); ``store`` only for the
    translators' pictures and the classifier's t-SNE."""
    if not len(results):
        raise OmibenchError(
            f"no finished runs of experiment {results.experiment!r}: run `omibench run` first or check --store"
        )
    split_hash = results.results[0].split_hash or ""
    downstream = [m for m in catalogue.TABLE3 if any(m in r.values for r in results)]
    report = Report(
        results.experiment,
        split_hash,
        tables.metric_table(results, catalogue.TABLE1, sort, provenance=True),
        tables.metric_table(results, downstream, sort, reference=True, skill=False) if downstream else pd.DataFrame(),
        tables.cell_meaning(results),
    )
    report.stats = cohort_stats(results, baseline=baseline, method=interval, metric=sort)

    first_runs = {r.label: first_job(store, r.run_id) for r in results}
    r2 = {}
    for label, run_id in first_runs.items():
        data = artifact(store, run_id, layout.R2_PER_GENE)
        if data is not None:
            r2[label] = pd.read_csv(io.BytesIO(data))["r2"].to_numpy()
    down = {
        r.label: {"accuracy": r.values[_ACCURACY], "f1": r.values.get(_F1, {})}
        for r in results
        if r.values.get(_ACCURACY)
    }
    scores = {
        label: {name: float(sum(v.values()) / len(v)) if v else float("nan") for name, v in per.items()}
        for label, per in down.items()
    }
    if results.reference.get(_ACCURACY) is not None:
        ref = results.reference
        scores[results.reference_label] = {"accuracy": ref[_ACCURACY], "f1": ref.get(_F1, 0.0)}
    if r2:
        with tempfile.TemporaryDirectory() as tmp:
            comparison_figure(Path(tmp) / "c.png", r2, scores or None)
            caption = "all translators: featurewise R² and downstream scores"
            report.figures.append(("comparison", caption, (Path(tmp) / "c.png").read_bytes()))
    if results.reference_run is not None:
        png = artifact(store, results.reference_run, layout.TSNE)
        if png:
            caption = "classifier latent space, real training + real test"
            report.figures.append((results.reference_label, caption, png))
    for label, run_id in first_runs.items():
        for path, caption in _RUN_FIGURES:
            png = artifact(store, run_id, path)
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
            f"{stats.interval_note} Seeds are averaged within a split. "
            f"Paired differences (translator − {stats.baseline}) over the outer splits both ran: the corrected "
            "resampled t of Nadeau & Bengio (2003) by default, because outer splits of one cohort share most "
            "training samples and a plain t would be too narrow; P(better) is the share of splits won, with a "
            "Wilson interval (Bouthillier et al. 2021). Verdict 'inconclusive': the interval crosses zero."
        )
        section.tables.append(("Metrics with 95% intervals", stats.intervals))
    if stats.ranking is not None and stats.ranking.note:
        section.paragraphs.append(f"Ranking: {stats.ranking.note}.")
    if stats.skill is not None:
        section.paragraphs += stats.skill.notes
        if stats.skill.below_control():
            below = ", ".join(stats.skill.below_control())
            section.paragraphs.append(f"Below the best control (negative skill on {stats.skill.metric}): {below}.")
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
    lower = ", ".join(catalogue.lookup(m).short for m in catalogue.TABLE1 if catalogue.is_lower_better(m))
    intro = (
        f"Test split {report.split_hash} (first outer split). Each cell: {report.cells}. "
        f"Lower is better for {lower}; higher for the rest. Rows are ranked on the outer splits every ranked "
        "translator ran; skill: 0 = the best anchoring control of the split (train_mean / class_mean), 1 = the "
        "truth, ! = a control beats it. "
        "Table 3: a classifier trained on the real training expression, applied to the real test expression "
        "(original data) and to each translator's test predictions."
    )
    sections = [Section("Table 1: reconstruction", tables=[("", report.table1)])]
    if report.stats is not None:
        sections.append(_stats_section(report.stats))
    if not report.table3.empty:
        sections.append(Section("Table 3: downstream classification", tables=[("", report.table3)]))
    sections.append(Section("Figures", figures=list(report.figures)))
    return write_pages(out, title, [intro], sections)


def write_cross_report(cross: CrossCohort, out: Path, title: str = "") -> tuple[Path, Path]:
    """Write the report over several experiments (average ranks, CD diagrams, per-cohort sections)."""
    names = ", ".join(c.experiment for c in cross.cohorts)
    title = title or f"omibench report across cohorts: {names}"
    intro = (
        f"Each experiment is one dataset of Demšar's (2006) comparison (one translation direction); a translator's "
        f"score on it is its mean {cross.metric} over the outer splits every ranked translator of that experiment "
        "ran (test split). Rank 1 is best; controls are never ranked."
    )
    ranks = cross.ranks.copy()
    for column in ranks.columns[1:]:
        ranks[column] = [f"{v:.4g}" for v in ranks[column]]
    sections = [
        Section("Average ranks", paragraphs=list(cross.notes), tables=[("", ranks)], figures=list(cross.figures))
    ]
    if not cross.skill.empty:
        skill = cross.skill.copy()
        skill["below control"] = ["yes !" if flag else "" for flag in skill["below control"]]
        for column in skill.columns:
            if column not in ("translator", "below control"):
                skill[column] = [f"{v:+.3f}" for v in skill[column]]
        sections.append(
            Section(
                "Skill against the best control",
                paragraphs=[
                    f"Each cohort's {cross.metric}, split by split: 0 = the best anchoring control of that split "
                    "(the stronger of train_mean and class_mean; random_profile never anchors), 1 = the truth; not "
                    "clipped, so a translator that a control beats is negative. The mean over outer splits per "
                    "cohort, then over cohorts."
                ],
                tables=[("", skill)],
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
    store.log_artifacts(run_id, out, layout.REPORT)
    store.end_run(run_id)
    return run_id
