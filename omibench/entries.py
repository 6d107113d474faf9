"""The book-keeping of one translator's runs in the store: open (or resume), record, close.

A translator with one seed has one run (level ``summary``, its seed in a tag). With several seeds it
has a summary run and one child run per seed; the summary gets the mean and standard deviation
over seeds when every seed has finished. Resume is by job key: a FINISHED run of the same key is
kept, an unfinished summary is reopened and only its missing seeds run again.
"""

from __future__ import annotations

import statistics
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from ._provenance import git_commit, package_versions
from .config import canonical_hash
from .executors.spec import JobResult
from .preparation import PlannedTranslator, Prepared
from .store import RunLevel, RunStatus, Store, Tags, owner_id

__all__ = ["Entry", "aggregate", "open_entry", "record_result", "seed_key", "translator_tags"]

Echo = Callable[[str], None]


def seed_key(key: str, seed: int) -> str:
    return canonical_hash({"job": key, "seed": seed})


def translator_tags(prepared: Prepared, plan: PlannedTranslator) -> Tags:
    return Tags(
        translator=plan.cls.name,
        label=plan.entry.display,
        dataset=prepared.train.name,
        dataset_hash=prepared.dataset_hash,
        split_hash=prepared.split.hash,
        config_hash=prepared.config_hash,
        job_key=plan.key,
        git_commit=git_commit(),
        versions=package_versions(),
        plugin_source=f"{plan.cls.__module__}.{plan.cls.__qualname__}",
        tuned_from=plan.tuned_from or None,
        owner=owner_id(),
    )


@dataclass
class Entry:
    """One translator's runs: the summary run and, with several seeds, one child run per seed."""

    label: str
    plan: PlannedTranslator
    parent: str
    store: Store
    exp_id: str
    tags: Tags
    seeds: list[int]
    done: dict[int, dict[str, float]] = field(default_factory=dict)  # seed -> result metrics
    done_runs: dict[int, str] = field(default_factory=dict)  # seed -> its FINISHED run
    seed_runs: dict[int, str] = field(default_factory=dict)  # seed -> run opened by this process
    errors: list[str] = field(default_factory=list)
    returned: set[int] = field(default_factory=set)  # seeds whose job came back, finished or failed
    closed: bool = False

    @property
    def multi(self) -> bool:
        return len(self.seeds) > 1

    def todo(self) -> list[int]:
        return [s for s in self.seeds if s not in self.done]

    def seed_run(self, seed: int) -> str:
        """The run a seed's job logs into (opened now)."""
        if not self.multi:
            self.store.set_tags(self.parent, Tags(seed=seed))
            self.seed_runs[seed] = self.parent
            return self.parent
        run_id = self.store.create_run(
            self.exp_id,
            f"{self.label} seed {seed}",
            self.tags.with_(level=RunLevel.SEED, seed=seed, job_key=seed_key(self.plan.key, seed)),
            parent_id=self.parent,
        )
        self.store.log_params(run_id, {**self.plan.params, "translator": self.plan.cls.name, "seed": seed})
        self.seed_runs[seed] = run_id
        return run_id

    def open_runs(self) -> list[str]:
        """Runs this process opened that are not closed yet (seed runs, then the summary)."""
        runs = [r for s, r in self.seed_runs.items() if s not in self.returned and r != self.parent]
        return runs if self.closed else [*runs, self.parent]

    def finish_seed(self, seed: int, result: JobResult) -> None:
        if result.status == RunStatus.FINISHED.value:
            self.done[seed] = result.metrics
            self.done_runs[seed] = result.run_id
        else:
            self.errors.append(result.error)
        self.returned.add(seed)

    def complete(self) -> bool:
        return all(s in self.done or s in self.returned for s in self.seeds)

    def close(self) -> tuple[str, dict[str, float], str]:
        """End the summary run: (status, metrics, first error)."""
        self.closed = True
        if self.errors:
            if self.multi:
                self.store.end_run(self.parent, RunStatus.FAILED, error=self.errors[0])
            return RunStatus.FAILED.value, {}, self.errors[0]
        summary = aggregate([self.done[s] for s in self.seeds])
        if self.multi:
            self.store.log_metrics(self.parent, summary)
            self.store.end_run(self.parent)
        return RunStatus.FINISHED.value, summary, ""


