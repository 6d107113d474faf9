"""Table 3's classifier (OmiEmbed VAE + classifier, ``omibench.downstream.classifier``) against its FLOP floor.

    python benchmarks/classifier_floor.py --threads 1            # BRCA's shape: 233 x 645, 5 classes
    python benchmarks/classifier_floor.py --threads 1 --epochs 40 --json

The floor: the FLOPs of the whole schedule (counted by ``torch.utils.flop_counter`` on one epoch of
each phase, times the phase's epochs) divided by the rate of plain matrix products of the network's
own Linear shapes at the batch size (forward, weight and input gradient, outputs preallocated, best
of 3), measured in the same process with the same threads. The fit runs ``--epochs`` epochs in the
default 1:1:2 phase proportions and is scaled to the default 200.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

__all__ = ["measure"]


def _gemm_rate(shapes: list[tuple[int, int]], batch: int) -> float:
    import torch

    def best(f) -> float:  # type: ignore[no-untyped-def]
        f()
        times = []
        for _ in range(3):
            start = time.perf_counter()
            f()
            times.append(time.perf_counter() - start)
        return min(times)

    flops = seconds = 0.0
    for n_in, n_out in shapes:
        x, w, gy = torch.randn(batch, n_in), torch.randn(n_out, n_in), torch.randn(batch, n_out)
        y, dw, dx = torch.empty(batch, n_out), torch.empty(n_out, n_in), torch.empty(batch, n_in)
        reps = 20  # small products: time many in a row
        seconds += best(lambda: [torch.mm(x, w.t(), out=y) for _ in range(reps)]) / reps
        seconds += best(lambda: [torch.mm(gy.t(), x, out=dw) for _ in range(reps)]) / reps
        seconds += best(lambda: [torch.mm(gy, w, out=dx) for _ in range(reps)]) / reps
        flops += 3 * 2 * batch * n_in * n_out
    return flops / seconds


def measure(n: int = 233, genes: int = 645, classes: int = 5, epochs: int = 200, threads: int = 1) -> dict:
    """Fit time scaled to the default 200 epochs, the FLOP floor in seconds and their ratio."""
    from torch.utils.flop_counter import FlopCounterMode

    from omibench.downstream.classifier import ClassifierSettings, OmiEmbedClassifier
    from omibench.run.threads import limit_threads

    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, genes)).astype(np.float32)
    labels = [str(v) for v in rng.integers(0, classes, n)]
    features = [f"g{i}" for i in range(genes)]
    default = ClassifierSettings()
    with limit_threads(threads):
        # FLOPs of one epoch per phase (each phase alone: epochs (1,0,0), (0,1,0), (0,0,1))
        per_phase = []
        for k in range(3):
            counter = FlopCounterMode(display=False)
            one = tuple(1 if i == k else 0 for i in range(3))
            with counter:
                OmiEmbedClassifier.train(a, labels, features, ClassifierSettings(epochs=one, decay_epochs=0))  # type: ignore[arg-type]
            per_phase.append(counter.get_total_flops())
        total_flops = sum(f * e for f, e in zip(per_phase, default.epochs))
        s = default
        shapes = [
            *zip((genes, *s.hidden), s.hidden),
            (s.hidden[-1], s.latent),
            (s.hidden[-1], s.latent),
            *zip((s.latent, *s.hidden[::-1]), (*s.hidden[::-1], genes)),
            *zip((s.latent, *s.classifier_hidden), (*s.classifier_hidden, classes)),
        ]
        rate = _gemm_rate(shapes, s.batch_size)
        scale = epochs / sum(default.epochs)
        short = tuple(max(1, round(e * scale)) for e in default.epochs)
        run = ClassifierSettings(epochs=short, decay_epochs=max(1, round(default.decay_epochs * scale)))  # type: ignore[arg-type]
        start = time.perf_counter()
        OmiEmbedClassifier.train(a, labels, features, run)
        fit = (time.perf_counter() - start) * sum(default.epochs) / sum(run.epochs)
    floor = total_flops / rate
    return {
        "what": "table3_classifier",
        "samples": n,
        "genes": genes,
        "threads": threads,
        "fit_200_epochs_s": round(fit, 2),
        "tflop": round(total_flops / 1e12, 3),
        "gemm_gflops": round(rate / 1e9, 1),
        "floor_s": round(floor, 2),
        "ratio_to_floor": round(fit / floor, 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=40, help="epochs actually run (scaled to 200)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    out = measure(epochs=args.epochs, threads=args.threads)
    print(json.dumps(out) if args.json else "\n".join(f"{k}: {v}" for k, v in out.items()))


if __name__ == "__main__":
    main()
