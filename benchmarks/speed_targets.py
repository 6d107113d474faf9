"""The speed targets of issue 17 that concern the translators and the classifier, one function per
target; ``benchmarks/run.py --sections cnn_brca,cnn_s,lasso_cohorts,classifier`` runs each in its
own process (its peak resident memory is its own) and prints measured value, target, met / not met.

- ``cnn_brca``: OmiTrans-CNN at the paper's widths (64 filters, kernel 9, batch 128) on the shared
  BRCA cohort's training split (experiments/brca.yaml): seconds per training sample of a step (one
  D and one G update), against the official code's 113-122 s per epoch of 278 samples (0.41-0.44 s
  per sample) recorded in issue 17; FLOP/s of the step against a square 2048 GEMM in the same
  process; peak RSS, and OmiTrans-FC's peak RSS on the same data (``fc_brca``).
- ``cnn_s``: the same network at size S (1,000 x 5,000 -> 5,000), one step at ``--cnn-s-batch``.
- ``lasso_cohorts``: ``benchmarks/lasso_cohorts.py`` (per-gene cost on the four shared cohorts).
- ``lasso_p``: the default per-gene validation path at the paper's size (a few synthetic genes).
- ``classifier``: ``benchmarks/classifier_floor.py`` (Table 3's classifier against its FLOP floor).
"""

from __future__ import annotations

import time
from pathlib import Path

__all__ = ["cnn_brca", "fc_brca", "cnn_s", "lasso_cohorts", "lasso_p", "classifier"]
HERE = Path(__file__).resolve().parent
# The official code's per-sample time is measured beside ours by benchmarks/cnn_side_by_side.py (issue 29:
# 0.12-0.14 s at load 1-2, the same oneDNN convolutions as ours). The 113 s / 278 samples recorded in
# issue 17 was a loaded epoch, so this section reports our time and GEMM rate only, no ratio.


def _brca_train():  # type: ignore[no-untyped-def]
    from omibench.config import load_config
    from omibench.contract.registry import load_registry
    from omibench.run.preparation import prepare

    root = HERE.parent / ".." / "shared" / "data" / "tcga_brca_lockdunson"
    cfg = load_config(HERE.parent / "experiments" / "brca.yaml", [f"data.root={root}"])
    return prepare(cfg, load_registry()).train


def _square_gemm(threads: int) -> float:
    import torch

    x, w, y = torch.randn(2048, 2048), torch.randn(2048, 2048), torch.empty(2048, 2048)
    torch.mm(x, w, out=y)
    best = min(_timed(lambda: torch.mm(x, w, out=y)) for _ in range(3))
    return 2 * 2048**3 / best


def _timed(f) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    f()
    return time.perf_counter() - start


