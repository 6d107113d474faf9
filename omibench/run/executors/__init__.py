"""Where jobs run: ``process`` (forked workers of the driver, one job at a time: the default), ``inline``
(this process, for debugging), ``local`` (fresh worker processes with GPU slots), ``ray``.

Every executor takes :class:`JobSpec` objects and yields :class:`JobResult` objects as jobs come
back; what a job does is the :class:`Work` the runner hands over, the same for every executor.
Only the driver writes the store. A job that crashes, hangs past its ``timeout_s``, stalls (no CPU
progress and no report for ``stall_s``: :mod:`.stall`), calls ``sys.exit`` or ``os._exit`` fails
alone (``inline`` cannot survive ``os._exit`` or a hang, and is not watched for stalls).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from omibench.errors import ConfigError
from omibench.run.executors.spec import FAILED, FINISHED, JobResult, JobSpec, Reporter, Work

__all__ = ["EXECUTORS", "Executor", "FAILED", "FINISHED", "JobResult", "JobSpec", "Reporter", "Work", "make_executor"]

EXECUTORS = ("process", "inline", "local", "ray")
ReporterFor = Callable[[str], Reporter]


def _nothing(spec: JobSpec) -> None:
    return None


class Executor:
    """Submit every job, then iterate ``results()`` until each has come back exactly once.

    ``on_start(spec)`` is called in the driver as a job starts: just before (a Ray task: when it is
    submitted, Ray does not tell when it starts), or, with ``process``, once the driver has recorded
    the job before it (the job may already run: :attr:`record_while_next_runs`). The runner opens
    the job's run there and sets ``spec.run_id``; the job's folder (``out_dir``) is set at submission."""

    #: recorded on the runs (e.g. whether Ray offered GPUs)
    description: str = ""
    #: whether the next job may start before the driver has recorded the last one (``process``): the
    #: runner turns it off where recording is heavy (Table 3 trains its classifier in the driver),
    #: so that it never shares the cores with a job's fit
    record_while_next_runs: bool = False
    on_start: Callable[[JobSpec], None] = staticmethod(_nothing)

    def submit(self, spec: JobSpec) -> None:
        raise NotImplementedError

    def results(self) -> Iterator[JobResult]:
        raise NotImplementedError

    def close(self) -> None:
        """Stop whatever still runs (called on interruption too)."""


def make_executor(kind: str, work: Work, reporter_for: ReporterFor, **options: Any) -> Executor:
    """Build the executor named ``kind`` with its YAML / CLI options (``gpus``, ``cpu_workers``,
    ``address``); ``reporter_for(run_id)`` receives per-epoch values live where the executor can."""
    if kind == "process":
        from omibench.run.executors.process import ProcessExecutor

        return ProcessExecutor(work, reporter_for)
    if kind == "inline":
        from omibench.run.executors.inline import InlineExecutor

        return InlineExecutor(work, reporter_for)
    if kind == "local":
        from omibench.run.executors.local import LocalExecutor

        return LocalExecutor(work, gpus=options.get("gpus"), cpu_workers=options.get("cpu_workers"))
    if kind == "ray":
        from omibench.run.executors.ray import RayExecutor

        return RayExecutor(work, address=options.get("address"))
    raise ConfigError(f"executor {kind!r} is not one of {', '.join(EXECUTORS)}")
