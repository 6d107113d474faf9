"""The trial loop of one tuning worker: its own budget, its own sampler seed, no repeated points.

Several workers may share one Optuna study (``--jobs K`` in one process, or several ``omibench
tune`` processes on one storage). Three rules keep them apart:

- **A worker adds its own trials.** A worker claims a slot from its process's :class:`Budget`
  before it asks for a trial; a trial that ends failed, or as a duplicate, gives its slot back. So
  ``--trials N`` adds exactly N finished (complete or pruned) trials per ``omibench tune``, however
  many other processes write the same study at the time.
- **Each worker has its own seed.** :class:`WorkerSampler` seeds its TPE sampler from the base
  seed and the number of the worker's first trial, which the storage hands out once, atomically:
  no two workers of a study draw the same random stream. A single process on a new study gets
  trial 0 first and so the base seed itself (the same points as a plain ``TPESampler(seed)``).
  The seed is recorded on every trial as the user attribute ``sampler_seed``.
- **A point is never evaluated twice.** After the translator's search space is sampled, a trial
  whose parameters equal those of another trial of the study (complete, pruned, or still running;
  failed trials may be retried) is closed as FAIL with the user attribute ``duplicate_of`` before
  any fit, and its slot goes back: the worker samples again. After :data:`MAX_DUPLICATES` in a row
  the search space is taken as exhausted and the worker stops; after :data:`MAX_FAILURES` failed
  trials in a row (a translator that fails at every point), too.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import optuna

__all__ = [
    "MAX_DUPLICATES",
    "MAX_FAILURES",
    "Budget",
    "LocalBudget",
    "SharedBudget",
    "WorkerSampler",
    "optimize",
    "quiet_dependencies",
    "trial_counts",
    "worker_seed",
]

log = logging.getLogger(__name__)
MAX_DUPLICATES = 50  # proposals in a row that repeat a point: the search space is spent
MAX_FAILURES = 10  # failed trials in a row: the translator fails everywhere (a slot given back each time)
DUPLICATE_ATTR = "duplicate_of"
SEED_ATTR = "sampler_seed"


def quiet_dependencies() -> None:
    """Hide the dependencies' warnings that say nothing to a user of ``omibench tune`` (Optuna's
    ExperimentalWarning on the features omibench itself chose, and its INFO lines: omibench prints one
    line per trial itself). Called by every process that opens a study."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)


class Budget(Protocol):
    """Trial slots shared by the workers of one ``omibench tune`` invocation."""

    def claim(self) -> bool:
        """Take one slot; False when none is left."""
        ...

    def release(self) -> None:
        """Give a claimed slot back (its trial failed or repeated a point)."""
        ...


class LocalBudget:
    """The budget of a single worker (``--jobs 1``)."""

    def __init__(self, n: int) -> None:
        self.left = n

    def claim(self) -> bool:
        if self.left <= 0:
            return False
        self.left -= 1
        return True

    def release(self) -> None:
        self.left += 1


class SharedBudget:
    """The budget of ``--jobs K`` worker processes: a counter in shared memory (picklable to a spawned
    child as a :class:`multiprocessing.Process` argument)."""

    def __init__(self, n: int, ctx: Any) -> None:
        self.left = ctx.Value("i", n)

    def claim(self) -> bool:
        with self.left.get_lock():
            if self.left.value <= 0:
                return False
            self.left.value -= 1
            return True

    def release(self) -> None:
        with self.left.get_lock():
            self.left.value += 1


def worker_seed(base: int, first_trial: int) -> int:
    """The sampler seed of a worker whose first trial is number ``first_trial``: ``base`` itself for
    trial 0, else a 32-bit seed mixed from both (never ``base + k``, which another ``--seed`` would hit)."""
    if first_trial == 0 and 0 <= base < 2**32:
        return base
    import numpy as np

    return int(np.random.SeedSequence([base % 2**64, first_trial]).generate_state(1)[0])


def _make_sampler(seed: int) -> optuna.samplers.BaseSampler:
    import optuna

    return optuna.samplers.TPESampler(seed=seed)


