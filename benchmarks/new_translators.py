"""Cost and validation score of ``svd_krr`` and ``local`` next to ``ridge`` (and ``krr``, the controls).

Two settings, each translator fitted in its own subprocess so that its peak memory is its own:

- ``brca``: the shared Lock-Dunson BRCA cohort (experiments/brca.yaml data and split fractions:
  val 0.1, test 0.2, stratified by PAM50), one split per ``--seeds`` value. Reports the median
  featurewise R² on the VALIDATION split only (the split every translator chose its
  hyperparameters on, so it is optimistic for all alike; test numbers are never looked at here).
  ``local`` uses the real hg19 probe and gene tables of ../shared/data/annotation.
- ``size-s``: size S, a synthetic cohort of 1,000 training samples x 5,000 CpGs -> 5,000 genes
  (plus 150 validation samples; ``synthetic --size N P G`` for other sizes), with synthetic locations
  at the paper's CpG density (39,464
  filtered 450K CpGs over the genome: one per ~76 kb). Cost only: the synthetic data have no
  local structure, so its scores say nothing about ``local``.

Per fit: wall time, CPU time, resident memory before the fit (data loaded) and peak resident
memory of the process (VmHWM). Run with one BLAS thread on an otherwise idle machine:

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/new_translators.py brca --seeds 0 1 2
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/new_translators.py size-s
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from omibench import FitContext, Translator
from omibench.data.paired import PairedData

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
BRCA = SHARED / "tcga_brca_lockdunson"
PROBES = SHARED / "annotation" / "hm450_probe_locations_hg19.csv.gz"
GENES = SHARED / "annotation" / "gene_location_hg19.csv.gz"
BRCA_TRANSLATORS = ["train_mean", "class_mean", "random_profile", "ridge", "krr", "svd_krr", "local"]
SIZE_S_TRANSLATORS = ["ridge", "krr", "svd_krr", "local"]


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _translator(name: str, tables: tuple[str, str] | None) -> Translator:
    from omibench_plugins.baselines import Ridge, TrainMean
    from omibench_plugins.controls import ClassMean, RandomProfile
    from omibench_plugins.local import Local
    from omibench_plugins.stack import KernelRidge
    from omibench_plugins.svd_krr import SvdKrr

    if name == "local":
        assert tables is not None
        return Local(probe_table=tables[0], gene_table=tables[1])
    classes: dict[str, type[Translator]] = {
        "train_mean": TrainMean,
        "class_mean": ClassMean,
        "random_profile": RandomProfile,
        "ridge": Ridge,
        "krr": KernelRidge,
        "svd_krr": SvdKrr,
    }
    return classes[name]()


def _brca(seed: int) -> tuple[PairedData, PairedData, tuple[str, str]]:
    from omibench.data.sources import FilesSource
    from omibench.data.splits import make_split

    src = FilesSource(
        FilesSource.Params(
            root=BRCA,
            b=Path("methylation_beta.csv"),
            a=Path("expression_log2ratio.csv"),
            labels=Path("labels.csv"),
            label_column="pam50",
        )
    )
    data = src.load()
    rows = make_split(data, seed=seed, val_fraction=0.1, test_fraction=0.2).rows(data)
    return data.subset(rows["train"]), data.subset(rows["val"]), (str(PROBES), str(GENES))


def _synthetic(workdir: Path, n: int, p: int, g: int) -> tuple[PairedData, PairedData, tuple[str, str]]:
    import pandas as pd

    from omibench.data.synthetic import make_synthetic

    n_val = max(10, round(0.15 * n))
    data = make_synthetic(n_samples=n + n_val, n_cpgs=p, n_genes=g, n_classes=4, seed=0)
    rng = np.random.default_rng(0)
    span = p * 76_000  # the paper's density of filtered CpGs, over a genome cut to p of them
    chrom_len = span // 22
    cpg_at, gene_at = rng.integers(0, span, p), rng.integers(0, span, g)
    probes, genes = workdir / "probes.csv", workdir / "genes.csv"
    pd.DataFrame(
        {"probe": data.b_features, "chr": [f"chr{1 + p // chrom_len}" for p in cpg_at], "pos": cpg_at % chrom_len}
    ).to_csv(probes, index=False)
    pd.DataFrame(
        {"gene": data.a_features, "chr": [str(1 + p // chrom_len) for p in gene_at], "pos": gene_at % chrom_len}
    ).to_csv(genes, index=False)
    return data.subset(np.arange(n)), data.subset(np.arange(n, n + n_val)), (str(probes), str(genes))


def _median_r2f(pred: np.ndarray, truth: np.ndarray) -> float:
    from omibench.metrics.reconstruction import score

    return float(score(truth, pred).summary["median_r2_featurewise"])


def one(name: str, where: str, seed: int, size: tuple[int, int, int]) -> dict[str, Any]:
    """Fit one translator in this process and measure it (the child's side)."""
    with tempfile.TemporaryDirectory() as tmp:
        train, val, tables = _brca(seed) if where == "brca" else _synthetic(Path(tmp), *size)
        model = _translator(name, tables)
        rss_before = _status_kb("VmRSS")
        wall, cpu = time.perf_counter(), time.process_time()
        model.fit(train, val, FitContext(seed=seed))
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        peak = _status_kb("VmHWM")
        if getattr(model, "uses_test_labels", False):
            pred = model.predict_with_labels(val.b, val.labels)  # type: ignore[attr-defined]  # a control's method
        else:
            pred = model.predict(val.b)
        chosen: dict[str, Any] = model.chosen() if hasattr(model, "chosen") else {}
        return {
            "translator": name,
            "where": where,
            "seed": seed,
            "n_train": train.n_samples,
            "shape": f"{train.b.shape[1]}->{train.a.shape[1]}",
            "fit_s": round(wall, 2),
            "cpu_s": round(cpu, 2),
            "rss_before_mb": round(rss_before / 1024),
            "peak_rss_mb": round(peak / 1024),
            "val_median_r2f": round(_median_r2f(pred, val.a), 4),
            "chosen": chosen,
        }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("where", choices=["brca", "size-s", "synthetic"])
    ap.add_argument(
        "--size",
        type=int,
        nargs=3,
        default=[1000, 5000, 5000],
        metavar=("N", "P", "G"),
        help="synthetic: training samples, CpGs, genes (size-s is 1000 5000 5000)",
    )
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--translators", nargs="+")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    args = ap.parse_args()
    where = args.where
    if args.one:
        n, p, g = (1000, 5000, 5000) if args.where == "size-s" else args.size
        print(json.dumps(one(args.one, where, args.seeds[0], (n, p, g)), default=str))
        return
    if where == "brca" and not BRCA.is_dir():
        sys.exit(f"error: {BRCA}: the shared BRCA cohort is not present")
    names = args.translators or (BRCA_TRANSLATORS if where == "brca" else SIZE_S_TRANSLATORS)
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    rows = []
    for seed in args.seeds:
        for name in names:
            cmd = [
                sys.executable,
                __file__,
                args.where,
                "--seeds",
                str(seed),
                "--size",
                *map(str, args.size),
                "--one",
                name,
            ]
            out = subprocess.run(cmd, check=False, capture_output=True, text=True, env=env)
            if out.returncode:
                print(f"{name} seed {seed}: failed\n{out.stderr[-2000:]}", file=sys.stderr)
                continue
            row = json.loads(out.stdout.strip().splitlines()[-1])
            rows.append(row)
            print(json.dumps(row, default=str), flush=True)
    print(
        "\n| translator | split seeds | fit s (mean) | peak RSS MB (max) | RSS before fit MB | val median R²f (mean) |"
    )
    print("|---|---|---|---|---|---|")
    for name in names:
        mine = [r for r in rows if r["translator"] == name]
        if mine:
            print(
                f"| {name} | {len(mine)} | {np.mean([r['fit_s'] for r in mine]):.2f} | "
                f"{max(r['peak_rss_mb'] for r in mine)} | {max(r['rss_before_mb'] for r in mine)} | "
                f"{np.mean([r['val_median_r2f'] for r in mine]):.3f} |"
            )


if __name__ == "__main__":
    main()
