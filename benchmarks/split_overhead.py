"""What one more outer split of a fast translator costs beyond its fit and predict (issue 29).

    python benchmarks/split_overhead.py                      # ridge on the embedded default, 12 splits minus 2
    python benchmarks/split_overhead.py --executor inline --repeats 3

The embedded default (experiments/quickstart.yaml's data and split fractions) with ridge alone,
no controls, Table 3 off (its classifier is trained once per split: a cost of the split's
downstream scoring, reported apart by ``--downstream``), ``split: {scheme: repeated_holdout,
repeats: R}`` for R = 12 and R = 2, alternately, each on a fresh store, through ``run_experiment``
(data preparation excluded: it is shared). Per extra split:

    (T(12) - T(2) - [sum of the logged fit_time_s + predict_time_s of the 10 extra splits]) / 10

i.e. the harness's own cost of a split as the user waits for it: drawing it, scoring it (nine
metrics), its files, handing it to the executor's worker and writing its run to MLflow (with the
``process`` executor the driver writes one split while the worker fits the next, so only what
does not overlap counts). The fastest of ``--repeats`` counts. The difference of two run loops
carries both loops' noise (the first split's pictures and a fresh worker vary by up to a second on
a busy host), so a second figure is printed that does not: the steady-state cadence inside the
12-split runs, the median over splits 2..12 of (this job's run opened - the previous job's run
opened - the previous job's fit + predict), fastest round's median.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import mlflow

from omibench.api import prepare_experiment
from omibench.run.runner import run_experiment
from omibench.store import MlflowStore

SETS = ["controls=false", "translators=[{name: ridge}]", "split.scheme=repeated_holdout"]


def fit_predict_s(store: Path, experiment: str) -> float:
    """The logged fit + predict seconds of every job run of ``experiment``."""
    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{store / 'mlflow.db'}")
    exp = client.get_experiment_by_name(experiment)
    assert exp is not None
    total = 0.0
    for run in client.search_runs([exp.experiment_id], max_results=1000):
        m = run.data.metrics
        total += m.get("fit_time_s", 0.0) + m.get("predict_time_s", 0.0)
    return total


def cadence_overhead_s(store: Path, experiment: str) -> float:
    """Median over consecutive job runs (outer splits 1.. in order) of the time between their runs'
    openings minus the earlier job's fit + predict: the harness's share of one split's cycle."""
    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{store / 'mlflow.db'}")
    exp = client.get_experiment_by_name(experiment)
    assert exp is not None
    jobs = [
        r for r in client.search_runs([exp.experiment_id], max_results=1000) if "omibench.outer_split" in r.data.tags
    ]
    jobs.sort(key=lambda r: int(r.data.tags["omibench.outer_split"]))
    gaps = [
        (later.info.start_time - earlier.info.start_time) / 1000
        - earlier.data.metrics["fit_time_s"]
        - earlier.data.metrics["predict_time_s"]
        for earlier, later in zip(jobs[1:], jobs[2:], strict=False)  # split 0 draws the pictures
    ]
    return statistics.median(gaps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", nargs="?", default="experiments/quickstart.yaml")
    parser.add_argument("--executor", default="process")
    parser.add_argument("--repeats", type=int, default=4)
    parser.add_argument("--splits", type=int, nargs=2, default=(2, 12))
    parser.add_argument("--downstream", action="store_true", help="keep Table 3's scoring on")
    args = parser.parse_args()
    few, many = args.splits
    sets = [*SETS, f"downstream.enabled={str(args.downstream).lower()}"]
    rows: dict[int, list[tuple[float, float]]] = {few: [], many: []}
    cadence: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        prepared = {
            r: prepare_experiment(args.config, [*sets, f"split.repeats={r}"], store=Path(tmp) / "cache")[0]
            for r in (few, many)
        }
        for i in range(args.repeats):
            for r in (few, many):
                path = Path(tmp) / f"r{r}-{i}"
                store = MlflowStore(path)
                name = prepared[r].config.experiment_name
                store.experiment_id(name)  # schema creation is a store's one-off cost, not a split's
                start = time.perf_counter()
                outcomes = run_experiment(prepared[r], store, executor=args.executor)
                wall = time.perf_counter() - start
                assert all(o.status == "FINISHED" for o in outcomes), outcomes
                rows[r].append((wall, fit_predict_s(path, name)))
                if r == many:
                    cadence.append(cadence_overhead_s(path, name))
                print(f"  {r:2d} splits, round {i + 1}: run loop {wall:.2f} s, fit + predict {rows[r][-1][1]:.2f} s")
    (t_few, fp_few), (t_many, fp_many) = min(rows[few]), min(rows[many])
    extra = many - few
    per_split = (t_many - t_few - (fp_many - fp_few)) / extra
    print(
        f"{args.config}, ridge, executor {args.executor}, downstream {'on' if args.downstream else 'off'}: "
        f"{many} splits {t_many:.2f} s, {few} splits {t_few:.2f} s (fastest of {args.repeats}); fit + predict of the "
        f"{extra} extra splits {fp_many - fp_few:.3f} s; harness cost per extra split {per_split * 1000:.0f} ms; "
        f"steady-state cadence inside the {many}-split runs {min(cadence) * 1000:.0f} ms per split beyond fit + predict"
    )


if __name__ == "__main__":
    main()
