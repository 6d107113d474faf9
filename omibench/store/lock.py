"""File locks on a store: one driver per (store, experiment), and one schema creation per store.

The locks are ``flock`` locks (``filelock``): the kernel releases them when their process dies,
SIGKILL included, so a lock is never left behind by a dead owner. A driver that holds its
experiment's lock is therefore the only live writer of that experiment, and every run it finds
RUNNING was left so by a dead process (stale): no heartbeat is needed to tell stale from live.
The owner (host, pid, start time, command) is written beside the lock, for the refusal message.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from omibench.store import layout
from omibench.store.errors import StoreBusy, StoreError

if TYPE_CHECKING:
    from filelock import FileLock

__all__ = ["ExperimentLock", "owner_id", "store_lock"]

_STARTED = time.time()


def owner_id() -> str:
    """``host:pid:start`` of this process (start as a Unix time), as recorded on the runs it opens."""
    return f"{socket.gethostname()}:{os.getpid()}:{int(_STARTED)}"


def _lock(path: Path, timeout: float) -> FileLock:
    from filelock import FileLock

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(
            f"{path.parent}: cannot create the store's lock folder ({exc.strerror}); check --store"
        ) from None
    return FileLock(str(path), timeout=timeout)


@contextmanager
def store_lock(store: Path, timeout: float = 120) -> Iterator[None]:
    """Serialise work that must not run twice at once on one store (creating its database)."""
    with _lock(store / layout.STORE_LOCK, timeout):
        yield


class ExperimentLock:
    """Held by the process that writes one experiment of one store for as long as it writes.

    A second process waits up to ``wait_s`` seconds, then raises :class:`StoreBusy` naming the
    owner.
    """

    def __init__(self, store: Path, experiment: str, command: str = "omibench", wait_s: float = 0.0) -> None:
        slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", experiment)[:60].strip(".") or "experiment"
        digest = hashlib.sha256(experiment.encode()).hexdigest()[:8]
        self.file = store / layout.LOCKS / f"{slug}-{digest}.lock"
        self.owner_file = self.file.with_suffix(".owner")
        self.experiment = experiment
        self.store = store
        self.command = command
        self.wait_s = wait_s
        self._lock: FileLock | None = None

    def owner(self) -> dict[str, object]:
        try:
            return dict(json.loads(self.owner_file.read_text()))
        except (OSError, ValueError):
            return {}

    def acquire(self) -> ExperimentLock:
        from filelock import Timeout

        lock = _lock(self.file, max(self.wait_s, 0.0))
        try:
            lock.acquire(poll_interval=0.2)
        except Timeout:
            who = self.owner()
            since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(str(who.get("start", 0)) or 0)))
            raise StoreBusy(
                f"{self.store}: experiment {self.experiment!r} is being written by "
                f"{who.get('command', 'another omibench process')} (pid {who.get('pid', '?')} "
                f"on {who.get('host', '?')}, since {since}); wait for it to end, or rerun with --wait SECONDS"
            ) from None
        self._lock = lock
        self.owner_file.write_text(
            json.dumps(
                {"host": socket.gethostname(), "pid": os.getpid(), "start": time.time(), "command": self.command}
            )
        )
        return self

    def release(self) -> None:
        if self._lock is not None:
            try:
                self.owner_file.unlink()
            except OSError:
                pass
            self._lock.release()
            self._lock = None

    def __enter__(self) -> ExperimentLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
