"""A long-running child this process owns (``omibench ui``'s MLflow server): it ends with us.

The MLflow UI is several processes (``mlflow ui``, which starts uvicorn, which starts its workers
and, in some MLflow versions, a job runner). Signalling ``mlflow ui`` alone does not reliably stop
the others, and a terminal's Ctrl-C reached them only because a terminal signals the whole
foreground group: ``kill``, a service manager or an IDE's stop button signal our process alone.
So :func:`run_owned` starts the child

- in a process group of its own (a new session), so that all of its descendants can be signalled
  at once, and so that a terminal's Ctrl-C reaches this process only, which then stops them;
- with ``PR_SET_PDEATHSIG`` (Linux): the kernel sends it SIGTERM if this process dies without
  cleaning up (SIGKILL included); ``mlflow ui`` passes SIGTERM on to its server;

and, on SIGTERM, SIGINT or SIGHUP to this process and on any return or exception, sends SIGTERM
to the whole group, waits up to ``grace_s`` for every member to go, then SIGKILLs what is left.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from omibench.run.executors._children import die_with_parent

__all__ = ["run_owned", "stop_group"]

_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


class _Stop(Exception):
    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def run_owned(command: Sequence[str], grace_s: float = 5.0) -> int:
    """Run ``command`` until it exits or this process is asked to stop; return its exit code, or 0
    when SIGTERM, SIGINT or SIGHUP stopped it. Either way no process of its group is left when this
    returns (members that ignore SIGTERM are killed after ``grace_s``). Call from the main thread."""
    parent = os.getpid()

    def in_child() -> None:
        for sig, handler in previous.items():  # as the child would inherit them without us (exec keeps SIG_IGN)
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
        die_with_parent()
        if os.getppid() != parent:  # the parent died before the kernel was asked: do not outlive it
            os._exit(1)

    proc: subprocess.Popen[bytes] | None = None
    held: list[int] = []  # a signal that came while the child was being started

    def on_signal(signum: int, frame: FrameType | None) -> None:
        if proc is None:  # not from inside Popen: the child would be started and lost
            held.append(signum)
            return
        raise _Stop(signum)

    previous = {sig: signal.getsignal(sig) for sig in _STOP_SIGNALS}
    try:
        for sig in _STOP_SIGNALS:  # before the child exists: no stop signal finds us without a handler
            signal.signal(sig, on_signal)
        proc = subprocess.Popen(list(command), start_new_session=True, preexec_fn=in_child)
        if held:
            raise _Stop(held[0])
        return proc.wait()
    except (_Stop, KeyboardInterrupt):
        _ignore_stops()  # first: a second signal must not escape from here as a traceback
        return 0
    finally:
        _ignore_stops()  # a second Ctrl-C must not cut the cleanup short
        try:
            if proc is not None:
                stop_group(proc, grace_s)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler if handler is not None else signal.SIG_DFL)


def _ignore_stops() -> None:
    """Ignore the stop signals: the group's cleanup is not cut short by a second one."""
    for sig in _STOP_SIGNALS:
        signal.signal(sig, signal.SIG_IGN)


def stop_group(proc: subprocess.Popen[bytes], grace_s: float = 5.0) -> None:
    """SIGTERM the process group that ``proc`` leads, wait up to ``grace_s`` seconds until no member
    is left (reaping ``proc``), then SIGKILL the rest and wait (up to 5 s) until they are gone."""
    group = proc.pid  # a session leader's group id is its pid
    _signal_group(group, signal.SIGTERM)
    if _wait_group(proc, grace_s):
        return
    _signal_group(group, signal.SIGKILL)
    _wait_group(proc, 5.0)  # past that: unkillable (uninterruptible I/O), nothing more can be done


def _wait_group(proc: subprocess.Popen[bytes], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        proc.poll()  # reap our own child
        if not _group_alive(proc.pid):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)


def _signal_group(group: int, sig: int) -> None:
    try:
        os.killpg(group, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _group_alive(group: int) -> bool:
    """Whether a process of ``group`` still runs. A zombie does not count: it has ended, and an
    orphan's zombie waits for a PID 1 that may never reap it (in a container)."""
    proc = Path("/proc")
    if not (proc / "self" / "stat").is_file():  # no /proc: the kernel's answer, zombies included
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # ended while we looked
            continue
        if int(fields[2]) == group and fields[0] not in ("Z", "X"):
            return True
    return False
