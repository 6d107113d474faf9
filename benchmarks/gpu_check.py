"""The checks that need a GPU (issue 29), in one script: OmiTrans-FC and the checkpointed
OmiTrans-CNN at the paper's size, bf16 against fp32, and the local executor with one GPU per job.

    bash benchmarks/gpu_check.sh            # the prepared check (under 10 minutes on one H100)
    python benchmarks/gpu_check.py --tiny   # the same code paths at toy sizes, on the CPU (tests it)

Sections, each printing one JSON line (and the summary table at the end):

- ``fc``: OmiTrans-FC at the paper's Table 2 widths, 39,464 CpGs -> 60,483 genes, batch 128:
  ``--rows`` training rows (default 512: 4 steps per epoch), 2 epochs through the real ``fit``;
  the per-step time of the second epoch and the peak GPU memory (``max_memory_allocated``).
- ``cnn``: OmiTrans-CNN at the same size, filters 64, kernel 9, batch 128, ``checkpoint: auto``
  (on: the plain step's 188.8 GiB estimate exceeds any single GPU), fp32 then ``precision: bf16``:
  step time, peak GPU memory against the estimate (37.4 GiB), and whether it checkpointed.
- ``bf16``: the CNN at size S (5,000 -> 5,000), 3 epochs fp32 and bf16 from one seed: the largest
  prediction difference relative to the predictions' spread (bf16 stays opt-in where it changes
  results beyond 1e-2 of the spread).
- ``executor``: ``omibench run`` of a small experiment with ``executor: {kind: local}`` and two GPU
  translators: each job's ``omibench.device`` tag (expected ``cuda``), and the wall time.

Without a GPU (and without ``--tiny``) it says so and exits 0.
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

GIB = 1024**3
REPO = Path(__file__).resolve().parents[1]
PAPER = (39_464, 60_483)
SIZE_S = (5_000, 5_000)


def _data(rows: int, n_in: int, n_out: int, seed: int = 0) -> tuple[Any, Any]:
    from omibench.data import make_synthetic

    data = make_synthetic(n_samples=rows + 16, n_cpgs=n_in, n_genes=n_out, seed=seed)
    return data.subset(np.arange(rows)), data.subset(np.arange(rows, rows + 16))


def _fit(name: str, params: dict[str, Any], train: Any, val: Any, device: str) -> dict[str, Any]:
    """Fit through the real ``fit``; per-epoch times (synchronised), peak device memory."""
    import torch

    from omibench import FitContext
    from omibench.contract.registry import load_registry

    model: Any = load_registry().translator(name)(**params)
    cuda = device.startswith("cuda")
    if cuda:
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    times: list[float] = []
    epoch = model.train_epoch

    def timed(*a: object, **k: object) -> dict[str, float]:
        if cuda:
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        out = epoch(*a, **k)
        if cuda:
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
        return out

    model.train_epoch = timed
    try:
        model.fit(train, val, FitContext(seed=0, device=device))
    except Exception as exc:  # a decline (not-applicable) or an out-of-memory is the result
        return {"translator": name, "params": params, "error": f"{type(exc).__name__}: {exc}"[:400]}
    steps = -(-train.n_samples // params["batch_size"])
    return {
        "translator": name,
        "params": {k: v for k, v in params.items() if k not in ("hidden", "disc_hidden")},
        "checkpoint": getattr(model, "checkpoint_", None),
        "epoch_s": [round(t, 3) for t in times],
        "step_s": round(times[-1] / steps, 4),
        "peak_gpu_gib": round(torch.cuda.max_memory_allocated() / GIB, 2) if cuda else None,
        "model": model,
    }


def fc(args: argparse.Namespace, device: str) -> list[dict[str, Any]]:
    n_in, n_out = args.paper
    train, val = _data(args.rows, n_in, n_out)
    params = {"epochs": 2, "epochs_decay": 0, "batch_size": args.batch}
    if args.tiny:
        params.update(hidden=[64, 32], latent=16, disc_hidden=[16])
    return [_fit("omitrans_fc", params, train, val, device)]


def cnn(args: argparse.Namespace, device: str) -> list[dict[str, Any]]:
    from omibench_plugins._memory import step_memory
    from omibench_plugins.omitrans import OmiTransCNN

    n_in, n_out = args.paper
    train, val = _data(args.rows, n_in, n_out)
    out = []
    for precision in ("fp32", "bf16") if device.startswith("cuda") else ("fp32",):
        params = {"epochs": 2, "epochs_decay": 0, "batch_size": args.batch, "precision": precision}
        if args.tiny:
            params.update(filters=4, disc_filters=4)
        row = _fit("omitrans_cnn", params, train, val, device)
        probe = OmiTransCNN(**params)
        est = step_memory(lambda: probe.make_networks(n_in, n_out), args.rows, n_in, n_out, checkpoint=True)
        row["estimate_checkpointed_gib"] = round(est.total(args.batch) / GIB, 2)
        out.append(row)
    return out


def bf16(args: argparse.Namespace, device: str) -> list[dict[str, Any]]:
    if not device.startswith("cuda"):
        return [{"section": "bf16", "skipped": "bf16 autocast is CUDA only"}]
    n_in, n_out = args.size_s
    train, val = _data(args.rows, n_in, n_out, seed=1)
    base = {"epochs": 3, "epochs_decay": 1, "batch_size": args.batch}
    fp32 = _fit("omitrans_cnn", {**base, "precision": "fp32"}, train, val, device)
    half = _fit("omitrans_cnn", {**base, "precision": "bf16"}, train, val, device)
    if "error" in fp32 or "error" in half:
        return [fp32, half]
    p32, p16 = fp32["model"].predict(val.b), half["model"].predict(val.b)
    spread = float(p32.std()) or 1.0
    return [
        {
            "section": "bf16",
            "size": [n_in, n_out],
            "step_s_fp32": fp32["step_s"],
            "step_s_bf16": half["step_s"],
            "peak_gpu_gib_fp32": fp32["peak_gpu_gib"],
            "peak_gpu_gib_bf16": half["peak_gpu_gib"],
            "max_abs_diff_over_spread": round(float(np.abs(p16 - p32).max()) / spread, 5),
        }
    ]


EXPERIMENT = """\
name: gpu_check
seeds: [0]
data: {{source: synthetic, n_samples: {n}, n_cpgs: {cpgs}, n_genes: {genes}, n_classes: 4, seed: 0}}
split: {{seed: 0, val_fraction: 0.1, test_fraction: 0.2}}
executor: {{kind: local}}
controls: false
downstream: {{enabled: false}}
translators:
  - name: omitrans_fc
    params: {{hidden: [256, 64], latent: 32, disc_hidden: [64, 32], epochs: {epochs}, epochs_decay: 1}}
  - name: tdimpute
    params: {{epochs: {epochs}}}
  - name: ridge
