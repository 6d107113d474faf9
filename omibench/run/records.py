"""The book-keeping of one translator's runs in the store: open (or resume), record, close.

A translator with one seed has one run (level ``summary``, its seed in a tag). With several seeds it
has a summary run and one child run per seed; the summary gets the mean and standard deviation
over seeds when every seed has finished. Resume is by job key: a FINISHED run of the same key is
kept, an unfinished summary is reopened and only its missing seeds run again.
"""

from __future__ import annotations

import json
import statistics
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import yaml

from omibench.config import canonical_hash
from omibench.metrics.catalogue import result_metrics
from omibench.run.artifacts import log_anndata_twin, log_job_dir
from omibench.run.executors.spec import JobResult
from omibench.run.preparation import PlannedTranslator, Prepared
from omibench.run.provenance import provenance_tags
from omibench.store import RunLevel, RunStatus, Store, Tags, control_tag, layout, owner_id

if TYPE_CHECKING:
    from omibench.run.claims import Claims

__all__ = [
    "Entry",
    "Job",
    "aggregate",
    "job_key",
    "open_entry",
    "read_chosen",
    "record_result",
    "seed_key",
    "split_sizes",
    "translator_tags",
]

Echo = Callable[[str], None]


Job = tuple[int, int]  # (outer split index, seed)


def seed_key(key: str, seed: int) -> str:
    return canonical_hash({"job": key, "seed": seed})


def job_key(plan: PlannedTranslator, job: Job) -> str:
    """The key of one (outer split, seed) job; with one outer split, the key it always had."""
    split, seed = job
    keys = plan.split_keys or (plan.key,)
    return seed_key(keys[split], seed)


def translator_tags(prepared: Prepared, plan: PlannedTranslator) -> Tags:
    return Tags(
        translator=plan.cls.name,
        label=plan.entry.display,
        dataset=prepared.train.name,
        dataset_hash=prepared.dataset_hash,
        split_hash=prepared.splits[0].hash,
        config_hash=prepared.config_hash,
        job_key=plan.key,
        plugin_source=f"{plan.cls.__module__}.{plan.cls.__qualname__}",
        tuned_from=plan.tuned_from or None,
        owner=owner_id(),
        n_splits=len(prepared.splits) if len(prepared.splits) > 1 else None,
        split_notes="; ".join(n for split in prepared.splits for n in getattr(split, "notes", ())) or None,
        split_leaky_test_samples=None if prepared.leaky_test_samples is None else len(prepared.leaky_test_samples),
        control=control_tag(bool(plan.cls.control), bool(plan.cls.anchors_skill)),
    ).merged(provenance_tags(prepared.config))


def split_sizes(prepared: Prepared, index: int) -> dict[str, int]:
    """Sample counts of outer split ``index``: ``n_train``, ``n_val``, ``n_test`` and ``n_fit``, the
    samples the model was fitted on (training, plus validation under ``refit: train+val``), which
    the corrected resampled t interval needs with ``n_test``."""
    split = prepared.splits[index]
    n_train, n_val, n_test = len(split.train), len(split.val), len(split.test)
    n_fit = n_train + n_val if prepared.config.refit == "train+val" else n_train
    return {"n_train": n_train, "n_val": n_val, "n_test": n_test, "n_fit": n_fit}


