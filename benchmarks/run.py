"""The omibench benchmark suite: speed and memory of the built-in translators against the hardware.

    python benchmarks/run.py                         # every section at sizes S, M, P (~30 min, 2 cores)
    python benchmarks/run.py --sections neural --sizes S,P
    python benchmarks/run.py --quick                 # size S only (~2 min): a smoke test

Sections (each measurement runs in its own subprocess, so its peak resident memory is its own):

- ``neural``: OmiTrans-FC, TDimpute and OmiTrans-CNN at the paper's widths. Time per training step
  (after one warm-up step) and per epoch (steps x 80% of the samples / batch), FLOPs of a step
  counted by ``torch.utils.flop_counter``, the achieved FLOP/s, and the *floor*: the FLOP/s of
  plain matrix products of the network's own Linear shapes (forward, weight and input gradients,
  outputs preallocated, best of 3), measured in the same process. For the CNN the floor is a
  square 2048 matrix product (convolutions have no GEMM twin).
- ``linear``: ridge, PCR, kNN, linear regression (whole fits) and LASSO (per gene: celer at the
  stated duality-gap tolerance, next to scikit-learn's coordinate descent on the same gene).
- ``cnn_brca``, ``cnn_s``, ``lasso_cohorts``, ``lasso_p``, ``classifier``: issue 17's targets (``speed_targets.py``):
  OmiTrans-CNN at the paper's widths on shared BRCA (with OmiTrans-FC's peak memory on the same
  data) and at size S, LASSO's per-gene cost on the four shared cohorts, Table 3's classifier
  against its FLOP floor; each row says measured value, target, met / not met. Threads: ``--threads``.
- ``workers``, ``cpu_hog``, ``quickstart``, ``test_run``: issue 17's thread and waiting-time
  targets (``parallel_targets.py``): two local workers against one, an inline job beside a CPU hog,
  the README's two commands' wall time. Run them on an otherwise idle machine.
- ``harness``: ``omibench --help`` latency, and the wall time of a run through the harness
  (preparation excluded: ``run_experiment`` with the inline executor) against the same
  translator's ``fit`` + ``predict`` called directly on the same prepared data.

Sizes (samples in memory x CpGs -> genes): S 1,000 x 5,000 -> 5,000; M 2,000 x 20,000 -> 20,000;
P 9,081 x 39,464 -> 60,483, the paper's (networks step a few batches; LASSO fits a few genes on the
paper's 7,265 training samples). Writes ``benchmarks/results.csv`` and prints one table.
"""

from __future__ import annotations

import argparse
import json
import os

os.environ.setdefault("THP_MEM_ALLOC_ENABLE", "1")  # as omibench does (see omibench/__init__.py)
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SIZES = {"S": (1000, 5000, 5000), "M": (2000, 20000, 20000), "P": (9081, 39464, 60483)}
NEURAL = {
    "omitrans_fc": {"batch_size": 128},
    "tdimpute": {"batch_size": 16},
    "omitrans_cnn": {"batch_size": 128},
}
LINEAR = ["ridge", "pcr", "knn", "linear_regression", "lasso"]
GIB = 1024**3


def peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / GIB


def _data(size: str, genes: int | None = None):  # type: ignore[no-untyped-def]
    from omibench.data import make_synthetic

    n, p, g = SIZES[size]
    return make_synthetic(n_samples=n, n_cpgs=p, n_genes=genes or g, seed=0)


# --- neural ---------------------------------------------------------------------------------
def _gemm_floor(shapes: list[tuple[int, int]], batch: int) -> tuple[float, float]:
    """FLOP/s of the forward, weight-gradient and input-gradient products of these Linear shapes."""
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
    for n_in, n_out in sorted(set(shapes)):
        x, w, gy = torch.randn(batch, n_in), torch.randn(n_out, n_in), torch.randn(batch, n_out)
        y, dw, dx = torch.empty(batch, n_out), torch.empty(n_out, n_in), torch.empty(batch, n_in)
        seconds += (
            best(lambda: torch.mm(x, w.t(), out=y))
            + best(lambda: torch.mm(gy.t(), x, out=dw))
            + best(lambda: torch.mm(gy, w, out=dx))
        )
        flops += 3 * 2.0 * batch * n_in * n_out
    return flops / seconds, seconds


