"""OmiTrans-CNN with activation checkpointing: the memory estimate, the measured peak, the speed cost.

    python benchmarks/cnn_memory.py                    # estimates + measurements (see below for the time)
    python benchmarks/cnn_memory.py --estimate-only    # estimates only (seconds, no arithmetic)
    python benchmarks/cnn_memory.py --train-rows 800   # size S's whole training split (7 steps)

1. The estimate ``omitrans_cnn`` decides with (plugins/_memory.py: parameters x 4 + training data +
   the activations alive at the worst moment of one step, counted on the meta device) at batch 128,
   with and without checkpointing, at the paper's sizes (39,464 CpGs -> 60,483 genes, 7,265 training
   samples; and 29,740 -> 60,483, 6,356 training samples: what ``omibench data prepare`` keeps of the
   Xena files, the run in docs/scale.md), at size S (1,000 samples: 800 training rows, 5,000 CpGs ->
   5,000 genes); OmiTrans-FC's estimate by the same count beside it.
2. Measured on this machine, each in a fresh child process (peak RSS = the child's ``ru_maxrss``):
   one epoch at size S's widths and batch 128 with ``checkpoint: true``, against OmiTrans-FC (Table 2
   widths) on the same data; the training split has ``--train-rows`` rows (default 128: one step,
   whose peak every further step repeats). One such step is about 33 TFLOP (188 GFLOP per sample
   for G + D forward and backward, plus the recomputation): minutes on 2 CPU cores, so this part
   alone takes 5-15 minutes here; and
3. the speed cost: whole training steps (``train_epoch`` on one batch of 16: D and G updates) with
   checkpointing off and on, alternately in one child process (``--rounds`` of each; the fastest
   of each counts), at ``--speed-size`` CpGs -> genes.

Every child's command line is printed before it runs.
"""

from __future__ import annotations

import argparse
import json
import resource
import shlex
import subprocess
import sys
import time
from typing import Any

GIB = 1024**3
SIZES = [  # name, CpGs, genes, training rows
    ("paper (Table 2)", 39_464, 60_483, 7_265),
    ("paper, as prepared (docs/scale.md)", 29_740, 60_483, 6_356),
    ("S", 5_000, 5_000, 800),
]


def peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / GIB  # KiB on Linux


def estimates(batch: int) -> None:
    from omibench_plugins._memory import step_memory

    from omibench.contract.registry import load_registry

    registry = load_registry()
    cnn, fc = registry.translator("omitrans_cnn")(), registry.translator("omitrans_fc")()
    print(f"estimated peak of one training step at batch {batch} (GiB; plugins/_memory.py)")
    header = ("size", "translator", "checkpoint", "activations", "params+Adam", "data", "total")
    print("| " + " | ".join(header) + " |\n|" + "---|" * len(header))
    for name, n_in, n_out, n_train in SIZES:
        for model, checkpoint in ((cnn, False), (cnn, True), (fc, False)):
            est = step_memory(lambda m=model: m.make_networks(n_in, n_out), n_train, n_in, n_out, checkpoint)
            cells = (
                f"{name}: {n_in:,} -> {n_out:,}, {n_train:,} training rows",
                model.name,
                "yes" if checkpoint else "no",
                f"{est.per_sample * batch / GIB:.2f}",
                f"{4 * est.parameters / GIB:.2f}",
                f"{est.data / GIB:.2f}",
                f"**{est.total(batch) / GIB:.1f}**",
            )
            print("| " + " | ".join(cells) + " |")