@dataclass
class Entry:
    """One translator's runs: the summary run and, with several jobs (outer splits x seeds), one
    child run per job. A seed-independent translator has one job per outer split."""

    label: str
    plan: PlannedTranslator
    parent: str
    store: Store
    exp_id: str
    tags: Tags
    jobs: list[Job]
    split_hashes: tuple[str, ...] = ()
    sizes: tuple[dict[str, int], ...] = ()  # per outer split: n_train, n_val, n_test, n_fit (split_sizes)
    done: dict[Job, dict[str, float]] = field(default_factory=dict)  # job -> result metrics
    done_runs: dict[Job, str] = field(default_factory=dict)  # job -> its FINISHED run
    job_runs: dict[Job, str] = field(default_factory=dict)  # job -> run opened by this process
    chosen: dict[Job, dict[str, str | float]] = field(default_factory=dict)  # job -> its chosen settings
    errors: list[str] = field(default_factory=list)
    failure_kinds: list[str] = field(default_factory=list)  # beside errors: out-of-memory | ... (failures.py)
    returned: set[Job] = field(default_factory=set)  # jobs that came back, finished or failed
    closed: bool = False
    # creates the summary run; a new one is made when its first job starts, so MLflow's start time
    # (and Duration) is the work's, not the submission's
    make_parent: Callable[[], str] | None = None

    def ensure_parent(self) -> str:
        """The summary run, created now if it does not exist yet."""
        if not self.parent and self.make_parent is not None:
            self.parent = self.make_parent()
        return self.parent

    @property
    def multi(self) -> bool:
        return len(self.jobs) > 1

    @property
    def seeds(self) -> list[int]:
        return list(dict.fromkeys(seed for _, seed in self.jobs))

    def todo(self) -> list[Job]:
        return [j for j in self.jobs if j not in self.done]

    def job_run(self, job: Job) -> str:
        """The run a job logs into, opened now: call it when the job starts (its start time is the
        run's)."""
        split, seed = job
        self.ensure_parent()
        if not self.multi:
            self.store.set_tags(self.parent, Tags(seed=seed))
            self.job_runs[job] = self.parent
            return self.parent
        several = len(self.split_hashes) > 1
        run_id = self.store.create_run(
            self.exp_id,
            f"{self.label} split {split} seed {seed}" if several else f"{self.label} seed {seed}",
            self.tags.with_(
                level=RunLevel.SEED,
                seed=seed,
                job_key=job_key(self.plan, job),
                n_splits=None,
                outer_split=split if several else None,
                split_hash=self.split_hashes[split] if several else self.tags.split_hash,
            ),
            parent_id=self.parent,
        )
        params = {
            **self.plan.params,
            "translator": self.plan.cls.name,
            "seed": seed,
            **(self.sizes[split] if split < len(self.sizes) else {}),
        }
        self.store.log_params(run_id, {**params, "outer_split": split} if several else params)
        self.job_runs[job] = run_id
        return run_id

    def open_runs(self) -> list[str]:
        """Runs this process opened that are not closed yet (job runs, then the summary)."""
        runs = [r for j, r in self.job_runs.items() if j not in self.returned and r != self.parent]
        return runs if self.closed or not self.parent else [*runs, self.parent]

    def finish_job(self, job: Job, result: JobResult) -> None:
        if result.status == RunStatus.FINISHED.value:
            self.done[job] = result.metrics
            self.done_runs[job] = result.run_id
        else:
            self.errors.append(result.error)
            self.failure_kinds.append(result.failure_kind or "error")
        self.returned.add(job)

    def complete(self) -> bool:
        return all(j in self.done or j in self.returned for j in self.jobs)

    def close(self) -> tuple[str, dict[str, float], str]:
        """End the summary run: (status, metrics, first error)."""
        self.ensure_parent()
        self.closed = True
        if self.errors:
            if self.multi:  # the kind too: another machine waiting on this summary reads it (claims)
                self.store.set_tags(self.parent, Tags(failure_kind=self.failure_kinds[0]))
                self.store.end_run(self.parent, RunStatus.FAILED, error=self.errors[0])
            return RunStatus.FAILED.value, {}, self.errors[0]
        summary = aggregate([self.done[j] for j in self.jobs])
        if self.multi:
            self.store.log_metrics(self.parent, summary)
            held = self.store.get_run(self.parent).params  # a resumed summary may hold them (write-once)
            per_job = {k: v for k, v in _per_job_chosen(self).items() if k not in held}
            if per_job:
                self.store.log_params(self.parent, per_job)
            self.store.end_run(self.parent)
        return RunStatus.FINISHED.value, summary, ""


