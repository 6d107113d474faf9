"""The benchmark loop: one job per translator and seed, sent to an executor, logged by the driver.

Resume is by key (see :mod:`omibench.run.records`): a rerun of an interrupted experiment runs only what
did not finish, and always closes what can be closed. An interruption (Ctrl-C, SIGTERM) marks only
the runs still RUNNING as KILLED, never a finished one, and raises :class:`RunInterrupted`.
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omibench.metrics import catalogue
from omibench.run import interrupts as _interrupts
from omibench.run.claims import Claims
from omibench.run.executors import Executor, JobSpec, make_executor
from omibench.run.failures import failure_line
from omibench.run.faults import fault_point
from omibench.run.fitting import prepare_process
from omibench.run.jobs import JobWork
from omibench.run.preparation import PlannedTranslator, Prepared
from omibench.run.records import Entry, Job, aggregate, open_entry, record_result
from omibench.run.table3 import Judges, backfill_run, score_downstream
from omibench.store import RunStatus, Store, layout

__all__ = ["Outcome", "RunInterrupted", "add_downstream", "build_executor", "run_experiment"]

Echo = Callable[[str], None]
SKIPPED = "SKIPPED"
_MAX_HOPS = 8  # superseded_by links followed from a watched claim (a move makes one; a cycle never loops)


@dataclass
class Outcome:
    label: str
    status: str  # FINISHED | FAILED | SKIPPED
    run_id: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    error: str = ""
    failure_kind: str = ""  # a FAILED outcome: out-of-memory | time-out | not-applicable | error (failures.py)

    @property
    def reason(self) -> str:
        """A FAILED outcome's error in one line (a not-applicable verdict: the translator's reason)."""
        return failure_line(self.error, self.failure_kind)


class RunInterrupted(KeyboardInterrupt):
    """The run loop was interrupted; what had finished is kept, what was running is KILLED."""

    def __init__(self, finished: list[str], stopped: list[str], experiment: str) -> None:
        super().__init__(f"{len(finished)} finished, {len(stopped)} stopped")
        self.finished = finished
        self.stopped = stopped
        self.experiment = experiment

    def summary(self) -> str:
        done = f"{len(self.finished)} translator(s) finished and kept" + (
            f" ({', '.join(self.finished)})" if self.finished else ""
        )
        stopped = f"{len(self.stopped)} stopped" + (f" ({', '.join(self.stopped)})" if self.stopped else "")
        return (
            f"interrupted: {done}, {stopped}; rerun the same command to finish the rest (finished runs are not redone)"
        )


def run_experiment(
    prepared: Prepared,
    store: Store,
    force: bool = False,
    show_progress: bool = False,
    echo: Echo = lambda _: None,
    executor: str | Executor = "process",
    plugin_dirs: Sequence[str] = (),
    timeout_s: float | None = None,
    claim_timeout_s: float | None = None,
    claim_settle_s: float | None = None,
    **executor_options: Any,
) -> list[Outcome]:
    """Run every planned translator for every seed; return one outcome per translator.

    On a local store the caller holds the experiment's lock (:class:`omibench.store.ExperimentLock`).
    On a shared store (``store.shared``: a tracking server) each translator is claimed on the store
    first (:mod:`omibench.run.claims`): one held by another machine is left to it and waited for
    at the end (its outcome is SKIPPED once it finished there), or run here once its claim is free
    or stale, so every machine ends with the whole leaderboard. Resume: a
    translator with a finished run of the same key is skipped (unless ``force``); of an unfinished
    multi-seed run, seeds already finished are kept and only the others are run; one whose seeds
    all finished is closed at once. Runs left RUNNING by a dead process are marked FAILED.
    ``executor`` is a name (built here, see :func:`make_executor`) or an executor built by
    :func:`build_executor` (the API builds it first, to refuse an unreachable cluster before any
    write). ``timeout_s`` limits each job (fit, predict, scoring). ``claim_timeout_s`` /
    ``claim_settle_s``: the claims' heartbeat timeout and settle wait on a shared store (None: from
    the environment, see :func:`omibench.run.claims.claim_settings`).
    """
    config = prepared.config
    _interrupts.reset()
    prepare_process()  # before the driver's first torch allocation (Table 3's classifier), inherited by job forks
    exp_id = store.experiment_id(config.experiment_name)
    assert exp_id is not None
    split_files = prepared.save_splits(store.path)
    entries: dict[str, Entry] = {}
    outcomes: dict[str, Outcome] = {}
    by_run: dict[str, tuple[Entry, Job]] = {}
    waiting: dict[str, tuple[Entry, Job]] = {}  # submitted, not started: no run yet
    folders: dict[str, str] = {}  # run id -> its job's scratch folder
    jobs_dir = store.path / layout.JOBS
    labels = _sample_labels(prepared)  # for the AnnData twin of each run's predictions
    runner = (
        executor
        if isinstance(executor, Executor)
        else build_executor(executor, prepared, store, show_progress, **executor_options)
    )

    def on_start(spec: JobSpec) -> None:
        # the job's run (and its translator's summary run) is created as the job starts (or, when it
        # runs while the driver records the job before it, once that is recorded), so the run's
        # start time in MLflow, and its Duration, are the job's, not the queue's
        entry, job = waiting.pop(spec.run_id)
        spec.run_id = entry.job_run(job)
        by_run[spec.run_id] = (entry, job)
        folders[spec.run_id] = spec.out_dir

    runner.on_start = on_start
    # a shared store (a tracking server): jobs are claimed there, one translator at a time, and its
    # jobs drained before the next is claimed, so that machines started together share the work
    claims = Claims(store, exp_id, force, claim_timeout_s, claim_settle_s) if store.shared else None
    elsewhere: dict[str, tuple[int, PlannedTranslator]] = {}  # label -> held by another machine
    n = len(prepared.translators)

    def start(i: int, plan: PlannedTranslator) -> bool:
        """Skip, or open and submit, translator ``plan``; False when another machine holds it."""
        label = plan.entry.display
        finished = store.finished_run(exp_id, plan.key)
        if finished is not None and not force:
            echo(f"[{i}/{n}] {label}: finished run {finished.run_id} exists, skipped (--force reruns)")
            outcomes[label] = Outcome(label, SKIPPED, finished.run_id)
            if judge:  # finished before Table 3 existed: score its logged predictions
                backfill_downstream(judges, store, outcomes[label], echo)
            return True
        entry = open_entry(prepared, plan, store, exp_id, split_files, force, claims)
        if entry is None:
            assert claims is not None
            echo(f"[{i}/{n}] {label}: claimed by another machine (run {claims.watched.get(plan.key)}), left to it")
            return False
        entries[label] = entry
        todo = entry.todo()
        echo(
            f"[{i}/{n}] {label}: {len(todo)} job(s) submitted"
            + (f", {len(entry.done)} already finished" if entry.done else "")
            + (
                ""
                if plan.cls.seed_dependent or len(config.seeds) == 1
                else f" (seed-independent: fitted with seed {config.seeds[0]} only)"
            )
        )
        if not todo:  # every job finished before an interruption: only the summary was left open
            close(entry)
            return True
        for job in todo:
            split_i, seed = job
            pending = f"pending:{label}:{split_i}:{seed}"  # becomes the run id when the job starts
            waiting[pending] = (entry, job)
            runner.submit(
                JobSpec(
                    run_id=pending,
                    label=label,
                    params=plan.params,
                    seed=seed,
                    gpus=plan.cls.resources.gpus,
                    out_dir=str(jobs_dir / uuid.uuid4().hex),  # known before the run: a job may start first
                    config=config.model_dump(mode="json"),
                    plugin_dirs=[str(Path(d).resolve()) for d in plugin_dirs],
                    cwd=os.getcwd(),
                    dataset_hash=prepared.dataset_hash,
                    split_hash=prepared.splits[split_i].hash,
                    cache_dir=str(store.path / layout.CACHE),
                    n_jobs=config.n_jobs or os.cpu_count() or 1,
                    timeout_s=timeout_s,
                )
            )
        return True

    def ours(entry: Entry) -> bool:
        """Whether ``entry``'s runs are still ours to write: on a shared store, its claim read back now."""
        return claims is None or (not claims.lost(entry.parent) and claims.still_mine(entry.parent))

    def close(entry: Entry) -> None:
        if claims is not None:
            mine = ours(entry)
            claims.release(entry.parent)
            if not mine:  # another machine took the job over: its result counts
                entry.closed = True
                echo(f"    {entry.label}: taken over by another machine (no heartbeat got through); dropped here")
                outcomes[entry.label] = Outcome(entry.label, SKIPPED, entry.parent)
                return
        outcomes[entry.label] = _close(entry, judges if judge else None, echo)

    def drain() -> None:
        for result in runner.results():
            entry, job = by_run[result.run_id]
            title = _title(entry.label, job, len(prepared.splits))
            if not ours(entry):  # its run is no longer ours to write
                shutil.rmtree(folders.pop(result.run_id), ignore_errors=True)
                store.stop_if_running([result.run_id], RunStatus.KILLED)
                entry.returned.add(job)
                if entry.complete():
                    close(entry)
                continue
            split_judge = judges.get(job[0]) if judge else None
            extra = score_downstream(split_judge, result, title, echo) if split_judge else None
            folder, note = extra or (None, "")
            chosen = record_result(store, result, folder, note, test_labels=labels)
            if chosen:
                entry.chosen[job] = chosen
            if extra:
                shutil.rmtree(extra[0], ignore_errors=True)
            shutil.rmtree(folders.pop(result.run_id), ignore_errors=True)  # failed jobs' partial files too
            entry.finish_job(job, result)
            if result.status == RunStatus.FINISHED.value:
                m = result.metrics
                echo(
                    f"    {title}: median featurewise R² {m[catalogue.key('median_r2_featurewise')]:.4f}, "
                    f"MSE {m[catalogue.key('mse')]:.4f}, fit {m['fit_time_s']:.1f}s"
                )
            else:
                kind = result.failure_kind or "error"
                said = "not applicable" if kind == "not-applicable" else f"FAILED ({kind})"  # a verdict, or a fault
                echo(f"    {title}: {said}: {failure_line(result.error, kind)}")
            fault_point("seed_recorded")
            if entry.complete():
                close(entry)

    def wait_for_others() -> None:
        """Wait for the translators other machines hold: each ends finished or failed there (an
        outcome, nothing fitted here), or is claimed and run here once its claim is free or stale."""
        assert claims is not None
        while elsewhere:
            time.sleep(min(claims.interval_s, 5.0))
            for label, (i, plan) in list(elsewhere.items()):
                ended = _ended_elsewhere(store, claims, plan.key, label)
                if ended is not None:
                    outcomes[label] = ended
                    said = "failed" if ended.status == RunStatus.FAILED.value else "finished"
                    echo(f"[{i}/{n}] {label}: {said} on another machine (run {ended.run_id})")
                elif claims.look(plan.key)[1]:
                    continue
                elif start(i, plan):  # the claim is free: its owner died, or was interrupted
                    drain()
                else:
                    continue
                del elsewhere[label]

    if claims is not None:
        claims.__enter__()
    try:
        judges = Judges(prepared, store, exp_id, echo)
        judge = judges.first()
        if judge:  # each new outer split trains a classifier in the driver: not beside a job's fit
            runner.record_while_next_runs = False
        for i, plan in enumerate(prepared.translators, 1):
            if not start(i, plan):
                elsewhere[plan.entry.display] = (i, plan)
            elif claims is not None:
                drain()
        drain()
        if claims is not None:
            wait_for_others()
    except BaseException as exc:
        runner.close()
        for folder in folders.values():  # jobs that came back but were not recorded
            shutil.rmtree(folder, ignore_errors=True)
        stopped = []
        for entry in entries.values():  # leave nothing RUNNING, and never touch a finished run
            if not entry.closed:
                store.stop_if_running(entry.open_runs(), RunStatus.KILLED)
                stopped.append(entry.label)
        if claims is not None:  # a claim not yet an entry's (interrupted while it settled) is ended too
            store.stop_if_running(claims.holding(), RunStatus.KILLED)
        if isinstance(exc, KeyboardInterrupt) and not isinstance(exc, RunInterrupted):
            raise RunInterrupted(
                [o.label for o in outcomes.values() if o.status != RunStatus.FAILED.value],
                stopped,
                config.experiment_name,
            ) from None
        raise
    finally:
        if claims is not None:
            claims.__exit__()
    return [outcomes[p.entry.display] for p in prepared.translators]


