"""The pictures people look at, as PNG files: the paper's Figs 6-9 and supplementary Fig. 5.

Every function takes arrays and a path and writes one figure; none reads the tracking store.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

__all__ = ["r2_histograms", "top_gene_scatter", "tsne_figure", "comparison_figure", "embed_2d"]


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def r2_histograms(path: Path, r2_samplewise: np.ndarray, r2_featurewise: np.ndarray, threshold: float = 0.3) -> None:
    """Fig. 6 (samplewise R²) and Fig. 7 (featurewise R² above zero), mean and median marked."""
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    r2f = r2_featurewise
    panels = (
        (axes[0], r2_samplewise, "samplewise R² (per test sample)"),
        (axes[1], r2f[r2f > 0], f"featurewise R² > 0 ({int((r2f > 0).sum())} of {len(r2f)} genes)"),
    )
    for ax, values, title in panels:
        if len(values):
            ax.hist(values, bins=40, color="#4C72B0", alpha=0.85)
            ax.axvline(float(np.mean(values)), color="#C44E52", label=f"mean {np.mean(values):.3f}")
            ax.axvline(
                float(np.median(values)), color="#55A868", linestyle="--", label=f"median {np.median(values):.3f}"
            )
            ax.legend(fontsize=8)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("R²")
    axes[1].axvline(threshold, color="grey", linestyle=":", linewidth=1)
    axes[0].set_ylabel("count")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def top_gene_scatter(
    path: Path, true: np.ndarray, pred: np.ndarray, genes: Sequence[str], r2f: np.ndarray, n: int = 6
) -> None:
    """Real (y) against predicted (x) test expression for the ``n`` best-predicted genes (supp. Fig. 5)."""
    plt = _plt()
    order = np.argsort(-np.nan_to_num(r2f, nan=-np.inf))[:n]
    cols = min(3, len(order)) or 1
    rows = int(np.ceil(len(order) / cols)) or 1
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 3.0 * rows), squeeze=False)
    for ax in axes.ravel()[len(order) :]:
        ax.axis("off")
    for ax, j in zip(axes.ravel(), order):
        x, y = pred[:, j], true[:, j]
        ax.scatter(x, y, s=10, alpha=0.7, color="#4C72B0")
        lo, hi = float(min(x.min(), y.min())), float(max(x.max(), y.max()))
        ax.plot([lo, hi], [lo, hi], color="grey", linewidth=0.8, linestyle=":")
        ax.set_title(f"{genes[j]}  R² {r2f[j]:.3f}", fontsize=9)
        ax.set_xlabel("predicted", fontsize=8)
        ax.set_ylabel("real", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def embed_2d(points: np.ndarray, seed: int = 0) -> np.ndarray:
    """t-SNE to 2-D (scikit-learn, PCA initialisation); perplexity shrinks for small sets."""
    from sklearn.manifold import TSNE

    n = len(points)
    if n < 4:
        return np.zeros((n, 2))
    perplexity = float(min(30.0, (n - 1) / 3.0))
    return TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(points)


def tsne_figure(
    path: Path,
    train_latent: np.ndarray,
    train_labels: Sequence[str],
    test_latent: np.ndarray,
    test_labels: Sequence[str],
    title: str,
    test_kind: str = "synthetic",
    seed: int = 0,
) -> None:
    """Fig. 8: t-SNE of classifier latent means, real training set (dots) with the test set
    (crosses, ``test_kind`` real or synthetic), coloured by class."""
    plt = _plt()
    xy = embed_2d(np.vstack([train_latent, test_latent]), seed)
    n_train = len(train_latent)
    classes = sorted({*map(str, train_labels), *map(str, test_labels)})
    cmap = plt.get_cmap("tab10" if len(classes) <= 10 else "tab20")
    fig, ax = plt.subplots(figsize=(6.4, 5.2))
    for k, cls in enumerate(classes):
        colour = cmap(k % cmap.N)
        tr = np.array([str(v) == cls for v in train_labels])
        te = np.array([str(v) == cls for v in test_labels])
        ax.scatter(xy[:n_train][tr, 0], xy[:n_train][tr, 1], s=9, color=colour, alpha=0.45, label=f"{cls}")
        if te.any():
            ax.scatter(xy[n_train:][te, 0], xy[n_train:][te, 1], s=28, color=colour, marker="x", linewidths=1.2)
    ax.scatter([], [], s=9, color="grey", label="real training (dot)")
    ax.scatter([], [], s=28, color="grey", marker="x", label=f"{test_kind} test (cross)")
    ax.legend(fontsize=7, loc="best", markerscale=1.2, ncol=2 if len(classes) > 8 else 1)
    ax.set_title(title, fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def comparison_figure(
    path: Path, r2_by_translator: Mapping[str, np.ndarray], downstream: Mapping[str, Mapping[str, float]] | None = None
) -> None:
    """Per experiment: featurewise R² distribution of every translator (box plots, clipped at -1 for
    readability) and, when present, downstream accuracy and macro F1 next to the real data's."""
    plt = _plt()
    names = list(r2_by_translator)
    panels = 2 if downstream else 1
    fig, axes = plt.subplots(1, panels, figsize=(6.5 * panels, 0.45 * len(names) + 2.2), squeeze=False)
    ax = axes[0, 0]
    ax.boxplot([np.clip(r2_by_translator[n], -1, 1) for n in names], orientation="horizontal", showfliers=False)
    ax.set_yticks(range(1, len(names) + 1), names, fontsize=8)
    ax.axvline(0, color="grey", linewidth=0.8)
    ax.set_xlabel("featurewise R² on the test split (clipped to [-1, 1])")
    ax.invert_yaxis()
    if downstream:
        ax = axes[0, 1]
        rows = list(downstream)
        y = np.arange(len(rows))
        for offset, metric, colour in ((-0.2, "accuracy", "#4C72B0"), (0.2, "f1", "#DD8452")):
            ax.barh(
                y + offset, [downstream[r].get(metric, np.nan) for r in rows], height=0.4, color=colour, label=metric
            )
        ax.set_yticks(y, rows, fontsize=8)
        ax.set_xlim(0, 1)
        ax.invert_yaxis()
        ax.legend(fontsize=8)
        ax.set_xlabel("downstream classifier on the test split")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