def _per_job_chosen(entry: Entry) -> dict[str, str]:
    """On the summary: each chosen setting as the list of its values per job (outer split, seed)."""
    names = list(dict.fromkeys(name for j in entry.jobs for name in entry.chosen.get(j, {})))
    return {f"chosen.{name}": str([entry.chosen.get(j, {}).get(name) for j in entry.jobs]) for name in names}


def open_entry(
    prepared: Prepared,
    plan: PlannedTranslator,
    store: Store,
    exp_id: str,
    split_files: Path | list[Path],
    force: bool,
    claims: Claims | None = None,
) -> Entry | None:
    """The summary run to fill.

    On a local store (no ``claims``) it is called with the experiment's lock held, so runs left
    RUNNING are stale (their process is dead): they are marked FAILED. An unfinished multi-job
    summary of the same key is reopened and its FINISHED jobs kept; otherwise a new summary run is
    created when the entry's first job starts (:meth:`Entry.ensure_parent`).

    On a shared store (``claims``) the summary run is the job's claim, created now: None when
    another machine holds the job (or finished it meanwhile). The winner resumes an unfinished
    multi-job summary as above (the claim moves onto it); stale claims were failed by the claim."""
    seeds = list(prepared.config.seeds)
    hashes = tuple(s.hash for s in prepared.splits)
    jobs = plan.jobs(seeds, len(hashes))
    tags = translator_tags(prepared, plan)
    sizes = tuple(split_sizes(prepared, i) for i in range(len(hashes)))
    entry = Entry(plan.entry.display, plan, "", store, exp_id, tags, jobs, hashes, sizes)
    mine = None
    if claims is not None:
        mine = claims.claim(plan.key, lambda beat: _summary_run(plan, store, exp_id, tags.with_(heartbeat=beat), jobs))
        if mine is None:
            return None
    else:
        store.stop_if_running(
            [r.run_id for r in store.runs_with_key(exp_id, plan.key, RunStatus.RUNNING)], RunStatus.FAILED
        )
    if len(jobs) > 1 and not force:
        unfinished = [r for r in store.unfinished_runs(exp_id, plan.key) if r.run_id != mine]
        if unfinished:
            entry.parent = unfinished[0].run_id
            if claims is not None and mine is not None:
                claims.move(mine, unfinished[0])
            store.set_status(entry.parent, RunStatus.RUNNING)
            store.set_tags(entry.parent, Tags(owner=tags.owner, control=tags.control))
            for job in jobs:
                key = job_key(plan, job)
                store.stop_if_running(  # a job's run is only ever written by its summary's owner
                    [r.run_id for r in store.runs_with_key(exp_id, key, RunStatus.RUNNING)], RunStatus.FAILED
                )
                finished = store.finished_run(exp_id, key)
                if finished is not None:
                    entry.done[job] = result_metrics(finished.metrics)
                    entry.done_runs[job] = finished.run_id
                    entry.chosen[job] = {
                        k.removeprefix("chosen."): v for k, v in finished.params.items() if k.startswith("chosen.")
                    }
            return entry
    if mine is not None:
        entry.parent = _fill_summary(prepared, plan, store, mine, split_files)
        return entry
    entry.make_parent = lambda: _fill_summary(
        prepared, plan, store, _summary_run(plan, store, exp_id, tags, jobs), split_files
    )
    return entry


def _summary_run(plan: PlannedTranslator, store: Store, exp_id: str, tags: Tags, jobs: list[Job]) -> str:
    """Create a translator's summary run (tags only); its id."""
    used = [s for _, s in jobs]
    return store.create_run(
        exp_id,
        plan.entry.display,
        tags.with_(level=RunLevel.SUMMARY, seeds_fitted=",".join(map(str, dict.fromkeys(used)))),
    )


