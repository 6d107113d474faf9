"""Stall detection: a job that shows no CPU progress and sends no per-epoch report for ``stall_s``
seconds is hung (a deadlock, a wait on a lock, a sleep), and its executor stops it.

A hang uses no CPU; a long fit does (an 800-epoch fit keeps a core busy), so a time limit is not
needed to catch a hang. What each executor measures:

- ``process`` and ``local``: the CPU time of the job's process tree (the child, its live
  descendants, and the children they have waited for), read from ``/proc`` by the driver
  (:func:`tree_cpu_s`), and the job's per-epoch reports (``FitContext.report``) as they come;
- ``ray``: the CPU time of the worker process running the task (and its tree), read by a small
  actor on the task's node (:class:`Probe`: from outside the worker, so a worker that holds the GIL
  is measured too); the task tells a :class:`Board` actor its node and pid when it starts, and its
  report count as it goes (:class:`ReportBeat`); a task still in Ray's queue is not watched;
- ``inline``: not watched (as with ``timeout_s``, a hang cannot be survived in the driver itself).

Progress is CPU time grown by more than :data:`MIN_CPU_FRACTION` of ``stall_s`` since the last
progress, or a new report. Where ``/proc`` is missing (not Linux) CPU time cannot be read and a job is
never called stalled.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = [
    "MIN_CPU_FRACTION",
    "Board",
    "Probe",
    "ReportBeat",
    "StallWatch",
    "sample_every",
    "stall_message",
    "tree_cpu_s",
]

MIN_CPU_FRACTION = 0.01  # CPU seconds per second of window that count as progress (1 %)

_PROC = Path("/proc")
try:
    _TICK = float(os.sysconf("SC_CLK_TCK"))
except (AttributeError, ValueError, OSError):  # pragma: no cover - not POSIX
    _TICK = 100.0


def sample_every(stall_s: float) -> float:
    """How often a job's CPU time is read: every second, more often for a short ``stall_s``."""
    return max(0.05, min(1.0, stall_s / 6))


def stall_message(stall_s: float) -> str:
    """The one-line error of a job stopped by the stall watch."""
    return (
        f"stalled: no CPU progress and no per-epoch report for stall_s={stall_s:g} s (a deadlock, a wait, "
        "a sleep?); stopped"
    )


def _own_and_waited_s(pid: int) -> tuple[float, float] | None:
    """(utime + stime, cutime + cstime) of ``pid`` in seconds, or None when it is gone."""
    try:
        raw = (_PROC / str(pid) / "stat").read_bytes()
    except OSError:
        return None
    fields = raw[raw.rfind(b")") + 2 :].split()  # after "pid (comm) ": field 3 (state) is index 0
    try:
        own = int(fields[11]) + int(fields[12])
        waited = int(fields[13]) + int(fields[14])
    except (IndexError, ValueError):
        return None
    return own / _TICK, waited / _TICK


def _children(pid: int) -> list[int] | None:
    """The live children of ``pid`` from ``/proc/<pid>/task/*/children``; None where the kernel
    lacks that file (then :func:`_children_by_scan` is used)."""
    out: list[int] = []
    try:
        tasks = list((_PROC / str(pid) / "task").iterdir())
    except OSError:
        return []
    for task in tasks:
        try:
            out.extend(int(c) for c in (task / "children").read_text().split())
        except FileNotFoundError:
            if not (task / "children").parent.exists():
                continue  # the thread ended meanwhile
            return None
        except (OSError, ValueError):
            continue
    return out


