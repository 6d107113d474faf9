"""A few training steps of one OmiTrans network on an experiment's prepared data: time, memory, FLOPs.

    python benchmarks/tcga_steps.py experiments/tcga.yaml omitrans_fc --steps 3 \\
        --set data.root=/work/bigdata/tcga_full --set tracking.store=/work/bigdata/b2/store
    python benchmarks/tcga_steps.py experiments/tcga.yaml omitrans_cnn --steps 1 --batch 1 --set ...

For translators whose one epoch does not fit the time at hand (OmiTrans-FC / cGAN / CNN at the
paper's size on a CPU). It loads the experiment's prepared data through the store's data cache (a
hit after one ``omibench run`` or ``omibench data prepare``), builds the named translator with the
experiment's parameters on the full feature counts, and runs ``--steps`` single-batch training steps
(one discriminator and one generator update each) on the first training rows. It prints the seconds
of each step, the process's peak resident memory and the FLOPs of one step (counted on the meta
device, so the count costs no arithmetic), and the extrapolation to one epoch of the training split.
"""

from __future__ import annotations

import argparse
import math
import resource
import time

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from omibench.config import load_config
from omibench.contract.registry import load_registry
from omibench.run.preparation import prepare

GIB = 1024**3


def peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / GIB  # ru_maxrss is KiB on Linux


def step_flops(cls: type, params: dict, n_in: int, n_out: int, batch: int) -> int:
    """FLOPs of one training step (D and G forward + backward) counted with meta tensors."""
    with torch.device("meta"):
        model = cls(**params)
        model.a_min_, model.a_max_, model.a_mean_ = 0.0, 1.0, None
        model.build(n_in, n_out)
        b = torch.rand(batch, n_in)
        a = torch.rand(batch, n_out)
        counter = FlopCounterMode(display=False)
        with counter:  # the passes of one train_epoch batch: D on fake, D on real, G through D
            fake = model.net(b)
            model.disc(fake.detach(), b).sum().backward()
            model.disc(a, b).sum().backward()
            (model.disc(fake, b).sum() + fake.sum()).backward()
    return int(counter.get_total_flops())


def saved_activation_bytes(cls: type, params: dict, n_in: int, n_out: int, batch: int) -> int:
    """Bytes autograd keeps for backward in the generator's forward plus the discriminator's (the
    activations of one step's largest live graph), measured with meta tensors and saved-tensor hooks."""
    total = 0

    def pack(t: torch.Tensor) -> torch.Tensor:
        nonlocal total
        total += t.numel() * t.element_size()
        return t

    with torch.device("meta"):
        model = cls(**params)
        model.a_min_, model.a_max_, model.a_mean_ = 0.0, 1.0, None
        model.build(n_in, n_out)
        b = torch.rand(batch, n_in)
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            model.disc(model.net(b), b)
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config")
    parser.add_argument("translator")
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--batch", type=int, default=None, help="default: the translator's batch_size")
    parser.add_argument("--flops-only", action="store_true")
    args = parser.parse_args()

    torch.set_num_threads(2)
    cfg = load_config(args.config, args.overrides)
    registry = load_registry()
    entry = next(t for t in load_config(args.config).translators if t.name == args.translator)
    cls = registry.translator(args.translator)
    params = dict(entry.params)
    t0 = time.perf_counter()
    prepared = prepare(cfg, registry, cfg.tracking.store / "cache")
    train = prepared.train
    n_in, n_out = train.b.shape[1], train.a.shape[1]
    batch = args.batch or int(params.get("batch_size", cls.default_params["batch_size"]))
    print(
        f"prepared data: train {train.n_samples} x {n_in} -> {n_out} in {time.perf_counter() - t0:.1f}s, "
        f"peak RSS so far {peak_rss_gib():.2f} GiB"
    )

    flops = step_flops(cls, params, n_in, n_out, batch)
    steps_per_epoch = math.ceil(train.n_samples / batch)
    print(
        f"{args.translator}: one step (batch {batch}) = {flops / 1e12:.3f} TFLOP "
        f"({flops / batch / 1e12:.4f} TFLOP per sample); {steps_per_epoch} steps per epoch"
    )
    # saved tensors include references to the weights: the per-sample part is the batch-2 minus batch-1 difference
    per_sample = saved_activation_bytes(cls, params, n_in, n_out, 2) - saved_activation_bytes(
        cls, params, n_in, n_out, 1
    )
    print(
        f"{args.translator}: activations kept for backward (G + D graph) = {per_sample / GIB:.3f} GiB per sample, "
        f"{per_sample * batch / GIB:.1f} GiB at batch {batch}"
    )
    if args.flops_only:
        return

    model = cls(**params)
    model.fit_scaling(train)
    model.build(n_in, n_out)
    n_params = sum(p.numel() for p in model.net.parameters()) + sum(p.numel() for p in model.disc.parameters())
    print(f"networks built: {n_params:,} parameters, peak RSS so far {peak_rss_gib():.2f} GiB")
    generator = torch.Generator().manual_seed(0)
    times = []
    for step in range(1, args.steps + 1):
        rows = slice((step - 1) * batch, step * batch)
        b = torch.from_numpy(np.ascontiguousarray(train.b[rows], dtype=np.float32))
        a = torch.from_numpy(np.ascontiguousarray(train.a[rows], dtype=np.float32))
        start = time.perf_counter()
        model.train_epoch(b, a, step, generator)  # exactly one batch: one D and one G update
        elapsed = time.perf_counter() - start
        times.append(elapsed)
        print(f"step {step}: {elapsed:.2f}s ({flops / elapsed / 1e9:.1f} GFLOP/s), peak RSS {peak_rss_gib():.2f} GiB")
    steady = times[-1] if len(times) > 1 else times[0]
    print(
        f"extrapolated: one epoch = {steps_per_epoch} steps x {steady:.1f}s = {steps_per_epoch * steady / 3600:.2f} h "
        f"(from the last step; step 1 includes Adam's state allocation)"
    )


if __name__ == "__main__":
    main()
