"""Learning curve: validation median featurewise R² of translators fitted on random subsets of the
training rows (the validation and test rows never change; the test split is not touched).

    python benchmarks/learning_curve.py experiments/brca.yaml [--translators ridge stack] [--draws 5]

Prints one line per training-set size: mean ± sd over the draws (one draw at the full size).
"""

from __future__ import annotations

import argparse

import numpy as np

from omibench import FitContext
from omibench.config import load_config
from omibench.contract.registry import load_registry
from omibench.metrics.reconstruction import score
from omibench.run.preparation import prepare


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config")
    parser.add_argument("--translators", nargs="+", default=["ridge", "stack"])
    parser.add_argument("--fractions", nargs="+", type=float, default=[0.25, 0.5, 0.75, 1.0])
    parser.add_argument("--draws", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    registry = load_registry()
    prepared = prepare(load_config(args.config), registry, None)
    n = prepared.train.n_samples
    rng = np.random.default_rng(args.seed)
    print(f"{args.config}: {n} training, {prepared.val.n_samples} validation samples")
    for fraction in args.fractions:
        size = int(round(fraction * n))
        values: dict[str, list[float]] = {name: [] for name in args.translators}
        for _ in range(args.draws if size < n else 1):
            train = prepared.train.subset(np.sort(rng.choice(n, size, replace=False)))
            for name in args.translators:
                model = registry.translator(name)().fit(train, prepared.val, FitContext(seed=args.seed))
                values[name].append(
                    float(np.median(score(prepared.val.a, model.predict(prepared.val.b)).r2_featurewise))
                )
        print(
            f"n={size:4d} " + "  ".join(f"{k} {np.mean(v):.4f} ± {np.std(v):.4f}" for k, v in values.items()),
            flush=True,
        )


if __name__ == "__main__":
    main()
