"""The child side of the ``process`` executor: a worker that runs the jobs the driver sends it.

Protocol, over two one-way pipes: the driver sends a :class:`JobSpec` (or ``None``: stop); the
worker answers with any number of ``("report", (step, values))`` and then one
``("result", JobResult, retire)``. ``retire`` True: the worker exits after this answer, and the
driver forks a fresh one for the next job.

A forked worker runs the consecutive jobs of one translator (its outer splits and seeds): a fork of
the driver costs more than scoring a fast translator's split. A job in a reused worker is seeded
and thread-limited by the fit itself (:mod:`omibench.run.fitting`), as in a fresh fork. What a job
leaves behind could still reach the next one, so the worker retires after any job that left it
holding more than :data:`RETIRE_GROWTH_BYTES` of anonymous memory beyond its start: the first split's pictures (they
import matplotlib), a translator that imports torch inside ``fit`` (its next job would otherwise
find torch seeded and thread-limited where the first did not), a large split's parts. Each job's
peak memory therefore starts from nearly the base a fresh fork has. Translators must not modify
their input arrays (the conformance check says so): in a reused worker the next job would see it.
A spawned worker (a fresh interpreter, for torch translators) runs one job.
"""

from __future__ import annotations

import ctypes
import importlib
import os
import shutil
import signal
import sys
import traceback
from multiprocessing.connection import Connection
from pathlib import Path
from types import FrameType
from typing import Any

from omibench.run.executors._children import die_with_parent
from omibench.run.executors.spec import JobResult, JobSpec, Work

__all__ = ["RETIRE_GROWTH_BYTES", "serve"]

#: a forked worker whose anonymous resident memory grew by more than this since it started is
#: replaced, so that no job starts beside much of another's leftovers (a ridge worker on the
#: embedded default: 9 MiB after its first job, steady after; the first split's pictures: 39 MiB;
#: importing torch: hundreds). Allocator pools and BLAS buffers vary by machine: room is left.
RETIRE_GROWTH_BYTES = 32 * 2**20

_current_folder: str = ""


def _remove_current_and_exit(signum: int, frame: FrameType | None) -> None:
    """SIGTERM (the driver stopped the job or died) or SIGINT (Ctrl-C): remove the job's folder, exit."""
    if _current_folder:
        shutil.rmtree(_current_folder, ignore_errors=True)
    os._exit(128 + signum)


def _anonymous_bytes() -> int:
    """Resident anonymous memory (heap, arrays): what a job can leave behind. Pages of shared
    libraries and memory-mapped data a job touches count in RSS too, but are the same pages in every
    process (about 35 MiB for a ridge fit in a fresh fork)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _give_back_freed_memory() -> None:
    """glibc keeps freed heap pages; hand them back so the next job starts small (no-op elsewhere)."""
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _single_threaded_torch() -> None:
    """In a forked worker, a translator that uses torch without asking for a GPU still must not
    enter the driver's inherited OpenMP pool: one thread cannot deadlock on it."""
    if "torch" in sys.modules:
        from omibench.run.threads import pin_openmp_single

        pin_openmp_single()


def _shutdown_pools() -> None:
    """A worker ends with ``os._exit`` (multiprocessing's way): stop joblib's worker pool first, or
    its resource tracker reports leaked semaphores and memmaps at the driver's exit."""
    loky = sys.modules.get("joblib.externals.loky.reusable_executor")
    executor = getattr(loky, "_executor", None) if loky is not None else None
    if executor is not None:
        try:
            executor.shutdown(wait=True)
        except Exception:  # cleanup only: the job's result is already sent
            pass


def _run_one(work: Work | str, spec: JobSpec, out: Connection) -> JobResult:
    def report(step: int, values: Any) -> None:
        out.send(("report", (step, dict(values))))

    try:
        if isinstance(work, str):  # a spawned worker: rebuild the data from the spec
            return importlib.import_module(work).run_spec(spec, report)
        return work.here(spec, report)
    except BaseException as exc:  # the work catches a translator's errors; this is the last net
        return JobResult.failed(spec, f"{type(exc).__name__}: {exc}", "".join(traceback.format_exception(exc)))


def serve(
    work: Work | str, jobs: Connection, out: Connection, driver: int, drivers_ends: tuple[Connection, ...] = ()
) -> None:
    """The worker's main loop (the target of the child process). ``drivers_ends``: the driver's
    ends of the two pipes, inherited by a fork and closed here at once, so that the worker reads
    EOF when the driver closes its end (or dies) even where ``PR_SET_PDEATHSIG`` does not exist."""
    global _current_folder
    for end in drivers_ends:
        end.close()
    die_with_parent()
    if os.getppid() != driver:  # the driver died before the line above took effect
        os._exit(1)
    signal.signal(signal.SIGTERM, _remove_current_and_exit)
    signal.signal(signal.SIGINT, _remove_current_and_exit)
    from omibench.run import faults as _faults

    _faults.DRIVER_PID = driver  # a test's fault point signals the driver, not this worker
    if not isinstance(work, str):
        _single_threaded_torch()
    start = _anonymous_bytes()
    while True:
        try:
            spec = jobs.recv()
        except (EOFError, OSError):  # the driver closed its end
            break
        if spec is None:
            break
        _current_folder = spec.out_dir
        result = _run_one(work, spec, out)
        _current_folder = ""
        _give_back_freed_memory()
        retire = isinstance(work, str) or _anonymous_bytes() - start > RETIRE_GROWTH_BYTES
        out.send(("result", result, retire))
        if retire:
            break
    out.close()
    _shutdown_pools()
