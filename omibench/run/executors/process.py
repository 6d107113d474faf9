"""The default executor: each job in a forked child of the driver, one after another.

The child inherits the driver's prepared data (no re-preparation, no pickling of matrices) and
streams its per-epoch values back over a pipe, so they reach the store live as with ``inline``.
Torch translators (those that ask for a GPU) get a fresh interpreter instead (spawn), which
rebuilds the data from the cache: see :func:`_needs_fresh_interpreter`.
What the child does cannot end the benchmark: an exception, ``sys.exit``, ``KeyboardInterrupt``
raised by a translator, ``os._exit``, a crash, a hang past ``timeout_s`` or a stall (no CPU progress
of the child's process tree and no report for ``stall_s``: :mod:`.stall`) fail that job alone.
The child dies with the driver (``PR_SET_PDEATHSIG``) and then removes its job folder.
"""

from __future__ import annotations

import importlib
import multiprocessing as mp
import os
import signal
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection
from typing import Any

from omibench.run.executors import Executor, ReporterFor
from omibench.run.executors._children import die_with_parent, remove_on_term
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


def _single_threaded_torch() -> None:
    """In a forked child, a translator that uses torch without asking for a GPU still must not
    enter the inherited OpenMP pool: one thread cannot deadlock on it."""
    if "torch" in sys.modules:
        from omibench.run.threads import pin_openmp_single

        pin_openmp_single()


def _shutdown_pools() -> None:
    """A child ends with ``os._exit`` (multiprocessing's way): stop joblib's worker pool first, or
    its resource tracker reports leaked semaphores and memmaps at the driver's exit."""
    loky = sys.modules.get("joblib.externals.loky.reusable_executor")
    executor = getattr(loky, "_executor", None) if loky is not None else None
    if executor is not None:
        try:
            executor.shutdown(wait=True)
        except Exception:  # cleanup only: the job's result is already sent
            pass


def _child(work: Work | str, spec: JobSpec, conn: Connection, driver: int) -> None:
    die_with_parent()
    if os.getppid() != driver:  # the driver died before the line above took effect
        os._exit(1)
    remove_on_term(spec.out_dir)
    from omibench.run import faults as _faults

    _faults.DRIVER_PID = driver  # a test's fault point signals the driver, not this child

    def report(step: int, values: Any) -> None:
        conn.send(("report", (step, dict(values))))

    try:
        if isinstance(work, str):  # a spawned child: rebuild the data from the spec
            result = importlib.import_module(work).run_spec(spec, report)
        else:
            _single_threaded_torch()
            result = work.here(spec, report)
    except BaseException as exc:  # the work catches a translator's errors; this is the last net
        result = JobResult.failed(spec, f"{type(exc).__name__}: {exc}", "".join(traceback.format_exception(exc)))
    conn.send(("result", result))
    conn.close()
    _shutdown_pools()


class ProcessExecutor(Executor):
    description = "process"

    def __init__(self, work: Work, reporter_for: ReporterFor) -> None:
        self.work = work
        self.reporter_for = reporter_for
        self.queue: list[JobSpec] = []
        self.current: Any = None
        self.ctx = mp.get_context("fork")

    def submit(self, spec: JobSpec) -> None:
        self.queue.append(spec)

    def results(self) -> Iterator[JobResult]:
        while self.queue:
            yield self._run(self.queue.pop(0))

    def _run(self, spec: JobSpec) -> JobResult:
        self.on_start(spec)
        fresh = _needs_fresh_interpreter(spec)
        ctx = mp.get_context("spawn") if fresh else self.ctx
        receive, send = ctx.Pipe(duplex=False)
        work: Work | str = self.work.module if fresh else self.work
        proc = ctx.Process(target=_child, args=(work, spec, send, os.getpid()), name=f"omibench job {spec.label}")
        proc.start()
        send.close()
        self.current = proc
        report: Callable[[int, Any], None] = self.reporter_for(spec.run_id)
        deadline = None if spec.timeout_s is None else time.monotonic() + spec.timeout_s
        watch = None if spec.stall_s is None else StallWatch(spec.stall_s)
        pid = proc.pid
        assert pid is not None  # started
        reports = 0
        result = None
        try:
            while result is None:
                if receive.poll(POLL_S):
                    try:
                        kind, payload = receive.recv()
                    except (EOFError, OSError):  # the child is gone without a result
                        break
                    if kind == "report":
                        report(*payload)
                        reports += 1
                    else:
                        result = payload
                elif not proc.is_alive():
                    if not receive.poll(0):
                        break
                if deadline is not None and result is None and time.monotonic() > deadline:
                    self._stop(proc)
                    return JobResult.failed(
                        spec, f"time-out: still running after timeout_s={spec.timeout_s:g} s; stopped", timed_out=True
                    )
                if watch is not None and result is None and watch.due() and watch.sample(tree_cpu_s(pid), reports):
                    self._stop(proc)
                    return JobResult.failed(spec, stall_message(watch.stall_s), stalled=True)
        finally:
            receive.close()
        proc.join(timeout=30)
        self._stop(proc)
        self.current = None
        if result is None:
            return JobResult.failed(
                spec,
                f"the job's process ended without a result ({describe_exit(proc.exitcode)}): "
                "the translator called sys.exit / os._exit or crashed",
                exit_signal=-proc.exitcode if proc.exitcode is not None and proc.exitcode < 0 else None,
            )
        return result

    def _stop(self, proc: Any) -> None:
        if proc.is_alive():
            proc.terminate()  # SIGTERM: the child removes its job folder
            proc.join(timeout=5)
        if proc.is_alive():
            proc.kill()
            proc.join()

    def close(self) -> None:
        if self.current is not None:
            self._stop(self.current)
            self.current = None
        self.queue.clear()