def measure_neural(name: str, size: str, steps: int) -> dict:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from omibench.contract.registry import load_registry

    data = _data(size)
    params = dict(NEURAL[name])
    if name == "omitrans_cnn":
        params.update(filters=8, disc_filters=8)  # 64 filters at batch 128 exceed 24 GiB already at size S
    model = load_registry().translator(name)(**params)
    bs = params["batch_size"]
    n_train = int(round(0.8 * data.n_samples))
    model.prepare(data)
    b, a = torch.from_numpy(data.b), model.to_model_scale(torch.from_numpy(data.a))
    gen = torch.Generator().manual_seed(0)
    model.train_epoch(b[:bs], a[:bs], 1, gen)  # warm-up
    with FlopCounterMode(display=False) as counter:
        model.train_epoch(b[:bs], a[:bs], 1, gen)
    step_flops = float(counter.get_total_flops())
    start = time.perf_counter()
    model.train_epoch(b[: steps * bs], a[: steps * bs], 1, gen)
    step_s = (time.perf_counter() - start) / steps
    start = time.perf_counter()
    model.predict(data.b[:1000])
    predict_s = time.perf_counter() - start
    linears = [
        (m.in_features, m.out_features)
        for net in (model.net, getattr(model, "disc", None))
        if net is not None
        for m in net.modules()
        if isinstance(m, torch.nn.Linear)
    ]
    if name == "omitrans_cnn":
        floor, _ = _gemm_floor([(2048, 2048)], 2048)
        floor_kind = "square GEMM"
    else:
        floor, _ = _gemm_floor(linears, bs)
        floor_kind = "same-shape GEMMs"
    achieved = step_flops / step_s
    return {
        "section": "neural",
        "translator": name,
        "size": size,
        "params": json.dumps(params),
        "unit": "epoch",
        "fit_s_per_unit": step_s * (n_train // bs),
        "step_s": step_s,
        "predict_s_per_1000": predict_s,
        "gflop_per_step": step_flops / 1e9,
        "achieved_gflops": achieved / 1e9,
        "floor_gflops": floor / 1e9,
        "pct_of_floor": 100 * achieved / floor,
        "note": f"{steps} steps of batch {bs}; floor: {floor_kind}",
    }


# --- linear ---------------------------------------------------------------------------------
def measure_linear(name: str, size: str, genes: int) -> dict:
    from omibench import FitContext
    from omibench.contract.registry import load_registry

    n, p, g = SIZES[size]
    lasso_genes = genes if name == "lasso" else None
    data = _data(size, lasso_genes)
    n_train, n_val = int(round(0.8 * n)), int(round(0.1 * n))
    train, val = data.subset(range(n_train)), data.subset(range(n_train, n_train + n_val))
    cls = load_registry().translator(name)
    params = {"alpha": 0.01, "tol": 1e-4} if name == "lasso" else {}
    model = cls(**params)
    start = time.perf_counter()
    model.fit(train, val, FitContext(n_jobs=1))
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    model.predict(data.b[:1000])
    predict_s = time.perf_counter() - start
    row = {
        "section": "linear",
        "translator": name,
        "size": size,
        "params": json.dumps(params),
        "unit": "fit",
        "fit_s_per_unit": fit_s,
        "predict_s_per_1000": predict_s,
        "note": "",
    }
    if name == "lasso":
        per_gene = fit_s / train.a.shape[1]
        row.update(
            unit="gene",
            fit_s_per_unit=per_gene,
            note=f"celer, {train.a.shape[1]} genes, 1 core, alpha 0.01, gap tol 1e-4*||y||²/n; "
            f"x {g} genes = {per_gene * g / 3600:.1f} CPU-h (paper 12,320)",
        )
        row["sklearn_s_per_gene"] = _sklearn_lasso(train, 0.01)
    return row


def measure_lasso_paper(genes: int, ratios: list[float], sklearn: bool) -> list[dict]:
    """LASSO per gene at the paper's size: 7,265 training samples x 39,464 CpGs, alpha a fraction of
    each gene's alpha_max, celer with omibench's tolerance, CPU seconds (all threads) per gene."""
    import numpy as np
    from celer import Lasso as CelerLasso

    n, p, _ = SIZES["P"]
    data = _data("P", genes)
    n_train = 7265
    x = np.asfortranarray(data.b[:n_train], dtype=np.float64)
    x -= x.mean(axis=0)
    y_all = data.a[:n_train].astype(np.float64)
    y_all -= y_all.mean(axis=0)
    del data
    alpha_max = np.abs(x.T @ y_all).max(axis=0) / n_train  # one product for every gene
    rows = []
    for ratio in ratios:
        cpu, wall, nnz = [], [], []
        for j in range(genes):
            y = np.ascontiguousarray(y_all[:, j])
            tol = 1e-4  # celer's tol is relative: duality gap below tol * ||y||² / n
            c0, w0 = time.process_time(), time.perf_counter()
            model = CelerLasso(alpha=ratio * alpha_max[j], tol=tol, fit_intercept=False, max_iter=50, prune=True).fit(
                x, y
            )
            cpu.append(time.process_time() - c0)
            wall.append(time.perf_counter() - w0)
            nnz.append(int((model.coef_ != 0).sum()))
            print(
                f"    celer gene {j} alpha {ratio} alpha_max: {cpu[-1]:.2f} CPU-s, {nnz[-1]} CpGs",
                file=sys.stderr,
                flush=True,
            )
        per_gene = float(np.mean(cpu))
        row = {
            "section": "linear",
            "translator": "lasso (celer)",
            "size": "P",
            "unit": "gene",
            "fit_s_per_unit": float(np.mean(wall)),
            "cpu_s_per_gene": per_gene,
            "note": f"{n_train} x {p}, alpha = {ratio} alpha_max, duality gap < 1e-4 ||y||²/n, mean of {genes} genes, "
            f"mean {np.mean(nnz):.0f} non-zero CpGs; x 60,483 genes = {per_gene * 60483 / 3600:.0f} CPU-h "
            f"(paper 12,320; target <= 123)",
        }
        if sklearn:
            from sklearn.linear_model import Lasso

            y = y_all[:, 0]
            c0, w0 = time.process_time(), time.perf_counter()
            sk = Lasso(
                alpha=ratio * alpha_max[0], tol=1e-4, max_iter=2000, fit_intercept=False, selection="cyclic"
            ).fit(x, y)
            row["sklearn_cpu_s_per_gene"] = time.process_time() - c0
            row["sklearn_s_per_gene"] = time.perf_counter() - w0
            print(
                f"    sklearn gene 0: {row['sklearn_cpu_s_per_gene']:.1f} CPU-s, {sk.n_iter_} epochs",
                file=sys.stderr,
                flush=True,
            )
        rows.append(row)
    return rows


def _sklearn_lasso(train, alpha: float) -> float:  # type: ignore[no-untyped-def]
    import numpy as np
    from sklearn.linear_model import Lasso

    x = np.asfortranarray(train.b - train.b.mean(0), dtype=np.float64)
    y = train.a[:, 0].astype(np.float64)
    start = time.perf_counter()
    Lasso(alpha=alpha, tol=1e-4, max_iter=10_000, fit_intercept=False).fit(x, y - y.mean())
    return time.perf_counter() - start


# --- harness --------------------------------------------------------------------------------
def measure_harness(size: str) -> list[dict]:
    import tempfile

    from omibench import FitContext
    from omibench.config import ExperimentConfig
    from omibench.contract.registry import load_registry
    from omibench.downstream.scoring import setup_downstream
    from omibench.run.preparation import prepare
    from omibench.run.runner import run_experiment
    from omibench.store import open_store

    rows = []
    t = [_time_cmd([sys.executable, "-m", "omibench.cli", "--help"]) for _ in range(3)]
    rows.append(
        {
            "section": "harness",
            "translator": "omibench --help",
            "size": "-",
            "unit": "call",
            "fit_s_per_unit": min(t),
            "note": "fresh interpreter, best of 3 (target < 1 s)",
        }
    )
    n, p, g = SIZES[size]
    measured = []  # (epochs, Table 3, direct s, harness s)
    for epochs, downstream in ((5, False), (30, False), (30, True)):
        translator = {"name": "tdimpute", "params": {"hidden": 1000, "epochs": epochs, "batch_size": 32}}
        config = ExperimentConfig(
            name="bench",
            data={"source": "synthetic", "n_samples": n, "n_cpgs": p, "n_genes": g},
            translators=[translator],
            downstream={"enabled": downstream, "epochs": [5, 5, 10], "decay_epochs": 5},
        )
        prepared = prepare(config, load_registry())
        plan = prepared.translators[0]
        with tempfile.TemporaryDirectory() as tmp:
            store = open_store(Path(tmp))
            exp_id = store.experiment_id("bench")
            assert exp_id is not None
            if downstream:  # trained once per training data and cached: not a per-run cost
                setup_downstream(prepared, store, exp_id)
            direct, harness = [], []
            for _ in range(2):  # alternate, keep the best of each: the first call warms torch up
                start = time.perf_counter()
                model = plan.cls(**plan.params).fit(prepared.train, prepared.val, FitContext(seed=0))
                model.predict(prepared.test.b)
                direct.append(time.perf_counter() - start)
                start = time.perf_counter()
                run_experiment(prepared, store, force=True)
                harness.append(time.perf_counter() - start)
        measured.append((epochs, downstream, min(direct), min(harness)))
        rows.append(
            {
                "section": "harness",
                "translator": f"tdimpute {epochs} epochs via run_experiment"
                + (" (Table 3 on, classifier cached)" if downstream else ""),
                "size": size,
                "unit": "run",
                "fit_s_per_unit": min(harness),
                "direct_s": min(direct),
                "overhead_pct": 100 * (min(harness) - min(direct)) / min(direct),
                "note": "direct = fit + predict on the same prepared data, best of 2 each",
            }
        )
    # harness = fixed + (1 + proportional) * direct, from the two Table-3-off points
    (_, _, d1, h1), (_, _, d2, h2) = measured[0], measured[1]
    proportional = (h2 - h1) / (d2 - d1) - 1
    rows.append(
        {
            "section": "harness",
            "translator": "harness overhead model (Table 3 off)",
            "size": size,
            "unit": "-",
            "overhead_pct": 100 * proportional,
            "fixed_s": h1 - (1 + proportional) * d1,
            "note": "overhead_pct: extra wall time per second of fit (target <= 5%); fixed_s: per run "
            "(scoring, figures, artifacts, MLflow)",
        }
    )
    return rows


def _time_cmd(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - start


# --- driver ---------------------------------------------------------------------------------
def _worker(spec: dict) -> None:
    kind = spec["kind"]
    if kind == "target":
        sys.path.insert(0, str(HERE))
        import speed_targets

        out = getattr(speed_targets, spec["name"])(**spec["kwargs"])
        rows = out if isinstance(out, list) else [out]
        for row in rows:
            row.update(section=spec["name"], translator=row.pop("target"), size=spec["size"])
    elif kind == "parallel":
        sys.path.insert(0, str(HERE))
        import parallel_targets

        rows = getattr(parallel_targets, spec["name"])()
    elif kind == "neural":
        rows = [measure_neural(spec["name"], spec["size"], spec["steps"])]
    elif kind == "lasso_paper":
        rows = measure_lasso_paper(spec["genes"], spec["ratios"], spec["sklearn"])
    elif kind == "linear":
        rows = [measure_linear(spec["name"], spec["size"], spec["genes"])]
    else:
        rows = measure_harness(spec["size"])
    for row in rows:
        row["peak_rss_gib"] = peak_rss_gib()
    print("RESULT " + json.dumps(rows))


def _run_worker(spec: dict, timeout: float) -> list[dict]:
    label = f"{spec['kind']} {spec.get('name', '')} {spec['size']}".strip()
    print(f"... {label}", file=sys.stderr, flush=True)
    try:
        proc = subprocess.run(
            [sys.executable, __file__, "--worker", json.dumps(spec)], capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return [
            {
                "section": spec["kind"],
                "translator": spec.get("name", ""),
                "size": spec["size"],
                "note": f"not measured: over the {timeout:.0f} s limit",
            }
        ]
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    tail = (proc.stderr or "").strip().splitlines()[-1:] or ["no output"]
    return [
        {
            "section": spec["kind"],
            "translator": spec.get("name", ""),
            "size": spec["size"],
            "note": f"failed: {tail[0]}",
        }
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sections", default="neural,linear,harness")
    parser.add_argument("--sizes", default="S,M,P")
    parser.add_argument("--quick", action="store_true", help="size S only")
    parser.add_argument("--steps", type=int, default=3, help="training steps timed per neural measurement")
    parser.add_argument("--lasso-genes", type=int, default=4, help="genes fitted for the LASSO per-gene cost")
    parser.add_argument("--threads", type=int, default=1, help="torch / BLAS threads of the issue-17 targets")
    parser.add_argument("--cnn-s-batch", type=int, default=128, help="batch of the CNN step at size S")
    parser.add_argument("--cohort-genes", type=int, default=60, help="genes per cohort for lasso_cohorts")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per measurement")
    parser.add_argument("--only", default=None, help="comma list of translators to measure (default: all)")
    parser.add_argument("--merge", action="store_true", help="replace only the measured rows of an existing --out")
    parser.add_argument("--out", type=Path, default=HERE / "results.csv")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        _worker(json.loads(args.worker))
        return
    import pandas as pd
    import torch

    sizes = ["S"] if args.quick else args.sizes.split(",")
    sections = args.sections.split(",")
    specs = []
    if "neural" in sections:
        specs += [
            {"kind": "neural", "name": n, "size": s, "steps": args.steps}
            for s in sizes
            for n in NEURAL
            if not (n == "omitrans_cnn" and s == "P")
        ]
    if "linear" in sections:
        specs += [
            {"kind": "linear", "name": n, "size": s, "genes": args.lasso_genes}
            for s in sizes
            for n in LINEAR
            if s != "P" or n == "ridge"
        ]
        if "P" in sizes:  # per gene at the paper's size, next to scikit-learn's coordinate descent
            specs.append(
                {
                    "kind": "lasso_paper",
                    "name": "lasso",
                    "size": "P",
                    "genes": args.lasso_genes,
                    "ratios": [0.1],
                    "sklearn": True,
                }
            )
    if "harness" in sections:
        specs.append({"kind": "harness", "size": "S"})
    threads = {"threads": args.threads}
    targets = {
        "cnn_brca": [("cnn_brca", "BRCA", threads), ("fc_brca", "BRCA", threads)],
        "cnn_s": [("cnn_s", "S", {**threads, "batch": args.cnn_s_batch})],
        "lasso_cohorts": [("lasso_cohorts", "cohorts", {"genes": args.cohort_genes})],
        "lasso_p": [("lasso_p", "P", {**threads, "genes": args.lasso_genes})],
        "classifier": [("classifier", "BRCA", threads)],
    }
    specs += [
        {"kind": "parallel", "name": name, "size": "quickstart"}
        for name in ("workers", "cpu_hog", "quickstart", "test_run")
        if name in sections
    ]
    specs += [
        {"kind": "target", "name": f, "size": size, "kwargs": kw}
        for section in sections
        for f, size, kw in targets.get(section, [])
    ]
    if args.only:
        wanted = set(args.only.split(","))
        specs = [
            s
            for s in specs
            if s.get("name") in wanted or s["kind"] == "target" or (s["kind"] == "harness" and "harness" in wanted)
        ]
    rows = [row for spec in specs for row in _run_worker(spec, args.timeout)]
    table = pd.DataFrame(rows)
    if args.merge and args.out.is_file():
        old = pd.read_csv(args.out)
        key = ["section", "translator", "size"]
        fresh = set(map(tuple, table[key].astype(str).values))
        old = old[[tuple(v) not in fresh for v in old[key].astype(str).values]]
        table = pd.concat([old.drop(columns=["machine"], errors="ignore"), table], ignore_index=True)
    machine = (
        f"{platform.machine()} {platform.processor() or ''}, {os.cpu_count()} CPUs, torch {torch.__version__} "
        f"({torch.get_num_threads()} threads), python {platform.python_version()}"
    )
    table["machine"] = machine
    args.out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out, index=False)
    shown = table.drop(columns=["machine", "params"], errors="ignore")
    print(f"machine: {machine}")
    print(shown.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
