"""LASSO's cost per gene at the paper's size, on a run's prepared data (the data cache).

    python benchmarks/tcga_lasso.py experiments/tcga.yaml --genes 8 --random 8 --set data.root=... --set ...

Loads the prepared parts (a cache hit after ``omibench run`` or ``omibench data prepare`` with the same
``--set``), fits the ``lasso`` translator with its default parameters (per-gene alpha chosen on the
validation split, one worker) on ``--genes`` of the highest training-variance genes (what
``preprocess.a: [{variance: {top_k: N}}]`` keeps) and on ``--random`` genes drawn uniformly, and prints
seconds per gene for each group and the extrapolation to every gene of A. Peak RSS of this process.
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np

from omibench import FitContext, PairedData
from omibench.config import load_config
from omibench.contract.registry import load_registry
from omibench.run.preparation import prepare

GIB = 1024**3


def peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / GIB


def _genes(part: PairedData, cols: np.ndarray) -> PairedData:
    return PairedData(
        b=part.b,
        a=np.ascontiguousarray(part.a[:, cols]),
        sample_ids=part.sample_ids,
        b_features=part.b_features,
        a_features=part.a_features[cols],
        name=part.name,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config")
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    parser.add_argument("--genes", type=int, default=8, help="highest training-variance genes")
    parser.add_argument("--random", type=int, default=8, help="uniformly drawn genes")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    cfg = load_config(args.config, args.overrides)
    registry = load_registry()
    t0 = time.perf_counter()
    prepared = prepare(cfg, registry, cfg.tracking.store / "cache")
    train, val = prepared.train, prepared.val
    n_genes = train.a.shape[1]
    print(
        f"prepared: train {train.n_samples} x {train.b.shape[1]} -> {n_genes}, val {val.n_samples}, "
        f"{time.perf_counter() - t0:.1f}s, peak RSS {peak_rss_gib():.2f} GiB",
        flush=True,
    )
    var = train.a.var(axis=0, dtype=np.float64)
    groups = {
        "top-variance": np.sort(np.argsort(-var, kind="stable")[: args.genes]),
        "random": np.sort(np.random.default_rng(args.seed).choice(n_genes, args.random, replace=False)),
    }
    lasso = registry.translator("lasso")
    for label, cols in groups.items():
        if not len(cols):
            continue
        model = lasso()
        start = time.perf_counter()
        model.fit(_genes(train, cols), _genes(val, cols), FitContext(seed=0, n_jobs=1))
        elapsed = time.perf_counter() - start
        nnz = np.diff(model.coef_.indptr)
        print(
            f"{label}: {len(cols)} genes in {elapsed:.1f}s = {elapsed / len(cols):.2f} s/gene "
            f"(nonzero coefficients per gene: median {int(np.median(nnz))}, max {int(nnz.max())}); "
            f"all {n_genes:,} genes at this rate: {elapsed / len(cols) * n_genes / 3600:.1f} h on one worker; "
            f"peak RSS {peak_rss_gib():.2f} GiB",
            flush=True,
        )


if __name__ == "__main__":
    main()