def _fill_summary(
    prepared: Prepared, plan: PlannedTranslator, store: Store, parent: str, split_files: Path | list[Path]
) -> str:
    """Log a new summary run's parameters, config and split files; return its id."""
    seeds = list(prepared.config.seeds)
    hashes = tuple(s.hash for s in prepared.splits)
    store.log_params(
        parent,
        {
            **plan.params,
            "translator": plan.cls.name,
            "seeds": seeds,
            "seed_dependent": plan.cls.seed_dependent,
            "n_train": prepared.train.n_samples,
            "n_val": prepared.val.n_samples,
            "n_test": prepared.test.n_samples,
            "n_fit": prepared.train.n_samples + (prepared.val.n_samples if prepared.config.refit == "train+val" else 0),
            "n_b_features": prepared.train.b.shape[1],
            "n_a_features": prepared.train.a.shape[1],
            **({"split_scheme": prepared.config.split.scheme, "n_splits": len(hashes)} if len(hashes) > 1 else {}),
        },
    )
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / layout.CONFIG).write_text(yaml.safe_dump(prepared.config.model_dump(mode="json"), sort_keys=False))
        store.log_artifacts(parent, tmp)
    for split_file in [split_files] if isinstance(split_files, Path) else split_files:
        store.log_artifact(parent, split_file, layout.SPLIT)
    return parent


def read_chosen(result: JobResult) -> dict[str, str | float]:
    """The settings a finished job's translator chose on validation (``chosen()``), as it wrote them."""
    if layout.CHOSEN in result.files:
        text = result.files[layout.CHOSEN].decode()
    elif result.out_dir and (Path(result.out_dir) / layout.CHOSEN).is_file():
        text = (Path(result.out_dir) / layout.CHOSEN).read_text()
    else:
        return {}
    raw = json.loads(text)
    return {str(k): v for k, v in raw.items()} if isinstance(raw, dict) else {}


def record_result(
    store: Store,
    result: JobResult,
    extra: Path | None = None,
    note: str = "",
    test_labels: Mapping[str, object] | None = None,
) -> dict[str, str | float]:
    """Log one job's outcome into its run and close it: metrics, per-epoch values, artifacts
    (plus ``extra``, a folder of driver-side artifacts such as the downstream figures), and the
    settings its translator chose as params ``chosen.<name>`` (numeric ones are also metrics,
    put there by the job). When anndata is installed the test predictions also get an AnnData
    twin, ``results/predictions_test.h5ad`` (``test_labels``, test sample id -> class, in its
    obs). Returns those chosen settings."""
    run_id = result.run_id
    chosen = read_chosen(result) if result.status == RunStatus.FINISHED.value else {}
    for step, values in result.reports:
        store.log_metrics(run_id, values, step=step)
    with tempfile.TemporaryDirectory() as tmp:
        if result.status != RunStatus.FINISHED.value:
            (Path(tmp) / layout.TRACEBACK).write_text(result.traceback or result.error)
            store.log_artifacts(run_id, tmp)
            store.set_tags(run_id, Tags(failure_kind=result.failure_kind or "error"))
            store.end_run(run_id, RunStatus.FAILED, error=result.error or "failed")
            return {}
        # one write for the job's numbers, params and tags (a store transaction each costs more than
        # scoring a fast translator's split)
        tags = Tags(device=result.device or None, fit_note=result.note or None, downstream_note=note or None)
        store.log_batch(run_id, result.metrics, {f"chosen.{k}": v for k, v in chosen.items()}, tags)
        if result.files:  # shipped back from another machine
            for rel, data in result.files.items():
                (Path(tmp) / rel).parent.mkdir(parents=True, exist_ok=True)
                (Path(tmp) / rel).write_bytes(data)
            log_job_dir(store, run_id, Path(tmp))
            log_anndata_twin(store, run_id, Path(tmp), test_labels)
        elif result.out_dir:
            log_job_dir(store, run_id, Path(result.out_dir))
            log_anndata_twin(store, run_id, Path(result.out_dir), test_labels)
    if extra is not None:
        store.log_artifacts(run_id, extra)
    store.end_run(run_id)
    return chosen


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
