"""Failure kinds of a run, as Open Problems classes them: out-of-memory, time-out, not-applicable, error;
and ``stalled``: a hung job (no CPU progress and no report for ``stall_s``) that the harness stopped.

``failure_kind`` is pure: it reads the one-line error the job recorded (``"<ExceptionType>: <message>"``),
the signal that killed the worker (``None`` if it was not killed) and whether the harness's time limit
or its stall watch (:mod:`omibench.run.executors.stall`) ended it. A translator that finds at fit time
that it cannot use these data raises :class:`NotApplicable` (its preparation-time twin is
``Translator.skip_reason``).
"""

from __future__ import annotations

import re
import signal
from typing import Literal

from omibench.errors import NotApplicable

__all__ = ["FAILURE_KINDS", "FailureKind", "NotApplicable", "failure_kind", "failure_line"]

FailureKind = Literal["out-of-memory", "time-out", "stalled", "not-applicable", "error"]
FAILURE_KINDS: tuple[FailureKind, ...] = ("out-of-memory", "time-out", "stalled", "not-applicable", "error")


# MemoryError and numpy's _ArrayMemoryError ("Unable to allocate 1.6 GiB for an array"), torch's
# OutOfMemoryError / "CUDA out of memory", cuBLAS and CUDA allocation failures, C++ std::bad_alloc,
# ENOMEM from the OS.
_OOM = re.compile(
    r"MemoryError|OutOfMemoryError|out of memory|unable to allocate|CUBLAS_STATUS_ALLOC_FAILED"
    r"|cudaErrorMemoryAllocation|std::bad_alloc|cannot allocate memory|\[Errno 12\]",
    re.IGNORECASE,
)
_NOT_APPLICABLE = re.compile(r"^\s*(?:[\w.]+\.)?NotApplicable\b")


def failure_kind(error: str, exit_signal: int | None, timed_out: bool, stalled: bool = False) -> FailureKind:
    """The kind of a failed run.

    - ``timed_out`` (the harness stopped it at its limit) -> ``"time-out"``, whatever was said;
    - ``stalled`` (the harness stopped it: no CPU progress and no report for ``stall_s``) -> ``"stalled"``;
    - a memory error in ``error``, or a worker killed by SIGKILL that was not timed out (what the
      Linux OOM killer sends) -> ``"out-of-memory"``;
    - a :class:`NotApplicable` raised by the translator -> ``"not-applicable"``;
    - anything else -> ``"error"``.
    """
    if timed_out:
        return "time-out"
    if stalled:
        return "stalled"
    if _OOM.search(error or ""):
        return "out-of-memory"
    if exit_signal is not None and abs(exit_signal) == signal.SIGKILL:
        return "out-of-memory"
    if _NOT_APPLICABLE.search(error or ""):
        return "not-applicable"
    return "error"


def failure_line(error: str, kind: str) -> str:
    """What to tell people about a failed run: the first line of its ``error``, and for a
    not-applicable verdict only the translator's reason (without the exception's name)."""
    first = error.splitlines()[0] if error else ""
    if kind == "not-applicable":
        return _NOT_APPLICABLE.sub("", first, count=1).removeprefix(":").strip()
    return first
