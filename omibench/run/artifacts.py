"""Files written for each run before they are logged to MLflow (predictions, R² tables, figures), and
the logging of a finished job's folder into its run (with the AnnData twin of its predictions)."""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from omibench.data.paired import PairedData
from omibench.metrics.reconstruction import R2_THRESHOLD, Scores
from omibench.plots.paper import r2_histograms, top_gene_scatter
from omibench.results.artifacts import read_predictions
from omibench.store import Store, layout

__all__ = ["log_anndata_twin", "log_job_dir", "read_predictions", "write_predictions", "write_run_artifacts"]


def write_run_artifacts(
    out: Path, test: PairedData, prediction: np.ndarray, scores: Scores, top_genes: int = 6, figures: bool = True
) -> None:
    """Write into ``out``: test predictions (parquet, genes in rows and samples in columns like the
    paper's and Xena's files, original scale; written this way because parquet pays per column, 10 s
    for 60,483 gene columns against 0.04 s for 100 sample columns), the per-gene
    and per-sample R² tables (CSV), histograms of both (the paper's Figs 6 and 7) and real against
    predicted expression of the ``top_genes`` best-predicted genes (supplementary Fig. 5). ``figures``
    False skips the two pictures (the tables and predictions are always written)."""
    out.mkdir(parents=True, exist_ok=True)
    write_predictions(
        out / layout.PREDICTIONS_FILE, test.a_features.astype(str), test.sample_ids.astype(str), prediction
    )
    _write_csv(
        out / layout.R2_PER_GENE_FILE,
        {
            "gene": test.a_features.astype(str),
            "r2": scores.r2_featurewise,
            "true_mean": test.a.mean(axis=0),
            "true_std": test.a.std(axis=0),
        },
    )
    _write_csv(out / layout.R2_PER_SAMPLE_FILE, {"sample": test.sample_ids.astype(str), "r2": scores.r2_samplewise})
    if not figures:
        return
    r2_histograms(out / layout.R2_HISTOGRAMS_FILE, scores.r2_samplewise, scores.r2_featurewise, R2_THRESHOLD)
    if top_genes:
        top_gene_scatter(
            out / layout.TOP_GENES_SCATTER_FILE,
            test.a,
            prediction,
            list(test.a_features.astype(str)),
            scores.r2_featurewise,
            top_genes,
        )


def write_predictions(path: Path, genes: np.ndarray, samples: np.ndarray, prediction: np.ndarray) -> None:
    """``prediction`` (samples x genes, original scale) as parquet with genes in rows: a first column
    ``gene``, then one float column per sample (the layout :func:`omibench.data.tabular.read_table`
    reads). Written with pyarrow directly, without dictionary pages or column statistics: pandas'
    per-column conversion and those extras were most of the writing time of a small table."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if "gene" in samples:  # a sample named "gene": the gene names go in the index (pandas' layout)
        frame = pd.DataFrame(prediction.T, index=pd.Index(genes, name="gene"), columns=samples)
        frame.to_parquet(path, use_dictionary=False, write_statistics=False)
        return
    columns = [pa.array(genes), *(pa.array(row) for row in prediction)]
    table = pa.Table.from_arrays(columns, names=["gene", *samples])
    pq.write_table(table, path, use_dictionary=False, write_statistics=False)


def _write_csv(path: Path, columns: Mapping[str, np.ndarray]) -> None:
    """A small table as CSV, NaN as an empty cell as pandas writes it (pyarrow's writer: a fifth of
    pandas' time for a few hundred rows)."""
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    table = pa.table({name: pa.array(values, from_pandas=True) for name, values in columns.items()})
    pa_csv.write_csv(table, path, pa_csv.WriteOptions(quoting_style="needed"))


def log_job_dir(store: Store, run_id: str, path: Path) -> None:
    """Log the ``results/`` and ``model/`` folders of job folder ``path`` (those present) into run ``run_id``."""
    for sub in (layout.RESULTS, layout.MODEL):
        if (path / sub).is_dir():
            store.log_artifacts(run_id, path / sub, sub)


def log_anndata_twin(store: Store, run_id: str, job_dir: Path, labels: Mapping[str, object] | None) -> None:
    """Log ``results/predictions_test.h5ad`` beside the parquet predictions: test samples as obs
    (their class in ``obs["label"]`` when known), genes as var, predictions (original scale) in X.
    Nothing without anndata (the ``scverse`` extra) or without predictions."""
    import importlib.util

    source = job_dir / layout.PREDICTIONS
    if importlib.util.find_spec("anndata") is None or not source.is_file():
        return
    from omibench.run.translate import write_matrix

    frame = read_predictions(source)  # samples x genes
    obs = None
    if labels:
        obs = pd.DataFrame({"label": [labels.get(str(s)) for s in frame.index]}, index=frame.index.astype(str))
        obs["label"] = obs["label"].astype("category")
    with tempfile.TemporaryDirectory() as tmp:
        twin = Path(tmp) / layout.PREDICTIONS_H5AD_FILE
        write_matrix(frame, twin, obs)
        store.log_artifact(run_id, twin, layout.RESULTS)
