"""OmiTrans-CNN side by side with the official OmiTrans code, on shared BRCA at the paper's widths.

    python benchmarks/cnn_side_by_side.py                      # 2 threads, 1 round: O1, B1, O4, B4
    python benchmarks/cnn_side_by_side.py --rounds 2 --threads 2 --official-dir ~/src/OmiTrans

Both sides train the 1-D U-Net + CNN discriminator conditional GAN (the official code's
``--model c_gan --netG unet_in --netD multi_conv_new``, omibench's ``omitrans_cnn``) with 64
filters, kernel 9, batch 128, dropout 0.2, learning rates 1e-4, Adam beta1 0.5, on the same 348
BRCA samples split 80 / 20 (278 training samples, 3 steps per epoch: 128, 128, 22), on the CPU with
``--threads`` threads (OMP_NUM_THREADS / MKL_NUM_THREADS for both, and omibench's ``n_jobs``).
Each side runs as a whole command for 1 and for 4 epochs, interleaved (official 1, omibench 1,
official 4, omibench 4; ``--rounds`` repeats that). The steady-state cost of an epoch is
(wall of 4 epochs - wall of 1) / 3, so imports, data loading, process start-up, the memory check,
the final prediction and the store's bookkeeping cancel out; divided by 278 it is the per-sample
time. The ratio printed is official / omibench (above 1: omibench is faster). Peak RSS is the largest
resident set of any process of the command (``os.wait4``'s ``ru_maxrss``: the process and every
descendant it waited for), at 4 epochs. The load average is printed before and after each command:
the machine may be shared, so compare the ratio of interleaved runs, not absolute seconds.

The official code (MIT) is never part of this repository. ``--official-dir`` names a checkout of
github.com/zhangxiaoyu11/OmiTrans at :data:`OFFICIAL_COMMIT`; without it the script uses
``~/.cache/omibench/omitrans-<commit>``, filled on first use from ``--official-source`` (a git URL
or a local clone / bare mirror that has the commit; default: the GitHub URL). It needs, beside the
packages omibench has: ``tensorboard`` (its ``SummaryWriter`` logs), ``absl-py`` (imported by
tensorboard), ``prefetch_generator`` and ``natsort``. They are looked up in
``~/.cache/omibench/omitrans-deps`` (put on the official run's PYTHONPATH only) and installed there
with ``pip install --no-deps --target`` when ``--install-deps`` is given, so omibench's environment
(and its torch) is unchanged. One compatibility shim, applied by a launcher and not to the official
files: scikit-learn 1.6 removed ``mean_squared_error(squared=False)``, which the official code's
per-batch metrics call; the launcher restores that keyword (RMSE = sqrt(MSE)). The official run
uses ``--num_threads 0`` (its data loader in the main process: 6 loader processes on a 2-core
machine would only compete with the training threads) and ``--deterministic`` (seeded split).

The data are converted once into the official code's single-file format (features x samples TSV,
A.tsv = expression, B.tsv = methylation; it translates B -> A, as omibench) in a temporary folder
outside the repository; omibench reads the shared CSV files through benchmarks/cnn_side_by_side.yaml.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OFFICIAL_COMMIT = "8240a4ebad5c549595574c6e0ec7c2774073168b"  # master, 2023-09-05 ("Update README.md")
OFFICIAL_URL = "https://github.com/zhangxiaoyu11/OmiTrans.git"
CACHE = Path.home() / ".cache" / "omibench"
DEPS = ["tensorboard", "absl-py", "prefetch_generator", "natsort"]
DEP_MODULES = ["tensorboard", "absl", "prefetch_generator", "natsort"]
GIB = 1024**3
N_TRAIN = 278  # 80 % of 348 on both sides (train_test.py's train_ratio 0.8; the YAML's test_fraction 0.2)

LAUNCHER = '''"""Runs the official train_test.py unchanged, after one scikit-learn compatibility shim."""
import os, runpy, sys
import sklearn.metrics as _m
_mse = _m.mean_squared_error
def mean_squared_error(y_true, y_pred, *args, squared=True, **kwargs):  # removed in scikit-learn 1.6
    value = _mse(y_true, y_pred, *args, **kwargs)
    return value if squared else value ** 0.5
_m.mean_squared_error = mean_squared_error
official = sys.argv[1]
sys.argv = [os.path.join(official, "train_test.py"), *sys.argv[2:]]
sys.path.insert(0, official)
runpy.run_path(sys.argv[0], run_name="__main__")
'''


def official_dir(given: str | None, source: str) -> Path:
    """A checkout of the official code at OFFICIAL_COMMIT: ``given``, or the cache (filled from ``source``)."""
    if given:
        path = Path(given).expanduser().resolve()
        if not (path / "train_test.py").is_file():
            sys.exit(f"--official-dir {path}: no train_test.py there")
        return path
    path = CACHE / f"omitrans-{OFFICIAL_COMMIT[:12]}"
    if (path / "train_test.py").is_file():
        return path
    if ROOT in path.resolve().parents:
        sys.exit(f"{path} lies inside the repository: the official code must stay outside it")
    tmp = Path(tempfile.mkdtemp(prefix="omitrans-", dir=CACHE if CACHE.is_dir() else None))
    try:
        src = Path(source).expanduser()
        if src.is_dir() and (src / "HEAD").is_file() and not (src / ".git").exists():  # a bare clone / mirror
            git_dir = src
        else:
            subprocess.run(["git", "clone", "--quiet", "--no-checkout", source, str(tmp / "clone")], check=True)
            git_dir = tmp / "clone" / ".git"
        _extract(git_dir, tmp / "tree")
        path.parent.mkdir(parents=True, exist_ok=True)
        (tmp / "tree").rename(path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return path


def _extract(git_dir: Path, tree: Path) -> None:
    """The files of OFFICIAL_COMMIT into ``tree``, one blob at a time: a snapshot that lacks a large
    data file (e.g. anno/B_anno.csv, read only with per-chromosome generators) still gives the code;
    a missing .py file is an error."""
    git = ["git", f"--git-dir={git_dir}"]
    listing = subprocess.run([*git, "ls-tree", "-r", "-z", OFFICIAL_COMMIT], check=True, capture_output=True).stdout
    missing = []
    for entry in filter(None, listing.decode().split("\0")):
        meta, name = entry.split("\t", 1)
        _mode, kind, sha = meta.split()
        if kind != "blob":
            continue
        blob = subprocess.run([*git, "cat-file", "blob", sha], capture_output=True)
        if blob.returncode != 0:
            missing.append(name)
            continue
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        (tree / name).write_bytes(blob.stdout)
    if any(m.endswith(".py") for m in missing):
        sys.exit(f"{git_dir} lacks code files of {OFFICIAL_COMMIT[:12]}: {', '.join(missing)}")
    if missing:
        print(f"note: {git_dir} lacks {', '.join(missing)} (data the CNN run does not read)", flush=True)


def official_deps(install: bool) -> Path:
    target = CACHE / "omitrans-deps"
    probe = f"import sys; sys.path.insert(0, {str(target)!r}); " + "; ".join(f"import {m}" for m in DEP_MODULES)
    if subprocess.run([sys.executable, "-c", probe], capture_output=True).returncode == 0:
        return target
    cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target), *DEPS]
    if not install:
        sys.exit("the official code needs " + ", ".join(DEPS) + ": rerun with --install-deps, or: " + " ".join(cmd))
    subprocess.run(cmd, check=True)
    return target


def convert(data: Path, out: Path) -> None:
    """Shared BRCA (samples x features CSV) -> the official single-file format (features x samples TSV)."""
    import pandas as pd

    a = pd.read_csv(data / "expression_log2ratio.csv", index_col=0)
    b = pd.read_csv(data / "methylation_beta.csv", index_col=0)
    assert list(a.index) == list(b.index), "expression and methylation rows must be the same samples"
    out.mkdir(parents=True, exist_ok=True)
    a.T.to_csv(out / "A.tsv", sep="\t")
    b.T.to_csv(out / "B.tsv", sep="\t")


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def timed(cmd: list[str], env: dict[str, str], log: Path) -> dict:
    """Run ``cmd``; its wall time, CPU time and peak RSS (largest process of its tree) and the load around it."""
    before = load()
    start = time.perf_counter()
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.exit(f"{' '.join(cmd[:4])}... failed ({code}); its output: {log}\n" + log.read_text()[-3000:])
    cpu = usage.ru_utime + usage.ru_stime  # the command's tree (every process it waited for)
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "peak_rss_gib": usage.ru_maxrss * 1024 / GIB,
        "load_before": before,
        "load_after": load(),
    }


def official_cmd(launcher: Path, code: Path, data: Path, ckpt: Path, epochs: int, tag: str) -> list[str]:
    return [
        sys.executable, str(launcher), str(code),
        "--gpu_ids", "-1", "--num_threads", "0", "--deterministic",
        "--data_root", str(data), "--dataset_mode", "single_file", "--file_format", "tsv",
        "--model", "c_gan", "--netG", "unet_in", "--netD", "multi_conv_new",
        "--gen_filter_num", "64", "--dis_filter_num", "64", "--conv_k_size", "9",
        "--batch_size", "128", "--dropout_p", "0.2", "--lr_G", "1e-4", "--lr_D", "1e-4",
        "--epoch_num", str(epochs), "--epoch_num_decay", "0",
        "--checkpoints_dir", str(ckpt), "--experiment_name", tag,
    ]  # fmt: skip


def omibench_cmd(data: Path, store: Path, epochs: int, threads: int) -> list[str]:
    return [
        sys.executable, "-m", "omibench.cli", "run", str(HERE / "cnn_side_by_side.yaml"),
        "--set", f"data.root={data}", "--set", f"n_jobs={threads}",
        "--set", f"translators.0.params.epochs={epochs}",
        "--store", str(store), "--force",
    ]  # fmt: skip


def official_epoch_times(log: Path) -> list[float]:
    """The official code's printed training time of each epoch (``print_train_summary``)."""
    return [float(x) for x in re.findall(r"[Tt]raining time[^0-9]*([0-9.]+)", log.read_text())]