"""


def executor(args: argparse.Namespace, device: str) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="omibench-gpu-check-") as tmp:
        yaml = Path(tmp) / "gpu_check.yaml"
        n, cpgs, genes, epochs = (120, 60, 40, 2) if args.tiny else (2000, 5000, 2000, 20)
        yaml.write_text(EXPERIMENT.format(n=n, cpgs=cpgs, genes=genes, epochs=epochs))
        store = Path(tmp) / "store"
        t0 = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "omibench.cli", "run", str(yaml), "--store", str(store)],
            capture_output=True,
            text=True,
            cwd=tmp,
        )
        wall = time.perf_counter() - t0
        row: dict[str, Any] = {"section": "executor", "exit": proc.returncode, "wall_s": round(wall, 1)}
        if proc.returncode != 0:
            row["stderr_tail"] = proc.stderr[-3000:]
            return [row]
        row["devices"] = _devices(store)
        if device.startswith("cuda"):  # the two torch translators ask for a GPU; ridge does not
            row["gpu_jobs_on_cuda"] = all(
                row["devices"].get(t, "").startswith("cuda") for t in ("omitrans_fc", "tdimpute")
            )
            row["exit"] = row["exit"] or (0 if row["gpu_jobs_on_cuda"] else 1)
        return [row]


def _devices(store: Path) -> dict[str, str]:
    """translator -> the ``omibench.device`` tag of its job runs, read with MLflow's client."""
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{store / 'mlflow.db'}")
    exp = client.get_experiment_by_name("gpu_check")
    runs = client.search_runs([exp.experiment_id]) if exp else []
    out: dict[str, str] = {}
    for run in runs:
        tags = run.data.tags
        if tags.get("omibench.device"):
            out.setdefault(tags.get("omibench.translator", "?"), tags["omibench.device"])
    return out


SECTIONS = {"fc": fc, "cnn": cnn, "bf16": bf16, "executor": executor}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sections", default="fc,cnn,bf16,executor")
    parser.add_argument("--rows", type=int, default=512, help="training rows of the step sections")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--tiny", action="store_true", help="toy sizes on any device (CPU: tests the script)")
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON lines here")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1 if args.tiny else max(1, min(8, os.cpu_count() or 1)))
    cuda = torch.cuda.is_available()
    if not cuda and not args.tiny:
        print("gpu_check: no CUDA GPU visible (torch.cuda.is_available() is False): nothing to check here")
        return 0
    device = "cuda" if cuda else "cpu"
    args.paper, args.size_s = ((200, 150), (100, 80)) if args.tiny else (PAPER, SIZE_S)
    if args.tiny:
        args.rows, args.batch = min(args.rows, 64), min(args.batch, 16)
    name = torch.cuda.get_device_name(0) if cuda else "cpu"
    print(json.dumps({"device": name, "torch": torch.__version__, "tiny": args.tiny}), flush=True)
    lines = []
    for section in args.sections.split(","):
        t0 = time.perf_counter()
        for row in SECTIONS[section](args, device):
            row.pop("model", None)
            row.setdefault("section", section)
            row["section_s"] = round(time.perf_counter() - t0, 1)
            print(json.dumps(row, default=str), flush=True)
            lines.append(row)
    if args.out:
        args.out.write_text("\n".join(json.dumps(r, default=str) for r in lines) + "\n")
    failed = [r for r in lines if r.get("exit", 0) != 0]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
