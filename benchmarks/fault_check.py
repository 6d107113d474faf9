"""Interrupt, kill and race `omibench run` on a real cohort, then check the store.

    python benchmarks/fault_check.py experiments/brca.yaml OUT_DIR [--set KEY=VALUE ...]

1. an uninterrupted reference run;
2. the same experiment in a second store: Ctrl-C (SIGINT) after the 4th seed result, then SIGKILL
   inside the 2nd fit of the rerun, then a plain rerun;
3. two runs started at once on a third store.
Checks: exit codes (130, -9, 0; 0 and 0), one FINISHED summary per translator with one FINISHED run
per seed, nothing RUNNING, no job key finished twice, summary test metrics equal to the reference.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from mlflow.tracking import MlflowClient


def run(cfg: str, store: Path, sets: list[str], fault: str | None = None) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k != "OMIBENCH_FAULT"}
    if fault:
        env["OMIBENCH_FAULT"] = fault
    args = [sys.executable, "-m", "omibench.cli", "run", cfg, "--store", str(store), "--wait", "3600"]
    for s in sets:
        args += ["--set", s]
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def check(store: Path, experiment: str) -> dict[str, dict[str, float]]:
    client = MlflowClient(f"sqlite:///{store / 'mlflow.db'}")
    exp = client.get_experiment_by_name(experiment)
    runs = client.search_runs([exp.experiment_id], max_results=5000)
    assert not [r for r in runs if r.info.status == "RUNNING"], "RUNNING runs left"
    summaries = [r for r in runs if r.data.tags.get("omibench.level") == "summary" and r.info.status == "FINISHED"]
    labels = [r.data.tags["omibench.label"] for r in summaries]
    assert len(labels) == len(set(labels)), labels
    keys = [
        r.data.tags["omibench.job_key"]
        for r in runs
        if r.info.status == "FINISHED" and r.data.tags.get("omibench.level") in ("summary", "seed")
    ]
    assert len(keys) == len(set(keys)), "a job finished twice"
    for s in summaries:
        seeds = [
            r for r in runs if r.data.tags.get("mlflow.parentRunId") == s.info.run_id and r.info.status == "FINISHED"
        ]
        n_seeds = len(json.loads(s.data.params["seeds"]))
        assert n_seeds == 1 or len(seeds) == n_seeds, (s.data.tags["omibench.label"], len(seeds))
    return {
        r.data.tags["omibench.label"]: {k: v for k, v in r.data.metrics.items() if k.startswith("test/")}
        for r in summaries
    }


def main() -> None:
    cfg, out, sets = sys.argv[1], Path(sys.argv[2]), [a for a in sys.argv[3:] if a != "--set"]
    from omibench.config import load_config

    experiment = load_config(cfg, sets).experiment_name
    t0 = time.time()
    ref = run(cfg, out / "reference", sets)
    ref.communicate()
    print(f"reference: exit {ref.returncode} in {time.time() - t0:.0f} s", flush=True)
    reference = check(out / "reference", experiment)
    codes = []
    for fault in ("seed_recorded:SIGINT:4", "fit:SIGKILL:2", None):
        p = run(cfg, out / "faults", sets, fault)
        _, err = p.communicate()
        codes.append(p.returncode)
        last = err.strip().splitlines()[-1] if err.strip() else ""
        print(f"fault {fault}: exit {p.returncode}; last line: {last}", flush=True)
    got = check(out / "faults", experiment)
    same = got.keys() == reference.keys() and all(
        abs(got[k][m] - reference[k][m]) <= 1e-9 * max(1.0, abs(reference[k][m]))
        for k in reference
        for m in reference[k]
    )
    print(f"interrupted + killed + rerun: exit codes {codes}; metrics equal to the reference: {same}", flush=True)
    a, b = run(cfg, out / "race", sets), run(cfg, out / "race", sets)
    a.communicate()
    b.communicate()
    check(out / "race", experiment)
    print(f"two runs at once: exit codes {a.returncode}, {b.returncode}; every job finished once", flush=True)


if __name__ == "__main__":
    main()