def _step(name: str, params: dict, train, steps: int, threads: int) -> dict:  # type: ignore[no-untyped-def]
    """Time ``steps`` training steps of batch ``params['batch_size']`` (after one warm-up step)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from omibench.contract.registry import load_registry
    from omibench.run.threads import limit_threads

    with limit_threads(threads):
        model = load_registry().translator(name)(**params)
        model.prepare(train)
        b = torch.from_numpy(train.b)
        a = model.to_model_scale(torch.from_numpy(train.a))
        bs, gen = params["batch_size"], torch.Generator().manual_seed(0)
        small = 8  # FLOPs are linear in the batch: count them on 8 samples, scale to the batch
        with FlopCounterMode(display=False) as counter:
            model.train_epoch(b[:small], a[:small], 1, gen)
        flops = counter.get_total_flops() * bs / small
        model.train_epoch(b[:bs], a[:bs], 1, gen)  # warm-up
        reps = [b[i % max(1, len(b) - bs + 1) :][:bs] for i in range(steps)]
        seconds = min(_timed(lambda x=x: model.train_epoch(x, a[: len(x)], 1, gen)) for x in reps)
        gemm = _square_gemm(threads)
    return {
        "step_s": seconds,
        "s_per_sample": seconds / bs,
        "gflop_per_step": flops / 1e9,
        "achieved_gflops": flops / seconds / 1e9,
        "gemm_gflops": gemm / 1e9,
        "pct_of_gemm": 100 * flops / seconds / gemm,
    }


def cnn_brca(steps: int = 1, threads: int = 1) -> dict:
    train = _brca_train()
    params = {"filters": 64, "disc_filters": 64, "kernel": 9, "batch_size": 128}
    row = _step("omitrans_cnn", params, train, steps, threads)
    return {
        "target": "omitrans_cnn paper widths, BRCA",
        **row,
        "threads": threads,
        "measured": f"{row['s_per_sample']:.3f} s / training sample; {row['pct_of_gemm']:.0f}% of square-GEMM rate",
        "goal": "against the official code: benchmarks/cnn_side_by_side.py (run beside it)",
        "status": "see cnn_side_by_side.py",
    }


def fc_brca(steps: int = 1, threads: int = 1) -> dict:
    row = _step("omitrans_fc", {"batch_size": 128}, _brca_train(), steps, threads)
    return {
        "target": "omitrans_fc paper widths, BRCA (the CNN's memory reference)",
        **row,
        "threads": threads,
        "measured": f"{row['s_per_sample']:.4f} s / training sample",
        "goal": "-",
        "status": "-",
    }


def cnn_s(batch: int = 128, threads: int = 1) -> dict:
    from omibench.data import make_synthetic

    data = make_synthetic(n_samples=max(batch, 8), n_cpgs=5000, n_genes=5000, seed=0)
    params = {"filters": 64, "disc_filters": 64, "kernel": 9, "batch_size": batch}
    row = _step("omitrans_cnn", params, data, 1, threads)
    return {
        "target": f"omitrans_cnn paper widths, size S, batch {batch}",
        **row,
        "threads": threads,
        "measured": f"{row['step_s']:.1f} s / step, {row['pct_of_gemm']:.0f}% of square-GEMM rate",
        "goal": "batch 128 within 24 GiB; >= 40% of the GEMM rate",
        "status": (
            "rate "
            + ("met" if row["pct_of_gemm"] >= 40 else "not met")
            + ("" if batch == 128 else f"; memory at batch {batch} only: see peak_rss_gib")
        ),
    }


def lasso_cohorts(genes: int = 60) -> list[dict]:
    import sys

    sys.path.insert(0, str(HERE))
    from lasso_cohorts import measure_cohort

    rows = [r for c in ("brca", "laml", "coad", "rosmap") if (r := measure_cohort(c, genes)) is not None]
    costs = [r["s_per_gene"] for r in rows]
    spread = max(costs) / min(costs) if costs else float("nan")
    for r in rows:
        r.update(
            target=f"lasso per gene, {r['cohort']}",
            measured=f"{r['s_per_gene']:.4f} s / gene",
            goal="cohorts within 3x of each other",
            status=f"spread {spread:.1f}x: " + ("met" if spread <= 3 else "not met"),
        )
    return rows


def classifier(epochs: int = 40, threads: int = 1) -> dict:
    import sys

    sys.path.insert(0, str(HERE))
    from classifier_floor import measure

    row = measure(epochs=epochs, threads=threads)
    return {
        **row,
        "target": "Table 3 classifier, BRCA shape, 200 epochs",
        "measured": f"{row['fit_200_epochs_s']:.1f} s = {row['ratio_to_floor']:.2f}x its FLOP floor "
        f"({row['floor_s']:.1f} s)",
        "goal": "within 3x of the FLOP floor",
        "status": "met" if row["ratio_to_floor"] <= 3 else "not met",
    }


def lasso_p(genes: int = 3, threads: int = 1) -> dict:
    """The default per-gene validation path at the paper's size: 7,265 training and 908 validation
    rows of synthetic data, 39,464 CpGs, ``genes`` genes, one worker with ``threads`` BLAS threads."""
    import numpy as np

    from omibench import FitContext
    from omibench.contract.registry import load_registry
    from omibench.data import make_synthetic
    from omibench.run.threads import limit_threads

    data = make_synthetic(n_samples=9081, n_cpgs=39464, n_genes=genes, seed=0)
    train, val = data.subset(np.arange(7265)), data.subset(np.arange(7265, 7265 + 908))
    del data
    cls = load_registry().translator("lasso")
    with limit_threads(threads):
        model = cls()
        cpu, start = time.process_time(), time.perf_counter()
        model.fit(train, val, FitContext(n_jobs=1))
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    ratios = sorted({round(float(a), 6) for a in model.alpha_})
    per_gene = cpu / genes
    return {
        "target": "lasso default path per gene, size P",
        "s_per_gene": wall / genes,
        "cpu_s_per_gene": per_gene,
        "nonzero_per_gene": float(np.diff(model.coef_.indptr).mean()),
        "chosen_alphas": str(ratios),
        "measured": f"{per_gene:.1f} CPU-s / gene ({genes} genes) x 60,483 genes = {per_gene * 60483 / 3600:.0f} CPU-h",
        "goal": "stated (no target)",
        "status": "-",
    }