def step_tflop(model: Any, n_in: int, n_out: int, batch: int, checkpoint: bool) -> float:
    """Arithmetic of one training step's networks (G forward, three D forwards, their backwards and,
    checkpointed, the recomputations), counted on the meta device by torch's FlopCounterMode."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    with torch.device("meta"):
        gen, disc = model.make_networks(n_in, n_out)
        gen.checkpointing = disc.checkpointing = checkpoint
        b, a = torch.empty(batch, n_in), torch.empty(batch, n_out)
        with FlopCounterMode(display=False) as counter:
            fake = gen(b)
            disc(fake.detach(), b).sum().backward()
            disc(a, b).sum().backward()
            disc(fake, b).sum().backward()
    return counter.get_total_flops() / 1e12


def flops(batch: int) -> None:
    from omibench.contract.registry import load_registry

    cnn = load_registry().translator("omitrans_cnn")()
    print(f"\narithmetic of one omitrans_cnn training step at batch {batch} (TFLOP, FlopCounterMode on meta)")
    for name, n_in, n_out, _ in SIZES:
        plain, ckpt = (step_tflop(cnn, n_in, n_out, batch, c) for c in (False, True))
        print(f"  {name}: {plain:.1f} plain, {ckpt:.1f} checkpointed ({100 * (ckpt / plain - 1):+.0f}%)")


def child(args: argparse.Namespace) -> None:
    """One fit in this process; prints one JSON line."""
    import numpy as np
    import torch

    from omibench import FitContext
    from omibench.contract.registry import load_registry
    from omibench.data import make_synthetic

    torch.set_num_threads(args.threads)
    data = make_synthetic(n_samples=args.train_rows + 16, n_cpgs=args.cpgs, n_genes=args.genes, seed=0)
    train, val = data.subset(np.arange(args.train_rows)), data.subset(np.arange(args.train_rows, args.train_rows + 16))
    params = {"epochs": args.epochs, "epochs_decay": 0, "batch_size": args.batch}
    if args.child == "omitrans_cnn":
        params["checkpoint"] = args.checkpoint == "true"
        params["micro_batch"] = args.micro_batch or None
    model: Any = load_registry().translator(args.child)(**params)
    before = peak_rss_gib()
    times: list[float] = []
    epoch = model.train_epoch

    def timed(*a: object, **k: object) -> dict[str, float]:
        t0 = time.perf_counter()
        out = epoch(*a, **k)
        times.append(time.perf_counter() - t0)
        return out

    model.train_epoch = timed
    model.fit(train, val, FitContext(seed=0))
    steps = -(-args.train_rows // args.batch)
    print(
        json.dumps(
            {
                "translator": args.child,
                "checkpoint": getattr(model, "checkpoint_", None),
                "micro_batch": model.params.get("micro_batch"),
                "rss_before_fit_gib": round(before, 3),
                "peak_rss_gib": round(peak_rss_gib(), 3),
                "epoch_s": [round(t, 2) for t in times],
                "steps_per_epoch": steps,
            }
        )
    )


def speed_child(args: argparse.Namespace) -> None:
    """Alternate whole training steps with checkpointing off and on; prints one JSON line."""
    import torch

    from omibench.contract.registry import load_registry
    from omibench.contract.torch_translator import as_tensor
    from omibench.data import make_synthetic

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    train = make_synthetic(n_samples=args.batch, n_cpgs=args.cpgs, n_genes=args.genes, seed=0)
    model: Any = load_registry().translator("omitrans_cnn")(batch_size=args.batch, epochs=1, epochs_decay=0)
    model.fit_scaling(train)
    model.build(args.cpgs, args.genes)
    model.net.train()
    b, a = as_tensor(train.b, "cpu"), as_tensor(train.a, "cpu")
    generator = torch.Generator().manual_seed(0)
    times: dict[str, list[float]] = {"false": [], "true": []}
    for _ in range(args.rounds):
        for flag in ("false", "true"):
            model.net.checkpointing = model.disc.checkpointing = flag == "true"
            t0 = time.perf_counter()
            model.train_epoch(b, a, 1, generator)  # one batch: one D and one G update
            times[flag].append(round(time.perf_counter() - t0, 2))
    print(json.dumps({"step_s": times, "batch": args.batch, "size": [args.cpgs, args.genes]}))


def run_child(argv: list[str]) -> dict[str, object]:
    cmd = [sys.executable, __file__, *argv]
    print("$ " + shlex.join(["python", "benchmarks/cnn_memory.py", *argv]), flush=True)
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    result = json.loads(out.strip().splitlines()[-1])
    print("  " + json.dumps(result), flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--estimate-only", action="store_true")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--train-rows", type=int, default=128)
    parser.add_argument("--speed-size", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--micro-batch",
        type=int,
        default=16,
        help="omitrans_cnn's micro_batch in the measured step (0: the whole batch)",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--checkpoint", default="true", help=argparse.SUPPRESS)
    parser.add_argument("--cpgs", type=int, default=5_000, help=argparse.SUPPRESS)
    parser.add_argument("--genes", type=int, default=5_000, help=argparse.SUPPRESS)
    parser.add_argument("--epochs", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "speed":
        speed_child(args)
        return
    if args.child:
        child(args)
        return

    estimates(args.batch)
    flops(args.batch)
    if args.estimate_only:
        return
    common = ["--threads", str(args.threads)]
    print(f"\nmeasured: size S widths, batch {args.batch}, {args.train_rows} training rows, one epoch")
    size_s = ["--cpgs", "5000", "--genes", "5000", "--train-rows", str(args.train_rows), "--batch", str(args.batch)]
    micro = ["--micro-batch", str(args.micro_batch)]
    cnn = run_child(["--child", "omitrans_cnn", "--checkpoint", "true", *micro, *size_s, *common])
    fc = run_child(["--child", "omitrans_fc", *size_s, *common])
    ratio = float(cnn["peak_rss_gib"]) / float(fc["peak_rss_gib"])  # type: ignore[arg-type]
    print(
        f"peak RSS: omitrans_cnn checkpointed, micro_batch {cnn['micro_batch']}: {cnn['peak_rss_gib']} GiB, "
        f"omitrans_fc {fc['peak_rss_gib']} GiB: {ratio:.2f}x"
    )

    n = str(args.speed_size)
    print(f"\nspeed: {n} CpGs -> {n} genes, one training step of batch 16, checkpointing off / on alternately")
    speed = ["--child", "speed", "--cpgs", n, "--genes", n, "--batch", "16", "--rounds", str(args.rounds), *common]
    steps = run_child(speed)["step_s"]
    plain, ckpt = min(steps["false"]), min(steps["true"])  # type: ignore[index]
    cost = 100 * (ckpt / plain - 1)
    print(f"fastest step: plain {plain:.2f} s, checkpointed {ckpt:.2f} s: checkpointing costs {cost:+.0f}%")


if __name__ == "__main__":
    main()
