"""Jobs one after another in this process, on the driver's prepared data: for debugging (a
debugger or profiler sees the translator). A translator's exception, ``sys.exit`` or
``KeyboardInterrupt`` fail its job alone; ``os._exit`` or a hang cannot be survived here (use the
default ``process`` executor)."""

from __future__ import annotations

from collections.abc import Iterator

from omibench.run.executors import Executor, ReporterFor
from omibench.run.executors.spec import JobResult, JobSpec, Work


class InlineExecutor(Executor):
    """Synchronous: per-epoch values are logged live through ``reporter_for(run_id)``."""

    description = "inline"

    def __init__(self, work: Work, reporter_for: ReporterFor) -> None:
        self.work = work
        self.reporter_for = reporter_for
        self.queue: list[JobSpec] = []

    def submit(self, spec: JobSpec) -> None:
        self.queue.append(spec)

    def results(self) -> Iterator[JobResult]:
        while self.queue:
            spec = self.queue.pop(0)
            self.on_start(spec)
            yield self.work.here(spec, self.reporter_for(spec.run_id))
