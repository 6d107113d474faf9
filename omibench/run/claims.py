"""Claims: one machine per job when several machines write one shared store (a tracking server).

The local lock (:mod:`omibench.store.lock`) sees only the processes of its own machine. On a
shared store a job is claimed where every machine sees it, in the store itself:

1. *Look*: a FINISHED run of the job's key, or a live claim on it (below), means the job is
   someone else's: nothing is written.
2. *Claim*: create the job's run (its translator's summary run) with the key and a first
   heartbeat, wait ``settle_s`` (so that a claim made at about the same time on another machine is
   visible), and look again. Of the live claims then seen, one tagged ``won`` wins (a claimant
   that already won, whatever its start time); otherwise the one with the earliest start time
   (run id breaks a tie): every machine sees the same runs, so every machine names the same
   winner. The winner tags its claim ``won`` right after its second look, so that a claim created
   earlier but visible only later (start times are stamped by each client, and a create may
   reach the other machines late) loses to it instead of winning too. A FINISHED run of the key
   wins over any claim (not with ``force``). The loser tags its run ``superseded_by`` the winner
   and ends it KILLED without fitting anything.
3. *Heartbeat*: while it holds a claim, a thread of the owner rewrites the run's ``heartbeat`` tag
   (its Unix time) every ``timeout_s / 4`` (30 s at most).
4. *Take-over*: a RUNNING claim is live while its heartbeat keeps changing. One whose heartbeat
   has not changed for ``timeout_s`` (measured on the observer's own clock, so clocks may
   disagree) or whose heartbeat is more than ``2 * timeout_s`` old by the wall clock (a claim left
   by a machine that died long ago) is stale: the next claim wins over it, and its winner marks it
   FAILED ("taken over"; an unfinished multi-seed summary is then resumed as after a crash, its
   finished seeds kept: :meth:`Claims.move`). A machine that was only cut off from the server for
   longer than the timeout finds that its claim is no longer its own and drops its result: the
   heartbeat notes it (:meth:`Claims.lost`), and the owner reads its claim back before each write
   of a result and before closing the job (:meth:`Claims.still_mine`).

The timeout is ``$OMIBENCH_CLAIM_TIMEOUT_S`` (default 300 s), the settle wait
``$OMIBENCH_CLAIM_SETTLE_S`` (default 1 s): read and checked by :func:`claim_settings`. The
heartbeat comes from the driver, not from the fit, so a long epoch never looks dead; only a dead,
frozen or cut-off driver does.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable

from omibench.store import Run, RunStatus, Store, Tags, owner_id

__all__ = ["DEFAULT_SETTLE_S", "DEFAULT_TIMEOUT_S", "SETTLE_ENV", "TIMEOUT_ENV", "Claims", "claim_settings"]

TIMEOUT_ENV = "OMIBENCH_CLAIM_TIMEOUT_S"
SETTLE_ENV = "OMIBENCH_CLAIM_SETTLE_S"
DEFAULT_TIMEOUT_S = 300.0
DEFAULT_SETTLE_S = 1.0


def _env_seconds(name: str, default: float) -> float:
    from omibench.errors import ConfigError

    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"${name}={text!r}: not a number of seconds") from None
    if not value > 0:
        raise ConfigError(f"${name}={text!r}: must be more than 0 seconds")
    return value


def claim_settings() -> tuple[float, float]:
    """The claim timeout and settle wait in seconds, from ``$OMIBENCH_CLAIM_TIMEOUT_S`` and
    ``$OMIBENCH_CLAIM_SETTLE_S`` (defaults 300 and 1 where unset or empty); a value that is not a
    number of seconds above 0 is refused in one line (:class:`~omibench.errors.ConfigError`)."""
    return _env_seconds(TIMEOUT_ENV, DEFAULT_TIMEOUT_S), _env_seconds(SETTLE_ENV, DEFAULT_SETTLE_S)


def stamp() -> str:
    """A heartbeat value: this machine's Unix time."""
    return f"{time.time():.3f}"