def omibench_epoch_times(store: Path) -> list[float]:
    """Seconds between omibench's per-epoch reports (MLflow metric timestamps of ``loss_d``), from
    epoch 2 on (the first has no report before it); an epoch's training, its scheduler step and report."""
    import sqlite3

    with sqlite3.connect(store / "mlflow.db") as db:
        stamps = [t for (t,) in db.execute("SELECT timestamp FROM metrics WHERE key = 'loss_d' ORDER BY step")]
    return [(b - a) / 1000 for a, b in zip(stamps, stamps[1:])]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--official-dir", help="a checkout of the official OmiTrans code at OFFICIAL_COMMIT")
    ap.add_argument(
        "--official-source", default=OFFICIAL_URL, help="git URL or local clone / mirror to fill the cache from"
    )
    ap.add_argument(
        "--install-deps", action="store_true", help="pip-install the official code's extra packages into the cache"
    )
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "tcga_brca_lockdunson"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--epochs", default="1,4", help="the short and the long run (steady state = their difference)")
    ap.add_argument("--only", choices=["official", "omibench"], help="run one side only")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder (logs, stores)")
    ap.add_argument("--json", help="write the rows to this file")
    args = ap.parse_args()
    short, long_ = (int(x) for x in args.epochs.split(","))
    data = Path(args.data).resolve()
    sides = [s for s in ("official", "omibench") if args.only in (None, s)]
    code = official_dir(args.official_dir, args.official_source) if "official" in sides else None
    deps = official_deps(args.install_deps) if "official" in sides else None

    work = Path(tempfile.mkdtemp(prefix="cnn_side_by_side-"))
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads), "MKL_NUM_THREADS": str(args.threads)}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    off_env = {
        **env,
        "PYTHONUNBUFFERED": "1",
        "PYTHONPATH": os.pathsep.join(p for p in (str(deps), env.get("PYTHONPATH", "")) if p),
    }
    launcher = work / "run_official.py"
    launcher.write_text(LAUNCHER)
    if "official" in sides:
        convert(data, work / "data")
        (work / "ckpt").mkdir()
    print(f"work folder {work}; official code {code} @ {OFFICIAL_COMMIT[:12]}; {args.threads} threads", flush=True)

    rows: list[dict] = []
    for r in range(args.rounds):
        for epochs in (short, long_):
            for side in sides:
                tag = f"{side}_{epochs}ep_r{r}"
                if side == "official":
                    assert code is not None
                    cmd = official_cmd(launcher, code, work / "data", work / "ckpt", epochs, tag)
                    row = timed(cmd, off_env, work / f"{tag}.log")
                    row["epoch_train_s"] = official_epoch_times(work / f"{tag}.log")
                else:
                    row = timed(
                        omibench_cmd(data, work / f"store_{tag}", epochs, args.threads), env, work / f"{tag}.log"
                    )
                    row["epoch_train_s"] = omibench_epoch_times(work / f"store_{tag}")
                row.update(side=side, epochs=epochs, round=r)
                rows.append(row)
                print(json.dumps(row), flush=True)

    print(
        f"\nsteady state per training sample = (value at {long_} epochs - value at {short}) / {long_ - short} "
        f"/ {N_TRAIN} (wall: what a user waits; CPU: the command's CPU seconds, less sensitive to other load)"
    )
    summary: dict[str, dict] = {}
    for side in sides:
        per: dict[str, list[float]] = {"wall_s": [], "cpu_s": []}
        for r in range(args.rounds):
            for key in per:
                v = {x["epochs"]: x[key] for x in rows if x["side"] == side and x["round"] == r}
                per[key].append((v[long_] - v[short]) / (long_ - short) / N_TRAIN)
        rss = max(x["peak_rss_gib"] for x in rows if x["side"] == side)
        setup = (
            min(x["wall_s"] for x in rows if x["side"] == side and x["epochs"] == short) - min(per["wall_s"]) * N_TRAIN
        )
        summary[side] = {
            "s_per_sample": per["wall_s"],
            "cpu_s_per_sample": per["cpu_s"],
            "peak_rss_gib": rss,
            "setup_s": setup,
        }
        print(
            f"  {side:9s} wall s/sample per round: {', '.join(f'{p:.4f}' for p in per['wall_s'])}; "
            f"CPU s/sample: {', '.join(f'{p:.4f}' for p in per['cpu_s'])}; "
            f"set-up (1 epoch minus one steady epoch) {setup:.1f} s; peak RSS {rss:.2f} GiB"
        )
        # within the long run, the epochs after the first (official: its printed training time of each
        # epoch; omibench: the time between two epochs' reports): no set-up at all, same load as its run
        within = [
            sorted(x["epoch_train_s"][1:])[len(x["epoch_train_s"][1:]) // 2] / N_TRAIN
            for x in rows
            if x["side"] == side and x["epochs"] == long_ and len(x["epoch_train_s"]) > 1
        ]
        summary[side]["epoch_s_per_sample"] = within
        print(f"  {'':9s} median epoch after the first, per sample: {', '.join(f'{t:.4f}' for t in within)} s")
    if len(sides) == 2:
        off, omi = summary["official"], summary["omibench"]
        wall = [o / b for o, b in zip(off["s_per_sample"], omi["s_per_sample"])]
        cpu = [o / b for o, b in zip(off["cpu_s_per_sample"], omi["cpu_s_per_sample"])]
        rss_ratio = omi["peak_rss_gib"] / off["peak_rss_gib"]
        epoch = [o / b for o, b in zip(off["epoch_s_per_sample"], omi["epoch_s_per_sample"])]
        print(f"  ratio of the median epochs after the first: {', '.join(f'{q:.2f}x' for q in epoch)}")
        print(
            "  ratio official / omibench per round (above 1: omibench faster): "
            f"wall {', '.join(f'{q:.2f}x' for q in wall)}; CPU {', '.join(f'{q:.2f}x' for q in cpu)}; "
            f"peak RSS omibench / official {rss_ratio:.2f}"
        )
    print(f"  load average now {load()}")
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "summary": summary}, indent=2))
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