class WorkerSampler:
    """A TPE sampler created at this worker's first trial, seeded by :func:`worker_seed`; every
    sampler call is passed on to it. (Duck-typed as Optuna's ``BaseSampler``.)"""

    def __init__(self, base_seed: int, make: Callable[[int], Any] = _make_sampler) -> None:
        self.base_seed = base_seed
        self.seed: int | None = None
        self._make = make
        self._inner: Any = None

    def _sampler(self, number: int) -> Any:
        if self._inner is None:
            self.seed = worker_seed(self.base_seed, number)
            self._inner = self._make(self.seed)
        return self._inner

    def before_trial(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        self._sampler(trial.number).before_trial(study, trial)

    def infer_relative_search_space(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> Any:
        return self._sampler(trial.number).infer_relative_search_space(study, trial)

    def sample_relative(self, study: optuna.Study, trial: optuna.trial.FrozenTrial, space: Any) -> Any:
        return self._sampler(trial.number).sample_relative(study, trial, space)

    def sample_independent(
        self, study: optuna.Study, trial: optuna.trial.FrozenTrial, name: str, distribution: Any
    ) -> Any:
        return self._sampler(trial.number).sample_independent(study, trial, name, distribution)

    def after_trial(
        self, study: optuna.Study, trial: optuna.trial.FrozenTrial, state: Any, values: Sequence[float] | None
    ) -> None:
        self._sampler(trial.number).after_trial(study, trial, state, values)

    def reseed_rng(self) -> None:
        if self._inner is not None:
            self._inner.reseed_rng()


def trial_counts(study: optuna.Study) -> dict[str, int]:
    """The trials of ``study`` by outcome: ``complete``, ``pruned``, ``failed``, and ``repeated``
    (closed FAIL with :data:`DUPLICATE_ATTR` before any fit: a skipped point, not a failure).
    Running and waiting trials are in none."""
    counts = {"complete": 0, "pruned": 0, "failed": 0, "repeated": 0}
    names = {"COMPLETE": "complete", "PRUNED": "pruned", "FAIL": "failed"}
    for trial in study.get_trials(deepcopy=False):
        name = names.get(trial.state.name)
        if name == "failed" and DUPLICATE_ATTR in trial.user_attrs:
            name = "repeated"
        if name is not None:
            counts[name] += 1
    return counts


class Duplicate(Exception):
    """Raised by an objective whose trial repeats the point of trial ``number``."""

    def __init__(self, number: int) -> None:
        super().__init__(f"repeats trial {number}")
        self.number = number


def check_new_point(trial: optuna.Trial) -> None:
    """Record this worker's sampler seed on ``trial``; raise :class:`Duplicate` when its (already
    sampled) parameters equal another trial's (complete, pruned or running). Call it after the
    search space is sampled and before any fit."""
    import optuna

    seed = getattr(trial.study.sampler, "seed", None)
    if seed is not None:
        trial.set_user_attr(SEED_ATTR, seed)
    live = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED, optuna.trial.TrialState.RUNNING)
    params = trial.params
    for other in trial.study.get_trials(deepcopy=False, states=live):
        if other.number != trial.number and other.params == params and DUPLICATE_ATTR not in other.user_attrs:
            raise Duplicate(other.number)


def optimize(
    study: optuna.Study,
    objective: Callable[[optuna.Trial], float],
    budget: Budget,
    timeout: float | None = None,
    catch: tuple[type[Exception], ...] = (),
    on_trial: Callable[[optuna.trial.FrozenTrial], None] | None = None,
) -> None:
    """Run trials of ``study`` while ``budget`` has slots and ``timeout`` seconds have not passed (no
    trial starts after it). As ``Study.optimize``: ``TrialPruned`` ends a trial PRUNED, an exception
    in ``catch`` FAIL (logged, and the loop goes on), any other exception (Ctrl-C included) FAIL and
    is raised. A :class:`Duplicate` ends FAIL silently with ``duplicate_of`` set. ``on_trial`` gets
    each evaluated trial once it is told."""
    import optuna

    done = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    started = time.monotonic()
    repeats = failures = 0
    while budget.claim():
        if timeout is not None and time.monotonic() - started >= timeout:
            budget.release()
            return
        trial = study.ask()
        value: float | None = None
        state = optuna.trial.TrialState.COMPLETE
        try:
            value = objective(trial)
        except optuna.TrialPruned:
            state = optuna.trial.TrialState.PRUNED
        except Duplicate as dup:
            trial.set_user_attr(DUPLICATE_ATTR, dup.number)
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            budget.release()
            repeats += 1
            if repeats >= MAX_DUPLICATES:
                log.warning("%d proposals in a row repeated tried points: the search space is spent", repeats)
                return
            continue
        except catch as exc:
            log.warning("trial %d failed: %r", trial.number, exc)
            state = optuna.trial.TrialState.FAIL
        except BaseException:
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            raise
        repeats = 0
        frozen = _tell(study, trial, value, state)
        failures = 0 if frozen.state in done else failures + 1
        if frozen.state not in done:
            budget.release()
        if on_trial is not None:
            on_trial(frozen)
        if failures >= MAX_FAILURES:
            log.warning("%d trials in a row failed: stopping this worker (see the failures above)", failures)
            return


def _tell(study: optuna.Study, trial: optuna.Trial, value: Any, state: Any) -> optuna.trial.FrozenTrial:
    """Tell the outcome; an objective value that is not a number (or NaN) makes the trial FAIL."""
    import math

    import optuna

    if state != optuna.trial.TrialState.COMPLETE:
        return study.tell(trial, state=state)
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if math.isnan(number):
        log.warning("trial %d failed: objective value %r is not a number", trial.number, value)
        return study.tell(trial, state=optuna.trial.TrialState.FAIL)
    return study.tell(trial, number)
