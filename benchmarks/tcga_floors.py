"""Compute floors of the stages of the full-size tcga.yaml run (docs/scale.md), from the shapes.

    python benchmarks/tcga_floors.py [--threads 2] [--n-train 6356 --n-val 707 --n-test 1817 --n-b 29740 --n-a 60483]

Each floor is the stage's unavoidable arithmetic or memory traffic divided by this machine's rate for
that kind of work, measured here, in this process, with the same threads. Run it on the idle machine:
beside a run it competes with that run for the same cores and understates the rates (at load 9 it
predicted 1,383-2,271 s for an OmiTrans-FC epoch that took 736 s), so its floors are then not floors:

- float32 GEMM rate (torch) at the networks' own shapes (batch x inputs @ inputs x width), and the
  float64 GEMM rate (numpy / BLAS) at linear_regression's shape (U^T Y);
- memory bandwidth: one float32 ``x += y`` pass over 1 GiB (Adam reads and writes four copies of
  every parameter per step: weight, gradient, two moments).

FLOPs: a dense layer of n_in x n_out costs 2 n_in n_out per sample forward and twice that backward
(6 in all per sample-step). linear_regression: the SVD of the n x p centred B costs at least
4 n^2 p (Householder bidiagonalisation, the part LAPACK runs at GEMM speed at best), plus 2 n^2 g
for U^T Y. These are lower bounds, so "within 2x of the floor" is a strict test.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
import torch

GIB = 1024**3


def _best(f: Callable[[], object], reps: int = 3) -> float:
    f()
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        f()
        times.append(time.perf_counter() - start)
    return min(times)


def gemm32(batch: int, n_in: int, n_out: int) -> float:
    """FLOP/s of torch float32 (batch x n_in) @ (n_in x n_out)."""
    x, w = torch.randn(batch, n_in), torch.randn(n_in, n_out)
    out = torch.empty(batch, n_out)
    return 2 * batch * n_in * n_out / _best(lambda: torch.mm(x, w, out=out))


def gemm64(m: int, k: int, n: int) -> float:
    a, b = np.random.default_rng(0).random((m, k)), np.random.default_rng(1).random((k, n))
    return 2 * m * k * n / _best(lambda: a @ b)


def bandwidth() -> float:
    """Bytes/s moved by ``x += y`` on float32 (two reads, one write)."""
    x, y = torch.ones(GIB // 4), torch.ones(GIB // 4)
    return 3 * GIB / _best(lambda: x.add_(y))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--n-train", type=int, default=6356)
    ap.add_argument("--n-val", type=int, default=707)
    ap.add_argument("--n-test", type=int, default=1817)
    ap.add_argument("--n-b", type=int, default=29740)
    ap.add_argument("--n-a", type=int, default=60483)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    n, p, g = args.n_train, args.n_b, args.n_a

    r_fc = gemm32(128, p, 4096)  # FC's first layer, the widest input
    r_fc_out = gemm32(128, 4096, g)  # FC's output layer
    r_td = gemm32(16, p, 4000)  # TDimpute at its batch of 16
    r_cls = gemm32(32, g, 1024)  # the classifier's encoder at its batch
    r64 = gemm64(2048, n, 2048)  # U^T Y in blocks (r x n @ n x block)
    bw = bandwidth()
    print(
        f"rates ({args.threads} threads): fp32 GEMM 128x{p}x4096 {r_fc / 1e9:.0f} GFLOP/s, 128x4096x{g} "
        f"{r_fc_out / 1e9:.0f}, 16x{p}x4000 {r_td / 1e9:.0f}, 32x{g}x1024 {r_cls / 1e9:.0f}; "
        f"fp64 GEMM {r64 / 1e9:.0f} GFLOP/s; memory {bw / 1e9:.1f} GB/s"
    )

    def dense(widths: list[int]) -> int:  # forward FLOPs per sample
        return sum(2 * a * b for a, b in zip(widths[:-1], widths[1:]))

    # OmiTrans-FC (Table 2): G p -> 4096 -> 1024 -> 512 -> 256 -> ... mirrored -> g; D (g + p) -> 128 -> 64 -> 32 -> 16
    gen = [p, 4096, 1024, 512, 256, 512, 1024, 4096, g]
    disc = [g + p, 128, 64, 32, 16]
    params_fc = sum(a * b + b for a, b in zip(gen[:-1], gen[1:])) + sum(a * b + b for a, b in zip(disc[:-1], disc[1:]))
    # per sample-step: G forward + backward (3x), D three forwards (fake, real, through G) with backward (3x each)
    fc_flops = 3 * dense(gen) + 3 * 3 * dense(disc)
    steps = -(-n // 128)
    fc_floor = n * fc_flops / r_fc + steps * 16 * params_fc / bw + (args.n_val + args.n_test) * dense(gen) / r_fc
    print(
        f"omitrans_fc / cgan, 1 epoch: {n * fc_flops / 1e12:.1f} TFLOP + Adam {steps} x {16 * params_fc / 1e9:.1f} GB "
        f"+ predict val/test: floor {fc_floor:.0f} s"
    )
    td = [p, 4000, g]
    params_td = sum(a * b + b for a, b in zip(td[:-1], td[1:]))
    steps_td = -(-n // 16)
    td_floor = n * 3 * dense(td) / r_td + steps_td * 16 * params_td / bw + (args.n_val + args.n_test) * dense(td) / r_fc
    print(
        f"tdimpute, 1 epoch: {n * 3 * dense(td) / 1e12:.1f} TFLOP at batch 16 + Adam {steps_td} x "
        f"{16 * params_td / 1e9:.1f} GB: floor {td_floor:.0f} s"
    )
    lr_flops = 4 * n * n * p + 2 * n * n * g
    print(
        f"linear_regression: SVD >= 4 n^2 p = {4 * n * n * p / 1e12:.1f} TFLOP "
        f"+ U^T Y {2 * n * n * g / 1e12:.1f} TFLOP "
        f"(fp64): floor {lr_flops / r64:.0f} s (+ predict {2 * args.n_test * (p + g) * n / 1e12:.2f} TFLOP fp32)"
    )
    # Table 3 (OmiEmbed VAE + classifier): encoder g -> 1024 and decoder 1024 -> g dominate; epochs [1, 1, 1]:
    # phases 1 and 3 train both (3 x 4 g 1024 per sample), phase 2 counted as the encoder's forward only
    cls_flops = n * (2 * 3 * 2 * dense([g, 1024]) + dense([g, 1024]))
    print(f"Table 3 classifier, 3 epochs: about {cls_flops / 1e12:.1f} TFLOP: floor {cls_flops / r_cls:.0f} s")


if __name__ == "__main__":
    main()
