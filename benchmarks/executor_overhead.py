"""Overhead of the default ``process`` executor (forked workers, one job at a time) over ``inline``.

    python benchmarks/executor_overhead.py [experiments/quickstart.yaml] [repeats] [--set KEY=VALUE ...]

Runs the experiment's translators (Table 3 off, fresh store each time) with both executors,
alternating, and prints the run loop's wall time and the difference per job.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from omibench.api import prepare_experiment
from omibench.run.runner import run_experiment
from omibench.store import MlflowStore


def main() -> None:
    config = sys.argv[1] if len(sys.argv) > 1 else "experiments/quickstart.yaml"
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    sets = [a for a in sys.argv[3:] if a != "--set"]
    with tempfile.TemporaryDirectory() as tmp:
        prepared, _, _ = prepare_experiment(config, ["downstream.enabled=false", *sets], store=Path(tmp) / "cache")
        n_jobs = len(prepared.translators) * len(prepared.config.seeds)
        times: dict[str, list[float]] = {"inline": [], "process": []}
        for i in range(repeats):
            for kind in ("inline", "process"):
                store = MlflowStore(Path(tmp) / f"{kind}{i}")
                store.experiment_id(prepared.config.experiment_name)  # schema creation is not the executor's cost
                start = time.perf_counter()
                outcomes = run_experiment(prepared, store, executor=kind)
                times[kind].append(time.perf_counter() - start)
                assert all(o.status == "FINISHED" for o in outcomes), outcomes
    best = {k: min(v) for k, v in times.items()}
    print(
        f"{config}: {n_jobs} jobs; run loop, best of {repeats}: inline {best['inline']:.2f} s, "
        f"process {best['process']:.2f} s; overhead {(best['process'] - best['inline']) / n_jobs * 1000:.0f} ms per job"
    )
    print({k: [round(x, 2) for x in v] for k, v in times.items()})


if __name__ == "__main__":
    main()
