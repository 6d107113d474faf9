"""The benchmark loop: one job per translator and seed, sent to an executor, logged by the driver.

Resume is by key: a job whose result already finished is not run again (see ``run_experiment``).
"""

from __future__ import annotations

import io
import os
import shutil
import statistics
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import yaml

from ._provenance import git_commit, package_versions
from .config import canonical_hash
from .downstream import Downstream, setup_downstream
from .executors import make_executor
from .jobs import JobResult, JobSpec
from .preparation import PlannedTranslator, Prepared
from .tracking import LEVEL_SEED, LEVEL_SUMMARY, TAG, Tracker

__all__ = ["Outcome", "add_downstream", "run_experiment", "seed_key"]

Echo = Callable[[str], None]
# what a job reports (per-epoch step metrics such as loss_d are not seed results)
_RESULT_METRICS = ("test/", "val/", "downstream/", "fit_time_s", "predict_time_s")


@dataclass
class Outcome:
    label: str
    status: str  # FINISHED | FAILED | SKIPPED
    run_id: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    error: str = ""


def run_experiment(prepared: Prepared, tracker: Tracker, force: bool = False, show_progress: bool = False,
                   echo: Echo = lambda _: None, executor: str = "inline", plugin_dirs: Sequence[str] = (),
                   **executor_options: Any) -> list[Outcome]:
    """Run every planned translator for every seed; return one outcome per translator.

    Resume: a translator with a finished run of the same key is skipped (unless ``force``); of an
    unfinished multi-seed run, seeds already finished are kept and only the others are run. Runs
    left RUNNING by a killed process are marked FAILED and redone.
    """
    config = prepared.config
    exp_id = tracker.experiment_id(config.experiment_name)
    assert exp_id is not None
    split_file = prepared.split.save(tracker.store / "splits" / f"{prepared.split.hash}.json")
    runner = make_executor(executor, prepared, lambda run_id: lambda step, values: tracker.log_metrics(run_id, values, step),
                           show_progress, **executor_options)
    entries: dict[str, _Entry] = {}
    outcomes: dict[str, Outcome] = {}
    by_run: dict[str, tuple[_Entry, int]] = {}
    jobs_dir = tracker.store / "jobs"
    for i, plan in enumerate(prepared.translators, 1):
        label = plan.entry.display
        finished = tracker.find_runs(exp_id, plan.key, "FINISHED")
        if finished and not force:
            echo(f"[{i}/{len(prepared.translators)}] {label}: finished run {finished[0]} exists, skipped (--force reruns)")
            outcomes[label] = Outcome(label, "SKIPPED", finished[0])
            continue
        entry = _open_entry(prepared, plan, tracker, exp_id, split_file, force)
        entries[label] = entry
        todo = [s for s in config.seeds if s not in entry.done]
        echo(f"[{i}/{len(prepared.translators)}] {label}: {len(todo)} job(s) submitted"
             + (f", {len(entry.done)} seed(s) already finished" if entry.done else ""))
        for seed in todo:
            run_id = entry.seed_run(seed)
            spec = JobSpec(run_id=run_id, label=label, params=plan.params, seed=seed, gpus=plan.cls.resources.gpus,
                           out_dir=str(jobs_dir / run_id), config=config.model_dump(mode="json"),
                           plugin_dirs=[str(Path(d).resolve()) for d in plugin_dirs], cwd=os.getcwd(),
                           dataset_hash=prepared.dataset_hash, split_hash=prepared.split.hash,
                           cache_dir=str(tracker.store / "cache"),
                           n_jobs=config.n_jobs or os.cpu_count() or 1)
            runner.submit(spec)
            by_run[run_id] = (entry, seed)
    try:
        judge = setup_downstream(prepared, tracker, exp_id, echo)
        if judge:
            for outcome in outcomes.values():  # finished before Table 3 existed: score their logged predictions
                _backfill_downstream(judge, tracker, outcome, echo)
        for result in runner.results():
            entry, seed = by_run[result.run_id]
            extra = _score_downstream(judge, result, f"{entry.label} seed {seed}", echo) if judge else None
            _record(tracker, result, *(extra or (None, "")))
            if extra:
                shutil.rmtree(extra[0], ignore_errors=True)
            shutil.rmtree(jobs_dir / result.run_id, ignore_errors=True)  # failed jobs' partial files too
            entry.finish_seed(seed, result)
            if result.status == "FINISHED":
                m = result.metrics
                echo(f"    {entry.label} seed {seed}: median featurewise R² {m['test/median_r2_featurewise']:.4f}, "
                     f"MSE {m['test/mse']:.4f}, fit {m['fit_time_s']:.1f}s")
            else:
                echo(f"    {entry.label} seed {seed}: FAILED: {result.error.splitlines()[0] if result.error else ''}")
            if entry.complete(config.seeds):
                outcomes[entry.label] = entry.close(tracker)
    except BaseException:
        runner.close()
        for entry in entries.values():  # interrupted: leave nothing RUNNING
            for run_id in [*entry.open_runs(), entry.parent]:
                tracker.end_run(run_id, "KILLED")
        raise
    return [outcomes[p.entry.display] for p in prepared.translators]


