"""The default executor: jobs run in a child process of the driver, one after another.

A forked worker inherits the driver's prepared data (no re-preparation, no pickling of matrices)
and runs the consecutive jobs of one translator (:mod:`._worker`); it streams per-epoch values back
over a pipe, so they reach the store live as with ``inline``. Unless the runner turns it off
(``record_while_next_runs``: Table 3 on), the next job starts as soon as one ends and the driver
writes the finished one to the store while it runs, opening the next job's run after. Torch translators
(those that ask for a GPU) get a fresh interpreter instead (spawn), which rebuilds the data from the
cache: see :func:`_needs_fresh_interpreter`.
What a job does cannot end the benchmark: an exception, ``sys.exit``, ``KeyboardInterrupt``
raised by a translator, ``os._exit``, a crash, a hang past ``timeout_s`` or a stall (no CPU progress
of the worker's process tree and no report for ``stall_s``: :mod:`.stall`) fail that job alone; a
worker that died or was stopped is replaced for the next job. Workers die with the driver
(``PR_SET_PDEATHSIG``) and then remove their job's folder.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import shutil
import signal
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from omibench.run.executors import Executor, ReporterFor
from omibench.run.executors._worker import serve
from omibench.run.executors.spec import JobResult, JobSpec, Work
from omibench.run.executors.stall import StallWatch, stall_message, tree_cpu_s

__all__ = ["POLL_S", "ProcessExecutor", "describe_exit"]

POLL_S = 0.1


def describe_exit(code: int | None) -> str:
    if code is None:
        return "still running"
    if code < 0:
        name = signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else str(-code)
        return f"killed by signal {name}" + (" (out of memory?)" if code == -9 else "")
    return f"exit status {code}"


def _cuda_initialised() -> bool:
    """A forked child cannot use CUDA once the driver has initialised it (e.g. Table 3's classifier
    trained on the GPU)."""
    torch = sys.modules.get("torch")
    return bool(torch is not None and torch.cuda.is_initialized())


def _needs_fresh_interpreter(spec: JobSpec) -> bool:
    """Torch translators (those that ask for a GPU) start a fresh interpreter (spawn) that rebuilds
    the data from the cache: a fork inherits the driver's OpenMP thread pool (GNU libgomp, torch's
    CPU threads) in a state that deadlocks the child's first parallel matrix product once the
    driver has used torch (Table 3's classifier, a notebook), and cannot use CUDA once the driver
    has. Their fits take seconds to hours, so the start-up (a few seconds) is small beside them."""
    return spec.gpus > 0 or _cuda_initialised()


@dataclass
class _Worker:
    """A child process and its two pipe ends; ``label``: the translator whose jobs it runs."""

    proc: Any
    jobs: Connection  # driver -> worker: specs
    answers: Connection  # worker -> driver: reports and results
    label: str
    fresh: bool
    retiring: bool = False

    def serves(self, spec: JobSpec, fresh: bool) -> bool:
        return not (self.fresh or fresh or self.retiring) and self.label == spec.label and self.proc.is_alive()


@dataclass
class _Active:
    """A job handed to a worker, not answered yet; ``report`` set once the driver has opened its run."""

    spec: JobSpec
    worker: _Worker
    deadline: float | None
    watch: StallWatch | None
    report: Callable[[int, Any], None] | None = None
    reports: int = 0

    def take(self, answer: tuple[Any, ...]) -> JobResult | None:
        """Route a report; the job's result when ``answer`` is it."""
        if answer[0] == "report":
            assert self.report is not None  # the run is opened before the pipe is read
            self.report(*answer[1])
            self.reports += 1
            return None
        _, result, self.worker.retiring = answer
        result.run_id = self.spec.run_id  # the worker was sent the spec before its run existed
        return result


class ProcessExecutor(Executor):
    description = "process"
    record_while_next_runs = True

    def __init__(self, work: Work, reporter_for: ReporterFor) -> None:
        self.work = work
        self.reporter_for = reporter_for
        self.queue: list[JobSpec] = []
        self.worker: _Worker | None = None
        self.active: _Active | None = None
        self.ctx = mp.get_context("fork")

    def submit(self, spec: JobSpec) -> None:
        self.queue.append(spec)

    def results(self) -> Iterator[JobResult]:
        while self.queue or self.active is not None:
            if self.active is None:
                self.active = self._hand_over(self.queue.pop(0))
            result = self._wait(self.active)
            self.active = None
            error: BaseException | None = None
            if self.queue and self.record_while_next_runs:
                try:  # the next job runs while the driver records this one
                    self.active = self._hand_over(self.queue.pop(0))
                except BaseException as exc:  # this result is still recorded first
                    error = exc
            yield result
            if error is not None:
                raise error
        self._retire()

    def _hand_over(self, spec: JobSpec) -> _Active:
        """Send ``spec`` to a worker that serves it (forking one if needed). Its run is opened in
        :meth:`_wait`, once the driver has recorded the job before it: the worker needs only the
        job's folder, set at submission, and its reports wait in the pipe until then."""
        fresh = _needs_fresh_interpreter(spec)
        worker = self._worker_for(spec, fresh)
        try:
            worker.jobs.send(spec)
        except OSError:  # the idle worker died (killed from outside): a fresh one, once
            self._discard(worker)
            worker = self._worker_for(spec, fresh)
            worker.jobs.send(spec)
        deadline = None if spec.timeout_s is None else time.monotonic() + spec.timeout_s
        watch = None if spec.stall_s is None else StallWatch(spec.stall_s)
        return _Active(spec, worker, deadline, watch)

    def _worker_for(self, spec: JobSpec, fresh: bool) -> _Worker:
        if self.worker is not None and self.worker.serves(spec, fresh):
            return self.worker
        self._retire()
        return self._fork(spec.label, fresh)

    def _fork(self, label: str, fresh: bool) -> _Worker:
        ctx = mp.get_context("spawn") if fresh else self.ctx
        answers, answer_end = ctx.Pipe(duplex=False)
        job_end, jobs = ctx.Pipe(duplex=False)
        work: Work | str = self.work.module if fresh else self.work
        drivers_ends = () if fresh else (jobs, answers)  # a spawned child inherits no descriptors
        proc = ctx.Process(
            target=serve, args=(work, job_end, answer_end, os.getpid(), drivers_ends), name=f"omibench worker {label}"
        )
        self.worker = worker = _Worker(proc, jobs, answers, label, fresh)
        try:
            proc.start()
        finally:
            answer_end.close()
            job_end.close()
        return worker

    def _wait(self, job: _Active) -> JobResult:
        """Open the job's run, route its reports until its result comes; fail it if the worker
        dies, times out or stalls."""
        worker, spec = job.worker, job.spec
        if job.report is None:
            self.on_start(spec)
            job.report = self.reporter_for(spec.run_id)
        pid = worker.proc.pid
        assert pid is not None  # started
        while True:
            if worker.answers.poll(POLL_S):
                try:
                    answer = worker.answers.recv()
                except (EOFError, OSError):  # the worker is gone without a result
                    break
                result = job.take(answer)
                if result is not None:
                    return result
            elif not worker.proc.is_alive() and not worker.answers.poll(0):
                break
            # checked after every answer too: a job that reports often must still meet its limits
            if job.deadline is not None and time.monotonic() > job.deadline:
                finished = self._drain(job)  # its result may be waiting behind reports the driver was slow to read
                if finished is not None:
                    return finished
                self._discard(worker)
                return JobResult.failed(
                    spec, f"time-out: still running after timeout_s={spec.timeout_s:g} s; stopped", timed_out=True
                )
            if job.watch is not None and job.watch.due() and job.watch.sample(tree_cpu_s(pid), job.reports):
                self._discard(worker)
                return JobResult.failed(spec, stall_message(job.watch.stall_s), stalled=True)
        worker.proc.join(timeout=30)
        self._discard(worker)
        code = worker.proc.exitcode
        return JobResult.failed(
            spec,
            f"the job's process ended without a result ({describe_exit(code)}): "
            "the translator called sys.exit / os._exit or crashed",
            exit_signal=-code if code is not None and code < 0 else None,
        )

    def _drain(self, job: _Active, limit_s: float = 2.0) -> JobResult | None:
        """Route the answers already in the pipe, without waiting and for at most ``limit_s`` (a job
        still reporting would refill it forever); the result if one comes."""
        until = time.monotonic() + limit_s
        while job.worker.answers.poll(0) and time.monotonic() < until:
            try:
                result = job.take(job.worker.answers.recv())
            except (EOFError, OSError):
                return None
            if result is not None:
                return result
        return None

    def _retire(self) -> None:
        """Let the current worker finish (it has no job): ask it to stop, stop it if it does not."""
        worker = self.worker
        if worker is None:
            return
        if worker.proc.is_alive() and not worker.retiring:
            try:
                worker.jobs.send(None)
            except OSError:
                pass
        worker.proc.join(timeout=30)
        self._discard(worker)  # still reachable from self until here: an interruption cannot leak it

    def _discard(self, worker: _Worker) -> None:
        self._stop(worker)
        if self.worker is worker:
            self.worker = None

    def _stop(self, worker: _Worker) -> None:
        proc = worker.proc
        if proc.is_alive():
            proc.terminate()  # SIGTERM: the worker removes its job's folder
            proc.join(timeout=5)
        if proc.is_alive():
            proc.kill()
            proc.join()
        for end in (worker.jobs, worker.answers):
            end.close()

    def close(self) -> None:
        if self.worker is not None:
            self._discard(self.worker)
        if self.active is not None and self.active.report is None:  # handed over, its run never opened
            shutil.rmtree(self.active.spec.out_dir, ignore_errors=True)
        self.active = None
        self.queue.clear()
