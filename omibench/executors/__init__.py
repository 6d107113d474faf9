"""Where jobs run: ``inline`` (this process), ``local`` (worker processes with GPU slots), ``ray``.

Every executor takes :class:`~omibench.jobs.JobSpec` objects and yields
:class:`~omibench.jobs.JobResult` objects as jobs finish; only the driver writes MLflow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Iterator

from .._errors import ConfigError

if TYPE_CHECKING:
    from ..jobs import JobResult, JobSpec
    from ..preparation import Prepared

__all__ = ["Executor", "make_executor", "EXECUTORS"]

EXECUTORS = ("inline", "local", "ray")


class Executor:
    """Submit every job, then iterate ``results()`` until each has come back exactly once."""

    def submit(self, spec: "JobSpec") -> None:
        raise NotImplementedError

    def results(self) -> Iterator["JobResult"]:
        raise NotImplementedError

    def close(self) -> None:
        """Stop whatever still runs (called on interruption too)."""


def make_executor(kind: str, prepared: "Prepared", reporter_for: Callable[[str], Callable[[int, dict[str, float]], None]],
                  show_progress: bool = False, **options: Any) -> Executor:
    """Build the executor named ``kind`` with its YAML / CLI options."""
    if kind == "inline":
        from .inline import InlineExecutor

        return InlineExecutor(prepared, reporter_for, show_progress)
    if kind == "local":
        from .local import LocalExecutor

        return LocalExecutor(gpus=options.get("gpus"), cpu_workers=options.get("cpu_workers"))
    if kind == "ray":
        from .ray import RayExecutor

        return RayExecutor(address=options.get("address"))
    raise ConfigError(f"executor {kind!r} is not one of {', '.join(EXECUTORS)}")
