"""``omibench report``: one self-contained page per experiment, laid out like the paper.

Table 1 (the nine reconstruction metrics) and Table 3 (the downstream classifier, with the real
test data as "original data"), one row per translator, mean ± sd over seeds, each row with its
config hash, split hash and run id; then the comparison figure and each translator's figures
(R² histograms, best-gene scatter, t-SNE) from its first seed. Written as HTML (figures embedded)
and Markdown (figures beside it), and logged to MLflow as a ``report`` run of the experiment.
"""

from __future__ import annotations

import base64
import html
import io
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ._errors import OmibenchError
from .downstream import DOWNSTREAM_METRICS, LEVEL_REFERENCE, REFERENCE_LABEL
from .figures import comparison_figure
from .leaderboard import _SHORT
from .metrics import LOWER_IS_BETTER, METRIC_NAMES
from .tracking import TAG, Tracker

__all__ = ["Report", "build_report", "log_report", "write_report"]

LEVEL_REPORT = "report"
_RUN_FIGURES = (("results/r2_histograms.png", "R² histograms (Figs 6, 7)"),
                ("results/top_genes_scatter.png", "best-predicted genes, real vs predicted (supp. Fig. 5)"),
                ("downstream/tsne.png", "classifier latent space, real training + translated test (Fig. 8)"))


@dataclass
class Report:
    experiment: str
    split_hash: str
    table1: pd.DataFrame  # translator, seeds, metrics as "mean ± sd", config, split, run
    table3: pd.DataFrame  # translator, downstream metrics as "mean ± sd", note
    figures: list[tuple[str, str, bytes]] = field(default_factory=list)  # (section, caption, png)


def _pm(mean: float | None, sd: float | None) -> str:
    if mean is None or (isinstance(mean, float) and np.isnan(mean)):
        return "–"
    text = f"{mean:.4g}"
    if sd is not None and not np.isnan(sd):
        text += f" ± {sd:.2g}"
    return text


def _first_seed_run(tracker: Tracker, run_id: str) -> str:
    children = tracker.seed_runs(run_id)
    return children[0].info.run_id if children else run_id


def _artifact(tracker: Tracker, run_id: str, path: str) -> bytes | None:
    with tempfile.TemporaryDirectory() as tmp:
        try:
            return Path(tracker.client.download_artifacts(run_id, path, tmp)).read_bytes()
        except Exception:  # noqa: BLE001 - a missing figure is left out, not fatal
            return None


def build_report(tracker: Tracker, experiment: str, split_hash: str | None = None) -> Report:
    """Collect the newest finished summary run of every translator on one split (default: the split
    of the newest run) and the reference run of that split."""
    runs = tracker.summary_runs(experiment)
    if runs.empty:
        raise OmibenchError(f"no finished runs of experiment {experiment!r} in {tracker.uri}: run `omibench run` first or check --store")
    split_col = f"tags.{TAG}split_hash"
    split_hash = split_hash or str(runs[split_col].iloc[0])
    runs = runs[runs[split_col] == split_hash].drop_duplicates(subset=[f"tags.{TAG}label"], keep="first")
    if runs.empty:
        raise OmibenchError(f"experiment {experiment!r} has no finished runs on split {split_hash}")
    runs = runs.sort_values("metrics.test/median_r2_featurewise", ascending=False, na_position="last")
    exp_id = tracker.experiment_id(experiment, create=False)
    assert exp_id is not None

    def get(row: pd.Series, key: str) -> float | None:
        value = row.get(f"metrics.{key}")
        return None if value is None or pd.isna(value) else float(value)

    t1 = []
    for _, row in runs.iterrows():
        entry = {"translator": row[f"tags.{TAG}label"], "seeds": row.get("params.seeds", "")}
        for name in METRIC_NAMES:
            entry[_SHORT[name]] = _pm(get(row, f"test/{name}"), get(row, f"test/{name}_std"))
        tuned = row.get(f"tags.{TAG}tuned_from")
        entry.update(tuned="yes" if isinstance(tuned, str) and tuned else "no",  # from `omibench run --tuned`
                     config=row.get(f"tags.{TAG}config_hash", ""), split=split_hash, run=row["run_id"])
        t1.append(entry)

    reference = tracker.client.search_runs(
        [exp_id], filter_string=f"tags.`{TAG}level` = '{LEVEL_REFERENCE}' and attributes.status = 'FINISHED' "
                                f"and tags.`{TAG}split_hash` = '{split_hash}'", order_by=["attributes.start_time DESC"])
    t3 = []
    rows3 = [(REFERENCE_LABEL, reference[0].data.metrics, reference[0].data.tags, reference[0].info.run_id)] if reference else []
    rows3 += [(row[f"tags.{TAG}label"], {k[8:]: v for k, v in row.items() if k.startswith("metrics.") and not pd.isna(v)},
               {k[5:]: v for k, v in row.items() if k.startswith("tags.") and isinstance(v, str)}, row["run_id"]) for _, row in runs.iterrows()]
    for label, metrics, tags, run_id in rows3:
        entry = {"translator": label}
        for name in DOWNSTREAM_METRICS:
            entry[name] = _pm(metrics.get(f"downstream/{name}"), metrics.get(f"downstream/{name}_std"))
        entry["config"] = tags.get(f"{TAG}config_hash", "")
        entry["note"] = tags.get(f"{TAG}downstream_note", "") or ("" if "downstream/accuracy" in metrics else "not scored")
        t3.append(entry)
    report = Report(experiment, split_hash, pd.DataFrame(t1), pd.DataFrame(t3))

    r2 = {}
    first_runs = {}
    for _, row in runs.iterrows():
        label = row[f"tags.{TAG}label"]
        first_runs[label] = _first_seed_run(tracker, row["run_id"])
        data = _artifact(tracker, first_runs[label], "results/r2_per_gene.csv")
        if data is not None:
            r2[label] = pd.read_csv(io.BytesIO(data))["r2"].to_numpy()
    down = {}
    for label, metrics, _, _ in rows3:
        if "downstream/accuracy" in metrics:
            down[label] = {"accuracy": metrics["downstream/accuracy"], "f1": metrics.get("downstream/f1", np.nan)}
    if r2:
        with tempfile.TemporaryDirectory() as tmp:
            comparison_figure(Path(tmp) / "c.png", r2, down or None)
            report.figures.append(("comparison", "all translators: featurewise R² and downstream scores",
                                   (Path(tmp) / "c.png").read_bytes()))
    if reference:
        png = _artifact(tracker, reference[0].info.run_id, "downstream/tsne.png")
        if png:
            report.figures.append((REFERENCE_LABEL, "classifier latent space, real training + real test", png))
    for label, run_id in first_runs.items():
        for path, caption in _RUN_FIGURES:
            png = _artifact(tracker, run_id, path)
            if png:
                report.figures.append((label, caption, png))
    return report


