"""LASSO's per-gene cost on the shared cohorts at the default settings, and what the path's early
stop (``path_patience``) saves and changes.

    python benchmarks/lasso_cohorts.py                      # brca laml coad rosmap, 60 genes each, 1 thread
    python benchmarks/lasso_cohorts.py --cohorts brca --genes 20 --json

Each cohort is prepared exactly as ``experiments/<cohort>.yaml`` (preprocessing, split); LASSO fits an
evenly spaced subset of its genes with one worker and one BLAS thread, once with the default
``path_patience`` and once with the whole grid (``path_patience: null``), in alternation. The choice
change rate compares the per-gene alphas the two pick (both chosen on the validation split only).
Needs ../shared/data (cohorts absent there are skipped).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

__all__ = ["measure_cohort"]
ROOT = Path(__file__).resolve().parent.parent


def measure_cohort(
    cohort: str, genes: int = 60, repeats: int = 1, patience: int | None = None, rise: float | None = 0.02
) -> dict | None:
    """Per-gene seconds with and without the early stop (``patience``: default ``path_patience``), on
    ``genes`` genes of one cohort."""
    from omibench import FitContext, OmibenchError
    from omibench.config import load_config
    from omibench.contract.registry import load_registry
    from omibench.run.preparation import prepare
    from omibench.run.threads import limit_threads

    config = ROOT / "experiments" / f"{cohort}.yaml"
    cfg = load_config(config, [f"data.root={ROOT / '..' / 'shared' / 'data' / _folder(config)}"])
    registry = load_registry()
    try:
        prepared = prepare(cfg, registry)
    except OmibenchError as exc:  # a cohort absent from ../shared/data
        print(f"  {cohort}: skipped ({str(exc).splitlines()[0]})")
        return None
    cols = np.unique(np.linspace(0, prepared.train.a.shape[1] - 1, genes).astype(int))
    train, val = _genes(prepared.train, cols), _genes(prepared.val, cols)
    cls = registry.translator("lasso")
    times: dict[str, list[float]] = {"early": [], "full": []}
    alphas: dict[str, np.ndarray] = {}
    with limit_threads(1):
        two = np.arange(2)  # an untimed warm-up fit
        cls(path_patience=None).fit(_genes(train, two), _genes(val, two), FitContext(n_jobs=1))
        for _ in range(repeats):
            for key, stop in (("early", patience or cls.default_params["path_patience"]), ("full", None)):
                model = cls(path_patience=stop, **({"path_rise": rise} if stop else {"path_rise": None}))
                start = time.perf_counter()
                model.fit(train, val, FitContext(n_jobs=1))
                times[key].append((time.perf_counter() - start) / len(cols))
                alphas[key] = model.alpha_
    early, full = min(times["early"]), min(times["full"])
    return {
        "cohort": cohort,
        "train_rows": train.n_samples,
        "cpgs": train.b.shape[1],
        "genes": len(cols),
        "s_per_gene": round(early, 4),
        "s_per_gene_full_path": round(full, 4),
        "saving": round(full / early, 2),
        "patience": patience or cls.default_params["path_patience"],
        "rise": rise,
        "choice_changed": int((alphas["early"] != alphas["full"]).sum()),
    }


def _genes(data, cols: np.ndarray):  # type: ignore[no-untyped-def]
    from dataclasses import replace

    return replace(data, a=np.ascontiguousarray(data.a[:, cols]), a_features=data.a_features[cols], _fingerprint=[])


def _folder(config: Path) -> str:
    import yaml

    return Path(yaml.safe_load(config.read_text())["data"]["root"]).name


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cohorts", default="brca,laml,coad,rosmap")
    ap.add_argument("--genes", type=int, default=60)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--patience", type=int, default=None, help="path_patience to compare (default: the default)")
    ap.add_argument("--rise", type=float, default=0.02, help="path_rise to compare; 0: none")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    rows = [
        r
        for c in args.cohorts.split(",")
        if (r := measure_cohort(c, args.genes, args.repeats, args.patience, args.rise or None)) is not None
    ]
    for r in rows:
        print(json.dumps(r) if args.json else "  ".join(f"{k}={v}" for k, v in r.items()))
    if len(rows) > 1:
        costs = [r["s_per_gene"] for r in rows]
        spread = max(costs) / min(costs)
        status = "met" if spread <= 3 else "not met"
        print(f"spread of per-gene cost across cohorts: {spread:.1f}x (target <= 3x): {status}")


if __name__ == "__main__":
    main()
