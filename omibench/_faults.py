"""Named points where a test can make the driver receive a signal, to interrupt it deterministically.

``OMIBENCH_FAULT=<point>:<SIGNAL>[:<n>]`` sends SIGNAL to this process the n-th time (default: the
first) that :func:`fault_point` is reached with that name. Points: ``fit`` (a job, before its fit),
``seed_recorded`` (a seed's result is logged, its summary not yet closed), ``downstream`` (Table 3
scoring of a job). Without the variable, a fault point does nothing.
"""

from __future__ import annotations

import os
import signal

__all__ = ["fault_point"]

_SEEN: dict[str, int] = {}


def fault_point(name: str) -> None:
    spec = os.environ.get("OMIBENCH_FAULT")
    if not spec:
        return
    point, _, rest = spec.partition(":")
    if point != name:
        return
    sig_name, _, nth = rest.partition(":")
    _SEEN[name] = _SEEN.get(name, 0) + 1
    if _SEEN[name] == int(nth or 1):
        signal.raise_signal(getattr(signal, sig_name or "SIGINT"))  # delivered before this call returns
