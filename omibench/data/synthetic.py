"""A deterministic synthetic cohort that looks like paired methylation / expression data."""

from __future__ import annotations

import numpy as np

from omibench.data.memory import require_memory
from omibench.data.paired import PairedData

__all__ = ["make_synthetic", "synthetic_bytes"]

_CHUNK = 2048  # rows generated at once: bounds memory at the paper's 9,081 x 60,483 size


def synthetic_bytes(n_samples: int, n_cpgs: int, n_genes: int, copies: int = 1) -> int:
    """Bytes of a synthetic cohort: ``copies`` x the two float32 matrices, plus the float64
    temporaries of one chunk of rows (the logits, their noise and the latent read-outs)."""
    rows = min(_CHUNK, n_samples)
    return copies * n_samples * (n_cpgs + n_genes) * 4 + 3 * rows * (n_cpgs + n_genes) * 8


def make_synthetic(
    n_samples: int = 300,
    n_cpgs: int = 500,
    n_genes: int = 200,
    n_classes: int = 4,
    rank: int = 8,
    noise: float = 0.5,
    seed: int = 0,
    *,
    copies: int = 1,
) -> PairedData:
    """Paired B (methylation betas) and A (log-scale expression) driven by one latent structure.

    Each sample has a latent vector z (rank ``rank``) drawn around the mean of its class. Both
    omics are noisy linear read-outs of z:

    - B: beta = sigmoid(baseline + W_b z + noise). Baselines are bimodal (most CpGs either
      mostly unmethylated or mostly methylated), so betas pile up near 0 and 1 like 450K data.
    - A: expression = max(0, mu + W_a z + noise) with gene means mu spread over 0..12 like
      log2(FPKM+1); about 5% of genes are barely expressed (mostly exact zeros).

    The same arguments always give the same matrices (float32). Memory is that of ``copies`` x the
    two outputs plus one chunk of rows (:func:`synthetic_bytes`; the synthetic data source passes 2:
    preparation copies the cohort into its split parts), checked before anything is allocated:
    more than is available is a one-line :class:`~omibench.errors.DataError`. This is the only
    check of a synthetic cohort's size.
    """
    require_memory(
        synthetic_bytes(n_samples, n_cpgs, n_genes, copies=copies),
        f"a synthetic cohort of {n_samples:,} samples x ({n_cpgs:,} CpGs + {n_genes:,} genes)"
        + (", with its split parts," if copies > 1 else ""),
        "lower data.n_samples, data.n_cpgs or data.n_genes",
    )
    rng = np.random.default_rng(seed)
    class_means = rng.normal(0.0, 1.5, size=(n_classes, rank))
    high = rng.random(n_cpgs) < 0.5
    baseline_b = np.where(high, rng.normal(2.5, 0.7, n_cpgs), rng.normal(-2.5, 0.7, n_cpgs))
    w_b = rng.normal(0.0, 1.0 / np.sqrt(rank), size=(rank, n_cpgs)) * rng.gamma(1.0, 1.0, n_cpgs)
    mu_a = rng.gamma(2.0, 2.5, n_genes).clip(0.5, 12.0)
    silent = rng.random(n_genes) < 0.05
    mu_a[silent] = -1.0
    w_a = rng.normal(0.0, 0.6 / np.sqrt(rank), size=(rank, n_genes)) * rng.gamma(1.0, 1.0, n_genes)

    labels_int = rng.integers(0, n_classes, size=n_samples)
    b = np.empty((n_samples, n_cpgs), dtype=np.float32)
    a = np.empty((n_samples, n_genes), dtype=np.float32)
    for start in range(0, n_samples, _CHUNK):
        rows = slice(start, min(start + _CHUNK, n_samples))
        z = class_means[labels_int[rows]] + rng.normal(0.0, 1.0, size=(rows.stop - rows.start, rank))
        logit = baseline_b + z @ w_b + rng.normal(0.0, noise, size=(rows.stop - rows.start, n_cpgs))
        b[rows] = 1.0 / (1.0 + np.exp(-logit))
        expr = mu_a + z @ w_a + rng.normal(0.0, noise, size=(rows.stop - rows.start, n_genes))
        a[rows] = np.maximum(expr, 0.0)

    width = max(4, len(str(n_samples)))
    return PairedData(
        b=b,
        a=a,
        sample_ids=np.array([f"S{i:0{width}d}" for i in range(n_samples)], dtype=object),
        b_features=np.array([f"cg{i:08d}" for i in range(n_cpgs)], dtype=object),
        a_features=np.array([f"GENE{i:05d}" for i in range(n_genes)], dtype=object),
        labels=np.array([f"class{k}" for k in labels_int], dtype=object),
        name="synthetic",
    )