class Claims:
    """The claims this process holds or watches on one experiment of a shared store.

    Use as a context manager: the heartbeat thread runs inside it. ``timeout_s`` / ``settle_s``
    default to ``$OMIBENCH_CLAIM_TIMEOUT_S`` / ``$OMIBENCH_CLAIM_SETTLE_S`` (300 s / 1 s; the API
    reads them with :func:`claim_settings` before anything is written and passes them in)."""

    def __init__(
        self,
        store: Store,
        experiment_id: str,
        force: bool = False,
        timeout_s: float | None = None,
        settle_s: float | None = None,
    ) -> None:
        self.store = store
        self.exp_id = experiment_id
        self.force = force
        self.timeout_s = timeout_s if timeout_s is not None else _env_seconds(TIMEOUT_ENV, DEFAULT_TIMEOUT_S)
        self.settle_s = settle_s if settle_s is not None else _env_seconds(SETTLE_ENV, DEFAULT_SETTLE_S)
        self.interval_s = min(max(self.timeout_s / 4, 0.05), 30.0)
        self.held: set[str] = set()  # claim runs this process owns (beaten)
        self.watched: dict[str, str] = {}  # job key -> the other machine's claim it lost to
        self._lost: set[str] = set()
        self._seen: dict[str, tuple[str, float]] = {}  # run id -> (heartbeat, when first seen: monotonic)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- the heartbeat -----------------------------------------------------------------------------
    def __enter__(self) -> Claims:
        self._thread = threading.Thread(target=self._beat_forever, name="omibench claims heartbeat", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _beat_forever(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.beat()

    def beat(self) -> None:
        """Rewrite the heartbeat of every claim held; note those another machine took over (ended,
        superseded or owned by someone else). A failed write (the server unreachable) is tried again
        on the next beat."""
        with self._lock:
            held = list(self.held)
        me = owner_id()
        for run_id in held:
            try:
                run = self.store.get_run(run_id)
                if run.status is not RunStatus.RUNNING or run.tags.superseded_by or run.tags.owner not in (None, me):
                    with self._lock:
                        self._lost.add(run_id)
                        self.held.discard(run_id)
                    continue
                self.store.set_tags(run_id, Tags(heartbeat=stamp()))
            except Exception:
                continue

    def lost(self, run_id: str) -> bool:
        """Whether another machine took over claim ``run_id`` (this process then must not record
        anything into it)."""
        with self._lock:
            return run_id in self._lost

    def still_mine(self, run_id: str) -> bool:
        """Read claim ``run_id`` back from the store now: whether it is still this process's
        (RUNNING, not superseded, owned by us). When not, it is noted as lost (:meth:`lost`) and no
        longer beaten. Unlike :meth:`lost`, which knows only what the last heartbeat saw, this is
        the store's answer at this moment: call it before writing a result or closing the job. A
        read that fails (the server unreachable) raises, as the write that follows would."""
        run = self.store.get_run(run_id)
        if run.status is RunStatus.RUNNING and run.tags.superseded_by is None and run.tags.owner in (None, owner_id()):
            return True
        with self._lock:
            self._lost.add(run_id)
            self.held.discard(run_id)
        return False

    def holding(self) -> list[str]:
        """The claim runs this process holds now (a copy: the heartbeat thread may change the set)."""
        with self._lock:
            return list(self.held)

    def release(self, run_id: str) -> None:
        """Stop beating ``run_id`` (its job is over: the run is closed, or about to be)."""
        with self._lock:
            self.held.discard(run_id)

    # --- looking -----------------------------------------------------------------------------------
    def live(self, run: Run) -> bool:
        """Whether ``run`` is a claim someone is working on: RUNNING, not superseded, and either
        ours or with a heartbeat that still changes (see the module's docstring)."""
        if run.status is not RunStatus.RUNNING or run.tags.superseded_by is not None:
            return False
        if run.run_id in self.held:
            return True
        beat = run.tags.heartbeat or str(run.start_time / 1000)
        now = time.monotonic()
        seen = self._seen.get(run.run_id)
        if seen is None or seen[0] != beat:
            self._seen[run.run_id] = seen = (beat, now)
        try:
            age = time.time() - float(beat)
        except ValueError:
            age = 0.0
        return now - seen[1] <= self.timeout_s and age <= 2 * self.timeout_s

    def look(self, key: str) -> tuple[Run | None, list[Run]]:
        """The newest FINISHED run of ``key`` (None with ``force``, where only live claims count)
        and its live claims, the winner first: those tagged ``won`` before the others, then the
        earliest (start time, run id)."""
        runs = self.store.runs_with_key(self.exp_id, key)
        finished = None if self.force else next((r for r in runs if r.status is RunStatus.FINISHED), None)
        live = sorted((r for r in runs if self.live(r)), key=lambda r: (r.tags.won is None, r.start_time, r.run_id))
        return finished, live

    # --- claiming ----------------------------------------------------------------------------------
    def claim(self, key: str, create: Callable[[str], str]) -> str | None:
        """Claim job ``key``: ``create(heartbeat)`` opens its run (with that first heartbeat tag)
        and returns its id. Returns the run id when this process won; None when the job is
        another's (finished, or claimed by a live owner: :attr:`watched` names its run)."""
        finished, live = self.look(key)
        if finished is not None or live:
            self.watched[key] = (finished or live[0]).run_id
            return None
        mine = create(stamp())
        with self._lock:
            self.held.add(mine)
        time.sleep(self.settle_s)
        finished, live = self.look(key)
        winner = finished or (live[0] if live else None)
        if winner is not None and winner.run_id != mine:
            self.release(mine)
            self.store.set_tags(mine, Tags(superseded_by=winner.run_id))
            self.store.set_status(mine, RunStatus.KILLED)
            self.watched[key] = winner.run_id
            return None
        self.store.set_tags(mine, Tags(won=stamp()))  # a claim made earlier but seen later loses to this one
        self.watched.pop(key, None)
        for run in self.store.runs_with_key(self.exp_id, key, RunStatus.RUNNING):
            if run.run_id != mine and not self.live(run):  # stale: its owner stopped beating
                owner = run.tags.owner or "another machine"
                why = f"taken over: no heartbeat from {owner} for more than {self.timeout_s:g} s"
                self.store.end_run(run.run_id, RunStatus.FAILED, error=why)
        return mine

    def move(self, mine: str, onto: Run) -> None:
        """Carry claim ``mine`` over to ``onto``, an unfinished run of the same key being resumed:
        ``onto`` is reopened (RUNNING, this process as its owner, a fresh heartbeat) and beaten from
        now on, tagged ``won`` as ``mine`` was; ``mine`` is superseded by it."""
        self.store.set_tags(onto.run_id, Tags(heartbeat=stamp(), owner=owner_id(), won=stamp()))
        self.store.set_status(onto.run_id, RunStatus.RUNNING)
        with self._lock:
            self.held.add(onto.run_id)
            self.held.discard(mine)
        self.store.set_tags(mine, Tags(superseded_by=onto.run_id))
        self.store.set_status(mine, RunStatus.KILLED)
