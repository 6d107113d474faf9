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
from .downstream import DOWNSTREAM_METRICS, REFERENCE_LABEL
from .figures import comparison_figure
from .leaderboard import SHORT_NAMES as _SHORT
from .metrics import LOWER_IS_BETTER, METRIC_NAMES
from .store import Run, RunLevel, Store, Tags

__all__ = ["Report", "build_report", "default_out", "log_report", "write_report"]

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


def build_report(store: Store, experiment: str, split_hash: str | None = None) -> Report:
    """Collect the newest finished summary run of every translator on one split (default: the split
    of the newest run) and the reference run of that split."""
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


def _markdown_table(frame: pd.DataFrame) -> str:
    from tabulate import tabulate

    return tabulate(frame, headers="keys", tablefmt="github", showindex=False)


def write_report(report: Report, out: Path, title: str = "") -> tuple[Path, Path]:
    """Write ``report.html`` (self-contained) and ``report.md`` (+ ``figures/``) into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "figures").mkdir(exist_ok=True)
    title = title or f"omibench report: {report.experiment}"
    lower = ", ".join(_SHORT[m] for m in METRIC_NAMES if m in LOWER_IS_BETTER)
    intro = (
        f"Test split {report.split_hash}. Mean ± sd over seeds. Lower is better for {lower}; higher for the rest. "
        "Table 3: a classifier trained on the real training expression, applied to the real test expression "
        "(original data) and to each translator's test predictions."
    )
    md = [
        f"# {title}",
        "",
        intro,
        "",
        "## Table 1: reconstruction",
        "",
        _markdown_table(report.table1),
        "",
        "## Table 3: downstream classification",
        "",
        _markdown_table(report.table3),
        "",
        "## Figures",
        "",
    ]
    parts = [
        f"<h1>{html.escape(title)}</h1><p>{html.escape(intro)}</p>",
        "<h2>Table 1: reconstruction</h2>",
        report.table1.to_html(index=False, escape=True),
        "<h2>Table 3: downstream classification</h2>",
        report.table3.to_html(index=False, escape=True),
        "<h2>Figures</h2>",
    ]
    for i, (section, caption, png) in enumerate(report.figures):
        name = f"figures/{i:02d}_{''.join(c if c.isalnum() else '_' for c in section)}.png"
        (out / name).write_bytes(png)
        md += [f"### {section}: {caption}", "", f"![{caption}]({name})", ""]
        data = base64.b64encode(png).decode()
        parts.append(
            f"<h3>{html.escape(section)}: {html.escape(caption)}</h3><img src='data:image/png;base64,{data}' "
            f"style='max-width:100%'>"
        )
    style = (
        "<style>body{font-family:sans-serif;margin:2em;max-width:1400px}table{border-collapse:collapse;font-size:13px}"
        "td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}</style>"
    )
    (out / "report.html").write_text(
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"{style}</head><body>{''.join(parts)}</body></html>"
    )
    (out / "report.md").write_text("\n".join(md))
    return out / "report.html", out / "report.md"


def log_report(store: Store, report: Report, out: Path) -> str:
    """Log the written report folder as a ``report`` run of the experiment; return its run id."""
    exp_id = store.experiment_id(report.experiment)
    assert exp_id is not None
    run_id = store.create_run(
        exp_id, f"report {report.split_hash}", Tags(level=RunLevel.REPORT, split_hash=report.split_hash)
    )
    store.log_artifacts(run_id, out, "report")
    store.end_run(run_id)
    return run_id