def _ended_elsewhere(store: Store, claims: Claims, key: str, label: str) -> Outcome | None:
    """The outcome of job ``key`` when another machine ended it: finished (skipped here), or
    failed by the translator itself (not retried here: it would fail the same way). None while
    it is claimed, or when its claim ended otherwise (interrupted, taken over): free to claim. A
    claim that was moved onto an older unfinished run (:meth:`Claims.move`) is KILLED with
    ``superseded_by``: that run is followed (a bounded chain) and judged instead."""
    finished = claims.look(key)[0]
    if finished is not None:
        return Outcome(label, SKIPPED, finished.run_id)
    watched = claims.watched.get(key)
    try:
        run = store.get_run(watched) if watched else None
        for _ in range(_MAX_HOPS):
            if run is None or run.tags.superseded_by is None:
                break
            run = store.get_run(run.tags.superseded_by)
    except KeyError:
        return None
    if run is None or run.status is RunStatus.RUNNING:
        return None
    if run.status is RunStatus.FINISHED:
        return Outcome(label, SKIPPED, run.run_id)
    if run.status is RunStatus.FAILED and run.tags.failure_kind:
        kind = run.tags.failure_kind
        return Outcome(label, RunStatus.FAILED.value, run.run_id, error=run.tags.error or "failed", failure_kind=kind)
    return None