def add_downstream(prepared: Prepared, tracker: Tracker, echo: Echo = lambda _: None) -> int:
    """Score Table 3 for every finished translator run of this experiment on the same data and split
    that lacks it (e.g. runs from before the classifier existed); return how many runs have it now."""
    exp_id = tracker.experiment_id(prepared.config.experiment_name)
    assert exp_id is not None
    judge = setup_downstream(prepared, tracker, exp_id, echo)
    if judge is None:
        return 0
    runs = tracker.client.search_runs(
        [exp_id], filter_string=f"tags.`{TAG}level` = '{LEVEL_SUMMARY}' and attributes.status = 'FINISHED' "
                                f"and tags.`{TAG}split_hash` = '{prepared.split.hash}' "
                                f"and tags.`{TAG}dataset_hash` = '{prepared.dataset_hash}'")
    return sum(_backfill_downstream(judge, tracker, Outcome(run.data.tags.get(f"{TAG}label", run.info.run_name), "FINISHED",
                                                            run.info.run_id), echo) for run in runs)


@dataclass
class _Entry:
    """Book-keeping of one translator's runs: the summary run and, with several seeds, one per seed."""

    label: str
    plan: PlannedTranslator
    parent: str
    seed_runs: dict[int, str]
    done: dict[int, dict[str, float]]
    tracker: Tracker
    exp_id: str
    tags: dict[str, str]
    multi: bool
    errors: list[str] = field(default_factory=list)
    returned: set[int] = field(default_factory=set)  # seeds whose job came back, finished or failed

    def seed_run(self, seed: int) -> str:
        if not self.multi:
            self.tracker.set_tags(self.parent, {f"{TAG}seed": str(seed)})
            return self.parent
        run_id = self.tracker.start_run(self.exp_id, f"{self.label} seed {seed}",
                                        {**self.tags, f"{TAG}level": LEVEL_SEED, f"{TAG}seed": str(seed),
                                         f"{TAG}job_key": seed_key(self.plan.key, seed)}, parent_id=self.parent)
        self.tracker.log_params(run_id, {**self.plan.params, "translator": self.plan.cls.name, "seed": seed})
        self.seed_runs[seed] = run_id
        return run_id

    def open_runs(self) -> list[str]:
        return [r for s, r in self.seed_runs.items() if s not in self.returned]

    def finish_seed(self, seed: int, result: JobResult) -> None:
        if result.status == "FINISHED":
            self.done[seed] = result.metrics
        else:
            self.errors.append(result.error)
        self.returned.add(seed)

    def complete(self, seeds: list[int]) -> bool:
        return all(s in self.done or s in self.returned for s in seeds)

    def close(self, tracker: Tracker) -> Outcome:
        if self.errors:
            if self.multi:
                tracker.set_tags(self.parent, {f"{TAG}error": self.errors[0][:5000]})
                tracker.end_run(self.parent, "FAILED")
            return Outcome(self.label, "FAILED", self.parent, error=self.errors[0])
        summary = _aggregate(list(self.done.values()))
        if self.multi:
            tracker.log_metrics(self.parent, summary)
            tracker.end_run(self.parent)
        return Outcome(self.label, "FINISHED", self.parent, summary)


