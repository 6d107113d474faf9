"""Jobs one after another in this process, on the driver's prepared data (the default)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Iterator

from ..jobs import JobResult, JobSpec, execute_job
from . import Executor

if TYPE_CHECKING:
    from ..preparation import Prepared


class InlineExecutor(Executor):
    """Synchronous: per-epoch values are logged live through ``reporter_for(run_id)``."""

    def __init__(self, prepared: "Prepared", reporter_for: Callable[[str], Callable[[int, dict[str, float]], None]],
                 show_progress: bool = False) -> None:
        self.prepared = prepared
        self.reporter_for = reporter_for
        self.show_progress = show_progress
        self.queue: list[JobSpec] = []

    def submit(self, spec: JobSpec) -> None:
        self.queue.append(spec)

    def results(self) -> Iterator[JobResult]:
        while self.queue:
            spec = self.queue.pop(0)
            yield execute_job(spec, self.prepared, self.reporter_for(spec.run_id), self.show_progress)