def build_executor(
    kind: str, prepared: Prepared, store: Store, show_progress: bool = False, **options: Any
) -> Executor:
    """The executor ``kind``, carrying this experiment's jobs; per-epoch values go to ``store``."""

    def reporter_for(run_id: str) -> Callable[[int, Any], None]:
        return lambda step, values: store.log_metrics(run_id, values, step)

    return make_executor(kind, JobWork(prepared, show_progress), reporter_for, **options)


def _sample_labels(prepared: Prepared) -> dict[str, object] | None:
    """Sample id -> class over the whole dataset, every outer split's test rows included (None
    without labels)."""
    parts = [prepared.raw] if prepared.raw is not None else [prepared.train, prepared.val, prepared.test]
    if not any(p.has_labels for p in parts):
        return None
    return {
        str(s): (None if lab is None else str(lab))
        for p in parts
        if p.labels is not None
        for s, lab in zip(p.sample_ids, p.labels, strict=True)
    }


def _title(label: str, job: Job, n_splits: int) -> str:
    return f"{label} split {job[0]} seed {job[1]}" if n_splits > 1 else f"{label} seed {job[1]}"


def _close(entry: Entry, judges: Judges | None, echo: Echo) -> Outcome:
    if judges and not entry.errors:  # jobs from an earlier process that lack Table 3
        for job, run_id in entry.done_runs.items():
            judge = judges.get(job[0])
            if judge and not any(k.startswith(catalogue.DOWNSTREAM) for k in entry.done[job]):
                scored = backfill_run(
                    judge, entry.store, run_id, _title(entry.label, job, len(entry.split_hashes)), echo
                )
                if scored:
                    entry.done[job] = {**entry.done[job], **scored}
    status, metrics, error = entry.close()
    kind = entry.failure_kinds[0] if error and entry.failure_kinds else ""
    return Outcome(entry.label, status, entry.parent, metrics, error, kind)