def seed_key(key: str, seed: int) -> str:
    return canonical_hash({"job": key, "seed": seed})


def _open_entry(prepared: Prepared, plan: PlannedTranslator, tracker: Tracker, exp_id: str, split_file: Path,
                force: bool) -> _Entry:
    """The summary run to fill: an unfinished one of the same key is resumed (multi-seed), else new."""
    seeds = prepared.config.seeds
    multi = len(seeds) > 1
    tags = _tags(prepared, plan)
    for stale in tracker.find_runs(exp_id, plan.key, "RUNNING"):
        tracker.end_run(stale, "FAILED")  # left RUNNING by a killed process
    done: dict[int, dict[str, float]] = {}
    parent = None
    if multi and not force:
        unfinished = [r for st in ("FAILED", "KILLED") for r in tracker.find_runs(exp_id, plan.key, st)]
        if unfinished:
            parent = unfinished[0]
            tracker.client.update_run(parent, status="RUNNING")
            for seed in seeds:
                key = seed_key(plan.key, seed)
                for stale in tracker.find_runs(exp_id, key, "RUNNING"):
                    tracker.end_run(stale, "FAILED")
                finished = tracker.find_runs(exp_id, key, "FINISHED")
                if finished:
                    metrics = tracker.client.get_run(finished[0]).data.metrics
                    done[seed] = {k: v for k, v in metrics.items() if k.startswith(_RESULT_METRICS)}
    if parent is None:
        parent = tracker.start_run(exp_id, plan.entry.display, {**tags, f"{TAG}level": LEVEL_SUMMARY})
        tracker.log_params(parent, {**plan.params, "translator": plan.cls.name, "seeds": seeds,
                                    "n_train": prepared.train.n_samples, "n_val": prepared.val.n_samples,
                                    "n_test": prepared.test.n_samples, "n_b_features": prepared.train.b.shape[1],
                                    "n_a_features": prepared.train.a.shape[1]})
        with tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / "config.yaml").write_text(yaml.safe_dump(prepared.config.model_dump(mode="json"), sort_keys=False))
            tracker.log_artifacts(parent, tmp)
        tracker.client.log_artifact(parent, str(split_file), "split")
    return _Entry(plan.entry.display, plan, parent, {}, done, tracker, exp_id, tags, multi)


def _score_downstream(judge: Downstream, result: JobResult, title: str, echo: Echo,
                      predictions: Path | None = None) -> tuple[Path, str] | None:
    """Table 3 for one finished job: classify its test predictions (from the job, or the file
    ``predictions``); the metrics go into ``result.metrics``; return the figures' folder and a note."""
    if result.status != "FINISHED":
        return None
    from .artifacts import read_predictions

    rel = "results/predictions_test.parquet"
    try:
        if predictions is not None:
            source: Any = predictions
        else:
            source = io.BytesIO(result.files[rel]) if rel in result.files else Path(result.out_dir) / rel
        prediction = read_predictions(source).to_numpy(dtype=np.float32)
        out = Path(tempfile.mkdtemp(prefix="omibench-downstream-"))
        metrics, note = judge.score(prediction, out / "downstream", title)
    except Exception as exc:  # noqa: BLE001 - Table 3 failing must not lose the translator's results
        echo(f"    {title}: downstream scoring failed: {type(exc).__name__}: {exc}")
        return None
    result.metrics.update(metrics)
    return out, note