def _markdown_table(frame: pd.DataFrame) -> str:
    from tabulate import tabulate

    return tabulate(frame, headers="keys", tablefmt="github", showindex=False)


def write_report(report: Report, out: Path, title: str = "") -> tuple[Path, Path]:
    """Write ``report.html`` (self-contained) and ``report.md`` (+ ``figures/``) into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "figures").mkdir(exist_ok=True)
    title = title or f"omibench report: {report.experiment}"
    lower = ", ".join(_SHORT[m] for m in METRIC_NAMES if m in LOWER_IS_BETTER)
    intro = (f"Test split {report.split_hash}. Mean ± sd over seeds. Lower is better for {lower}; higher for the rest. "
             "Table 3: a classifier trained on the real training expression, applied to the real test expression "
             "(original data) and to each translator's test predictions.")
    md = [f"# {title}", "", intro, "", "## Table 1: reconstruction", "", _markdown_table(report.table1), "",
          "## Table 3: downstream classification", "", _markdown_table(report.table3), "", "## Figures", ""]
    parts = [f"<h1>{html.escape(title)}</h1><p>{html.escape(intro)}</p>", "<h2>Table 1: reconstruction</h2>",
             report.table1.to_html(index=False, escape=True), "<h2>Table 3: downstream classification</h2>",
             report.table3.to_html(index=False, escape=True), "<h2>Figures</h2>"]
    for i, (section, caption, png) in enumerate(report.figures):
        name = f"figures/{i:02d}_{''.join(c if c.isalnum() else '_' for c in section)}.png"
        (out / name).write_bytes(png)
        md += [f"### {section}: {caption}", "", f"![{caption}]({name})", ""]
        data = base64.b64encode(png).decode()
        parts.append(f"<h3>{html.escape(section)}: {html.escape(caption)}</h3><img src='data:image/png;base64,{data}' "
                     f"style='max-width:100%'>")
    style = ("<style>body{font-family:sans-serif;margin:2em;max-width:1400px}table{border-collapse:collapse;font-size:13px}"
             "td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}</style>")
    (out / "report.html").write_text(f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
                                     f"{style}</head><body>{''.join(parts)}</body></html>")
    (out / "report.md").write_text("\n".join(md))
    return out / "report.html", out / "report.md"


def log_report(tracker: Tracker, report: Report, out: Path) -> str:
    """Log the written report folder as a ``report`` run of the experiment; return its run id."""
    exp_id = tracker.experiment_id(report.experiment)
    assert exp_id is not None
    run_id = tracker.start_run(exp_id, f"report {report.split_hash}",
                               {f"{TAG}level": LEVEL_REPORT, f"{TAG}split_hash": report.split_hash})
    tracker.log_artifacts(run_id, out, "report")
    tracker.end_run(run_id)
    return run_id
