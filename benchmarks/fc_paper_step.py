"""One training step of OmiTrans-FC at the paper's full size, on synthetic data: time and memory.

    python benchmarks/fc_paper_step.py                 # 9,081 samples x 39,464 CpGs -> 60,483 genes
    python benchmarks/fc_paper_step.py --samples 2000  # less data in memory, same network

It builds the paper's full cohort in memory (float32), the Table 2 generator and discriminator,
and runs ``--steps`` single-batch training steps (one discriminator and one generator update
each, batch 128). It prints the time of each step, the peak resident memory of the process and
the memory plan (weights, gradients, Adam state, data) computed from the parameter counts, and
writes the same as CSV next to this file (fc_paper_step.csv).
"""

from __future__ import annotations

import argparse
import csv
import platform
import resource
import time
from pathlib import Path

import torch

from omibench.contract.registry import load_registry
from omibench.data import make_synthetic

GIB = 1024**3


def peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / GIB  # ru_maxrss is KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=9081)
    parser.add_argument("--cpgs", type=int, default=39_464)
    parser.add_argument("--genes", type=int, default=60_483)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()

    t0 = time.perf_counter()
    data = make_synthetic(n_samples=args.samples, n_cpgs=args.cpgs, n_genes=args.genes, seed=0)
    gen_time = time.perf_counter() - t0
    data_gib = (data.b.nbytes + data.a.nbytes) / GIB
    print(
        f"data: {args.samples} x {args.cpgs} -> {args.genes} float32, {data_gib:.2f} GiB, made in {gen_time:.1f}s, "
        f"peak RSS so far {peak_rss_gib():.2f} GiB"
    )

    model = load_registry().translator("omitrans_fc")(batch_size=args.batch)
    model.fit_scaling(data)
    model.build(args.cpgs, args.genes)
    device = torch.device(args.device)
    model.net.to(device)
    model.disc.to(device)
    n_g = sum(p.numel() for p in model.net.parameters())
    n_d = sum(p.numel() for p in model.disc.parameters())
    b = torch.from_numpy(data.b)  # zero-copy views of the in-memory matrices
    a = torch.from_numpy(data.a)
    generator = torch.Generator().manual_seed(0)

    rows = []
    for step in range(1, args.steps + 1):
        rows_idx = slice((step - 1) * args.batch, step * args.batch)
        bb, ab = b[rows_idx].to(device), a[rows_idx].to(device)
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        losses = model.train_epoch(bb, ab, step, generator)  # exactly one batch: one D and one G update
        if device.type == "cuda":
            torch.cuda.synchronize()
        elapsed = time.perf_counter() - start
        rows.append(
            {
                "step": step,
                "seconds": round(elapsed, 3),
                "peak_rss_gib": round(peak_rss_gib(), 2),
                "loss_g_dist": round(losses["loss_g_dist"], 4),
            }
        )
        print(f"step {step}: {elapsed:.2f}s  peak RSS {peak_rss_gib():.2f} GiB  losses {losses}")

    weights = (n_g + n_d) * 4 / GIB
    plan = {
        "generator params": n_g,
        "discriminator params": n_d,
        "weights GiB": weights,
        "gradients GiB": weights,
        "Adam state GiB (2 moments)": 2 * weights,
        "data GiB (A + B, float32)": data_gib,
        "total planned GiB": 4 * weights + data_gib,
    }
    print("\nmemory plan (before activations):")
    for k, v in plan.items():
        print(f"  {k:<30} {v:,.2f}" if isinstance(v, float) else f"  {k:<30} {v:,}")
    print(
        f"machine: {platform.processor() or platform.machine()}, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads, device {args.device}"
    )
    out = Path(__file__).with_name("fc_paper_step.csv")
    with out.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]) + ["samples", "batch", "device"])
        writer.writeheader()
        for r in rows:
            writer.writerow({**r, "samples": args.samples, "batch": args.batch, "device": args.device})
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
