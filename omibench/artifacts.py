"""Files written for each run before they are logged to MLflow: predictions, R² tables, figures."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .data.paired import PairedData
from .figures import r2_histograms, top_gene_scatter
from .metrics import R2_THRESHOLD, Scores

__all__ = ["write_run_artifacts"]


def write_run_artifacts(out: Path, test: PairedData, prediction, scores: Scores, top_genes: int = 6) -> None:  # type: ignore[no-untyped-def]
    """Write into ``out``: test predictions (parquet, samples x genes, original scale), the per-gene
    and per-sample R² tables (CSV), histograms of both (the paper's Figs 6 and 7) and real against
    predicted expression of the ``top_genes`` best-predicted genes (supplementary Fig. 5)."""
    out.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame(prediction, index=pd.Index(test.sample_ids.astype(str), name="sample"),
                         columns=test.a_features.astype(str))
    frame.to_parquet(out / "predictions_test.parquet")
    pd.DataFrame({"gene": test.a_features.astype(str), "r2": scores.r2_featurewise,
                  "true_mean": test.a.mean(axis=0), "true_std": test.a.std(axis=0)}).to_csv(out / "r2_per_gene.csv", index=False)
    pd.DataFrame({"sample": test.sample_ids.astype(str), "r2": scores.r2_samplewise}).to_csv(out / "r2_per_sample.csv", index=False)
    r2_histograms(out / "r2_histograms.png", scores.r2_samplewise, scores.r2_featurewise, R2_THRESHOLD)
    if top_genes:
        top_gene_scatter(out / "top_genes_scatter.png", test.a, prediction, list(test.a_features.astype(str)),
                         scores.r2_featurewise, top_genes)