def _backfill_downstream(judge: Downstream, tracker: Tracker, outcome: Outcome, echo: Echo) -> bool:
    """Add Table 3 to a skipped translator's runs that lack it, from their logged test predictions."""
    assert outcome.run_id is not None
    parent = tracker.client.get_run(outcome.run_id)
    children = tracker.seed_runs(outcome.run_id)
    per_seed = []
    for run in children or [parent]:
        metrics = {k: v for k, v in run.data.metrics.items() if k.startswith("downstream/")}
        if not metrics:
            with tempfile.TemporaryDirectory() as tmp:
                try:
                    path = tracker.client.download_artifacts(run.info.run_id, "results/predictions_test.parquet", tmp)
                except Exception:  # noqa: BLE001 - nothing to score
                    echo(f"    {outcome.label}: run {run.info.run_id} has no logged test predictions; Table 3 skipped")
                    return False
                title = f"{outcome.label} seed {run.data.tags.get(f'{TAG}seed', '?')}"
                result = JobResult(run.info.run_id, "FINISHED")
                extra = _score_downstream(judge, result, title, echo, predictions=Path(path))
                if extra is None:
                    return False
                metrics = result.metrics
                tracker.log_metrics(run.info.run_id, metrics)
                tracker.log_artifacts(run.info.run_id, extra[0])
                if extra[1]:
                    tracker.set_tags(run.info.run_id, {f"{TAG}downstream_note": extra[1][:5000]})
                shutil.rmtree(extra[0], ignore_errors=True)
            echo(f"    {title}: Table 3 added to its finished run, downstream accuracy {metrics['downstream/accuracy']:.4f}")
        per_seed.append(metrics)
    if children:
        tracker.log_metrics(outcome.run_id, _aggregate(per_seed))
    return True


def _record(tracker: Tracker, result: JobResult, extra: Path | None = None, note: str = "") -> None:
    """Log one job's outcome into its run and close it: metrics, per-epoch values, artifacts
    (plus ``extra``, a folder of driver-side artifacts such as the downstream figures)."""
    run_id = result.run_id
    for step, values in result.reports:
        tracker.log_metrics(run_id, values, step=step)
    with tempfile.TemporaryDirectory() as tmp:
        if result.status == "FAILED":
            (Path(tmp) / "traceback.txt").write_text(result.traceback or result.error)
            tracker.log_artifacts(run_id, tmp)
            tracker.set_tags(run_id, {f"{TAG}error": result.error[:5000]})
            tracker.end_run(run_id, "FAILED")
            return
        tracker.log_metrics(run_id, result.metrics)
        if result.files:  # shipped back from another machine
            for rel, data in result.files.items():
                (Path(tmp) / rel).parent.mkdir(parents=True, exist_ok=True)
                (Path(tmp) / rel).write_bytes(data)
            _log_job_dir(tracker, run_id, Path(tmp))
        elif result.out_dir:
            _log_job_dir(tracker, run_id, Path(result.out_dir))
    if extra is not None:
        tracker.log_artifacts(run_id, extra)
    if note:
        tracker.set_tags(run_id, {f"{TAG}downstream_note": note[:5000]})
    tracker.end_run(run_id)


def _log_job_dir(tracker: Tracker, run_id: str, path: Path) -> None:
    for sub in ("results", "model"):
        if (path / sub).is_dir():
            tracker.log_artifacts(run_id, path / sub, sub)


def _aggregate(per_seed: list[dict[str, float]]) -> dict[str, float]:
    """Mean over seeds under the plain names; standard deviation as ``<name>_std`` (0 for one seed)."""
    out = {}
    for key in per_seed[0]:
        if key.endswith("_std"):
            continue
        values = [m[key] for m in per_seed if key in m]
        out[key] = float(np.mean(values))
        out[f"{key}_std"] = float(statistics.stdev(values)) if len(values) > 1 else 0.0
    return out


def _tags(prepared: Prepared, plan: PlannedTranslator) -> dict[str, str]:
    return {
        f"{TAG}translator": plan.cls.name,
        f"{TAG}label": plan.entry.display,
        f"{TAG}dataset": prepared.train.name,
        f"{TAG}dataset_hash": prepared.dataset_hash,
        f"{TAG}split_hash": prepared.split.hash,
        f"{TAG}config_hash": prepared.config_hash,
        f"{TAG}job_key": plan.key,
        f"{TAG}git_commit": git_commit(),
        f"{TAG}versions": package_versions(),
        f"{TAG}plugin_source": f"{plan.cls.__module__}.{plan.cls.__qualname__}",
        **({f"{TAG}tuned_from": plan.tuned_from} if plan.tuned_from else {}),
    }