def open_entry(
    prepared: Prepared, plan: PlannedTranslator, store: Store, exp_id: str, split_file: Path, force: bool
) -> Entry:
    """The summary run to fill. Called with the experiment's lock held, so runs left RUNNING are
    stale (their process is dead): they are marked FAILED. An unfinished multi-seed summary of the
    same key is reopened and its FINISHED seeds kept; otherwise a new summary run is created."""
    seeds = list(prepared.config.seeds)
    tags = translator_tags(prepared, plan)
    store.stop_if_running(
        [r.run_id for r in store.runs_with_key(exp_id, plan.key, RunStatus.RUNNING)], RunStatus.FAILED
    )
    entry = Entry(plan.entry.display, plan, "", store, exp_id, tags, seeds)
    if len(seeds) > 1 and not force:
        unfinished = store.unfinished_runs(exp_id, plan.key)
        if unfinished:
            entry.parent = unfinished[0].run_id
            store.set_status(entry.parent, RunStatus.RUNNING)
            store.set_tags(entry.parent, Tags(owner=tags.owner))
            for seed in seeds:
                key = seed_key(plan.key, seed)
                store.stop_if_running(
                    [r.run_id for r in store.runs_with_key(exp_id, key, RunStatus.RUNNING)], RunStatus.FAILED
                )
                finished = store.finished_run(exp_id, key)
                if finished is not None:
                    entry.done[seed] = finished.result_metrics()
                    entry.done_runs[seed] = finished.run_id
            return entry
    entry.parent = store.create_run(exp_id, plan.entry.display, tags.with_(level=RunLevel.SUMMARY))
    store.log_params(
        entry.parent,
        {
            **plan.params,
            "translator": plan.cls.name,
            "seeds": seeds,
            "n_train": prepared.train.n_samples,
            "n_val": prepared.val.n_samples,
            "n_test": prepared.test.n_samples,
            "n_b_features": prepared.train.b.shape[1],
            "n_a_features": prepared.train.a.shape[1],
        },
    )
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "config.yaml").write_text(yaml.safe_dump(prepared.config.model_dump(mode="json"), sort_keys=False))
        store.log_artifacts(entry.parent, tmp)
    store.log_artifact(entry.parent, split_file, "split")
    return entry


def record_result(store: Store, result: JobResult, extra: Path | None = None, note: str = "") -> None:
    """Log one job's outcome into its run and close it: metrics, per-epoch values, artifacts
    (plus ``extra``, a folder of driver-side artifacts such as the downstream figures)."""
    run_id = result.run_id
    for step, values in result.reports:
        store.log_metrics(run_id, values, step=step)
    with tempfile.TemporaryDirectory() as tmp:
        if result.status != RunStatus.FINISHED.value:
            (Path(tmp) / "traceback.txt").write_text(result.traceback or result.error)
            store.log_artifacts(run_id, tmp)
            store.end_run(run_id, RunStatus.FAILED, error=result.error or "failed")
            return
        store.log_metrics(run_id, result.metrics)
        if result.device:
            store.set_tags(run_id, Tags(device=result.device))
        if result.files:  # shipped back from another machine
            for rel, data in result.files.items():
                (Path(tmp) / rel).parent.mkdir(parents=True, exist_ok=True)
                (Path(tmp) / rel).write_bytes(data)
            _log_job_dir(store, run_id, Path(tmp))
        elif result.out_dir:
            _log_job_dir(store, run_id, Path(result.out_dir))
    if extra is not None:
        store.log_artifacts(run_id, extra)
    if note:
        store.set_tags(run_id, Tags(downstream_note=note))
    store.end_run(run_id)


def _log_job_dir(store: Store, run_id: str, path: Path) -> None:
    for sub in ("results", "model"):
        if (path / sub).is_dir():
            store.log_artifacts(run_id, path / sub, sub)


def aggregate(per_seed: list[dict[str, float]]) -> dict[str, float]:
    """Mean over seeds under the plain names; standard deviation as ``<name>_std`` (0 for one seed)."""
    out = {}
    for key in per_seed[0]:
        if key.endswith("_std"):
            continue
        values = [m[key] for m in per_seed if key in m]
        out[key] = float(np.mean(values))
        out[f"{key}_std"] = float(statistics.stdev(values)) if len(values) > 1 else 0.0
    return out
