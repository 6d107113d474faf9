"""Files written for each run before they are logged to MLflow: predictions, R² tables, figures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .data.paired import PairedData
from .metrics import R2_THRESHOLD, Scores

__all__ = ["write_run_artifacts"]


def write_run_artifacts(out: Path, test: PairedData, prediction: np.ndarray, scores: Scores) -> None:
    """Write into ``out``: test predictions (parquet, samples x genes, original scale), the per-gene
    and per-sample R² tables (CSV) and histograms of both (PNG, cf. the paper's Figs 6 and 7)."""
    out.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame(prediction, index=pd.Index(test.sample_ids.astype(str), name="sample"),
                         columns=test.a_features.astype(str))
    frame.to_parquet(out / "predictions_test.parquet")
    pd.DataFrame({"gene": test.a_features.astype(str), "r2": scores.r2_featurewise,
                  "true_mean": test.a.mean(axis=0), "true_std": test.a.std(axis=0)}).to_csv(out / "r2_per_gene.csv", index=False)
    pd.DataFrame({"sample": test.sample_ids.astype(str), "r2": scores.r2_samplewise}).to_csv(out / "r2_per_sample.csv", index=False)
    _histograms(out / "r2_histograms.png", scores)


def _histograms(path: Path, scores: Scores) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    r2f = scores.r2_featurewise
    panels = (
        (axes[0], scores.r2_samplewise, "samplewise R² (per test sample)"),
        (axes[1], r2f[r2f > 0], f"featurewise R² > 0 ({int((r2f > 0).sum())} of {len(r2f)} genes)"),
    )
    for ax, values, title in panels:
        if len(values):
            ax.hist(values, bins=40, color="#4C72B0", alpha=0.85)
            ax.axvline(float(np.mean(values)), color="#C44E52", label=f"mean {np.mean(values):.3f}")
            ax.axvline(float(np.median(values)), color="#55A868", linestyle="--", label=f"median {np.median(values):.3f}")
            ax.legend(fontsize=8)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("R²")
    axes[1].axvline(R2_THRESHOLD, color="grey", linestyle=":", linewidth=1)
    axes[0].set_ylabel("count")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