def add_downstream(prepared: Prepared, store: Store, echo: Echo = lambda _: None) -> int:
    """Score Table 3 for every finished translator run of this experiment on the same data and split
    that lacks it (e.g. runs from before the classifier existed); return how many runs have it now."""
    exp_id = store.experiment_id(prepared.config.experiment_name)
    assert exp_id is not None
    judges = Judges(prepared, store, exp_id, echo)
    if judges.first() is None:
        return 0
    runs = store.summaries(prepared.config.experiment_name, prepared.split.hash, prepared.dataset_hash)
    return sum(
        backfill_downstream(judges, store, Outcome(run.label, RunStatus.FINISHED.value, run.run_id), echo)
        for run in runs
    )


def backfill_downstream(judges: Judges, store: Store, outcome: Outcome, echo: Echo) -> bool:
    """Add Table 3 to a finished translator's runs that lack it, from their logged test predictions
    (each scored by the classifier of its own outer split)."""
    assert outcome.run_id is not None
    children = store.seed_runs(outcome.run_id)
    per_seed = []
    for run in children or [store.get_run(outcome.run_id)]:
        metrics = {k: v for k, v in run.metrics.items() if k.startswith(catalogue.DOWNSTREAM)}
        judge = judges.get(run.tags.outer_split or 0)
        if not metrics and judge is None:
            return False
        if not metrics:
            assert judge is not None
            scored = backfill_run(judge, store, run.run_id, f"{outcome.label} seed {run.tags.seed}", echo)
            if scored is None:
                return False
            metrics = scored
        per_seed.append(metrics)
    if children:
        store.log_metrics(outcome.run_id, aggregate(per_seed))
    return True