def _children_by_scan() -> dict[int, list[int]]:
    by_parent: dict[int, list[int]] = {}
    for entry in _PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_bytes()
            ppid = int(raw[raw.rfind(b")") + 2 :].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        by_parent.setdefault(ppid, []).append(int(entry.name))
    return by_parent


def tree_cpu_s(pid: int) -> float | None:
    """User + system CPU seconds of process ``pid``, of its live descendants and of the children
    they have waited for; None when ``pid`` is gone or ``/proc`` cannot be read (not Linux)."""
    root = _own_and_waited_s(pid)
    if root is None:
        return None
    total = root[0] + root[1]
    scan: dict[int, list[int]] | None = None
    stack = [pid]
    seen = {pid}
    while stack:
        parent = stack.pop()
        kids = _children(parent) if scan is None else scan.get(parent, [])
        if kids is None:
            scan = _children_by_scan()
            kids = scan.get(parent, [])
        for kid in kids:
            if kid in seen:
                continue
            seen.add(kid)
            times = _own_and_waited_s(kid)
            if times is not None:
                total += times[0] + times[1]
                stack.append(kid)
    return total


class StallWatch:
    """One job's watch: feed it ``sample(cpu_s, reports)`` (CPU seconds so far, reports so far);
    it answers whether the job has shown no progress for ``stall_s`` seconds.

    Progress: CPU time more than ``MIN_CPU_FRACTION * stall_s`` above its value at the last
    progress, or a changed report count. The window starts at the first sample. ``cpu_s=None``
    (CPU time cannot be read) counts as progress: what cannot be seen is never stopped."""

    def __init__(self, stall_s: float) -> None:
        if stall_s <= 0:
            raise ValueError(f"stall_s must be > 0, got {stall_s}")
        self.stall_s = stall_s
        self.threshold_s = MIN_CPU_FRACTION * stall_s
        self.since: float | None = None  # start of the current window without progress
        self.cpu_s: float | None = None
        self.reports = 0
        self.last_sample = float("-inf")

    def due(self, now: float | None = None) -> bool:
        """Whether a new sample is due (:func:`sample_every`)."""
        now = time.monotonic() if now is None else now
        return now - self.last_sample >= sample_every(self.stall_s)

    def sample(self, cpu_s: float | None, reports: int = 0, now: float | None = None) -> bool:
        """Record a reading; True when the job has shown no progress for ``stall_s`` seconds."""
        now = time.monotonic() if now is None else now
        self.last_sample = now
        if self.since is None or cpu_s is None or self.cpu_s is None:
            self.since, self.cpu_s, self.reports = now, cpu_s, reports
            return False
        if reports != self.reports or cpu_s - self.cpu_s > self.threshold_s:
            self.since, self.cpu_s, self.reports = now, cpu_s, reports
            return False
        self.cpu_s = min(self.cpu_s, cpu_s)  # a descendant that left the tree takes its time with it
        return now - self.since >= self.stall_s


class Board:
    """The Ray executor's board, run as one actor (``num_cpus=0``): each task says where it runs
    (``started``: its node and worker pid) and how many reports it has sent (``reported``); the
    driver ``take``s them all, and reads the workers' CPU time through a :class:`Probe` on each node."""

    def __init__(self) -> None:
        self.where: dict[str, tuple[str, int]] = {}
        self.reports: dict[str, int] = {}

    def started(self, run_id: str, node_id: str, pid: int) -> None:
        self.where[run_id] = (node_id, pid)

    def reported(self, run_id: str, count: int) -> None:
        self.reports[run_id] = max(count, self.reports.get(run_id, 0))

    def take(self) -> dict[str, tuple[str, int, int]]:
        """``{run_id: (node_id, pid, reports)}`` of every task that has started."""
        return {run: (node, pid, self.reports.get(run, 0)) for run, (node, pid) in self.where.items()}

    def forget(self, run_id: str) -> None:
        self.where.pop(run_id, None)
        self.reports.pop(run_id, None)


class Probe:
    """Run as an actor (``num_cpus=0``) pinned to one node: reads the CPU time of that node's worker
    processes (:func:`tree_cpu_s`) from outside them, so a worker that holds the GIL, or is stuck in
    C code, is measured all the same."""

    def cpu(self, pids: list[int]) -> dict[int, float | None]:
        return {pid: tree_cpu_s(pid) for pid in pids}


class ReportBeat:
    """A Ray task's reporter hook: counts reports and sends the count with ``send(count)`` at most
    every ``every_s`` seconds (a fast fit reports hundreds of epochs a second). A failing ``send``
    (the driver has gone) is ignored: the job goes on."""

    def __init__(self, send: Callable[[int], Any], every_s: float) -> None:
        self.send = send
        self.every_s = every_s
        self.count = 0
        self.last = float("-inf")

    def __call__(self) -> None:
        self.count += 1
        now = time.monotonic()
        if now - self.last >= self.every_s:
            self.last = now
            try:
                self.send(self.count)
            except Exception:  # no driver to tell
                pass
