"""Named points where a test can make the driver receive a signal, to interrupt it deterministically.

``OMIBENCH_FAULT=<point>:<SIGNAL>[:<n>]`` sends SIGNAL to this process the n-th time (default: the
first) that :func:`fault_point` is reached with that name. Points: ``fit`` (a job, before its fit),
``seed_recorded`` (a seed's result is logged, its summary not yet closed), ``downstream`` (Table 3
scoring of a job). Without the variable, a fault point does nothing.
"""

from __future__ import annotations

import os
import signal
import tempfile
import time
from pathlib import Path

__all__ = ["fault_point"]

_SEEN: dict[str, int] = {}
DRIVER_PID: int | None = None  # set in a job's child process: the signal goes to the driver


def _count(name: str) -> int:
    """How often ``name`` was reached in this driver, its job children included (they are forks:
    their counts go through a file named after the driver)."""
    if DRIVER_PID is None:
        _SEEN[name] = _SEEN.get(name, 0) + 1
        return _SEEN[name]
    path = Path(tempfile.gettempdir()) / f"omibench-fault-{DRIVER_PID}-{name}"
    seen = int(path.read_text()) + 1 if path.is_file() else 1
    path.write_text(str(seen))
    return seen


def fault_point(name: str) -> None:
    spec = os.environ.get("OMIBENCH_FAULT")
    if not spec:
        return
    point, _, rest = spec.partition(":")
    if point != name:
        return
    sig_name, _, nth = rest.partition(":")
    if _count(name) == int(nth or 1):
        sig = getattr(signal, sig_name or "SIGINT")
        if DRIVER_PID is not None and DRIVER_PID != os.getpid():
            os.kill(DRIVER_PID, sig)
            time.sleep(60)  # the driver stops this child
        else:
            signal.raise_signal(sig)  # delivered before this call returns
