"""Issue 17's thread targets, measured with the real CLI in fresh processes and fresh stores.

- ``workers``: the quickstart's four neural translators (omitrans_fc, omitrans_cnn, tdimpute, cgan at
  experiments/quickstart.yaml's settings, Table 3 and the controls off) run by the local executor with
  two CPU workers (each given half of the cores) against the default process executor (one worker,
  all cores, the jobs one after another). Target: the two workers take no more wall time.
- ``cpu_hog``: one inline job (``tdimpute`` at the quickstart's size, more epochs, ``n_jobs`` = all
  cores) alone, then beside a busy-looping process. The share of the machine the job lost is the
  hog's own CPU time over (wall x cores) while the job ran; target: slowdown <= 1 / (1 - that share).

- ``quickstart``: the README's main command, ``omibench run experiments/quickstart.yaml`` as shipped
  (Table 3 and the controls on), fresh store. Target: < 2 minutes wall.
- ``test_run``: the README's test command's pytest (``python -m pytest``, the default selection).
  Target: < 5 minutes wall.

Run through ``benchmarks/run.py --sections workers,cpu_hog,quickstart,test_run`` (or
``python benchmarks/parallel_targets.py``) on an otherwise idle machine: anything else running moves both ratios.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

__all__ = ["workers", "cpu_hog", "quickstart", "test_run"]
HERE = Path(__file__).resolve().parent
REPO = HERE.parent
NEURAL = ["omitrans_fc", "omitrans_cnn", "tdimpute", "cgan"]


def _omibench_run(sets: list[str], bare: bool = True) -> float:
    """Wall seconds of ``omibench run experiments/quickstart.yaml`` with ``--set`` overrides, fresh store
    (``bare``: Table 3 and the controls off)."""
    with tempfile.TemporaryDirectory() as tmp:
        args = [sys.executable, "-m", "omibench.cli", "run", str(REPO / "experiments" / "quickstart.yaml")]
        bare_sets = ["controls=false", "downstream.enabled=false"] if bare else []
        for s in [f"tracking.store={tmp}", *bare_sets, *sets]:
            args += ["--set", s]
        start = time.perf_counter()
        subprocess.run(args, cwd=REPO, check=True, capture_output=True)
        return time.perf_counter() - start


def _neural_only() -> str:
    import yaml

    spec = yaml.safe_load((REPO / "experiments" / "quickstart.yaml").read_text())
    chosen = [t for t in spec["translators"] if t["name"] in NEURAL]
    return "translators=" + yaml.safe_dump(chosen, default_flow_style=True, width=10_000).strip()


def workers(rounds: int = 2) -> list[dict]:
    translators = _neural_only()
    cores = os.cpu_count() or 1
    sequential, parallel = [], []
    for _ in range(rounds):  # interleaved, best of each
        sequential.append(_omibench_run([translators, "executor.kind=process"]))
        parallel.append(_omibench_run([translators, "executor.kind=local", "executor.cpu_workers=2"]))
    ratio = min(parallel) / min(sequential)
    return [
        {
            "section": "workers",
            "translator": "+".join(NEURAL),
            "size": "quickstart",
            "unit": "run",
            "fit_s_per_unit": min(parallel),
            "sequential_s": min(sequential),
            "ratio": ratio,
            "met": ratio <= 1.0,
            "note": f"local executor, 2 workers x {max(1, cores // 2)} thread(s) vs one worker x {cores}; "
            f"all: parallel {[round(x, 1) for x in parallel]}, sequential {[round(x, 1) for x in sequential]}",
        }
    ]


def _cpu_ticks(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def cpu_hog(epochs: int = 150) -> list[dict]:
    """The job alone with all cores, then beside the hog twice: with all cores again, and with the
    cores the hog leaves free (``n_jobs`` = cores - 1); both against the job alone."""
    cores = os.cpu_count() or 1

    def sets(threads: int) -> list[str]:
        return [
            f"translators=[{{name: tdimpute, params: {{hidden: 256, epochs: {epochs}, batch_size: 32, lr: 0.0005}}}}]",
            "executor.kind=inline",
            f"n_jobs={threads}",
        ]

    alone = [_omibench_run(sets(cores))]
    beside: dict[int, tuple[float, float]] = {}  # threads -> (wall, share of the cores the hog took)
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.5)
        for threads in dict.fromkeys([cores, max(1, cores - 1)]):
            before, start = _cpu_ticks(hog.pid), time.perf_counter()
            wall = _omibench_run(sets(threads))
            beside[threads] = (wall, (_cpu_ticks(hog.pid) - before) / ((time.perf_counter() - start) * cores))
    finally:
        hog.kill()
        hog.wait()
    alone.append(_omibench_run(sets(cores)))
    rows = []
    for threads, (wall, lost) in beside.items():
        slowdown, allowed = wall / min(alone), 1 / (1 - lost)
        rows.append(
            {
                "section": "cpu_hog",
                "translator": f"tdimpute {epochs} epochs, inline, n_jobs={threads} beside the hog",
                "size": "quickstart",
                "unit": "run",
                "fit_s_per_unit": wall,
                "alone_s": min(alone),
                "ratio": slowdown,
                "allowed": allowed,
                "met": slowdown <= allowed,
                "note": f"one busy-looping process took {100 * lost:.0f}% of the {cores} cores; "
                f"alone (n_jobs={cores}) {[round(x, 1) for x in alone]} s, before and after",
            }
        )
    return rows


def quickstart() -> list[dict]:
    wall = _omibench_run([], bare=False)
    return [
        {
            "section": "quickstart",
            "translator": "omibench run experiments/quickstart.yaml",
            "size": "quickstart",
            "unit": "run",
            "fit_s_per_unit": wall,
            "met": wall < 120,
            "note": "as shipped (10 translators, 3 controls, Table 3), fresh store, target < 120 s",
        }
    ]


def test_run() -> list[dict]:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=REPO, capture_output=True, text=True
    )
    wall = time.perf_counter() - start
    summary = (done.stdout.strip().splitlines() or ["no output"])[-1]
    return [
        {
            "section": "test_run",
            "translator": "python -m pytest (default selection)",
            "size": "-",
            "unit": "run",
            "fit_s_per_unit": wall,
            "met": wall < 300 and done.returncode == 0,
            "note": f"target < 300 s; {summary}",
        }
    ]


if __name__ == "__main__":
    for row in workers() + cpu_hog():
        print(row)
