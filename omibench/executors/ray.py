"""Jobs as Ray tasks on an existing Ray cluster, each requesting the GPUs its translator declares.

Ray is an optional extra (``pip install omibench[ray]``). Every node must see the experiment's data
files at the same paths (a shared file system), and have omibench and the plugins installed.
Artifacts come back to the driver inside the task's result.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, Iterator

from .._errors import ConfigError
from ..jobs import JobResult, JobSpec
from . import Executor


def _run_remote(spec_json: str) -> JobResult:
    """Runs on a Ray worker: execute in a scratch directory and ship the artifacts back."""
    from ..jobs import run_spec

    spec = JobSpec.from_json(spec_json)
    with tempfile.TemporaryDirectory() as tmp:
        spec.out_dir = tmp
        result = run_spec(spec)
        if result.status == "FINISHED":
            root = Path(tmp)
            result.files = {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}
        result.out_dir = ""
    return result


class RayExecutor(Executor):
    def __init__(self, address: str | None = None) -> None:
        try:
            import ray
        except ImportError:
            raise ConfigError("the ray executor needs Ray: pip install 'omibench[ray]'") from None
        self.ray = ray
        if not ray.is_initialized():
            ray.init(address=address or "auto", log_to_driver=False, configure_logging=False)
        self.remote = ray.remote(_run_remote)
        self.refs: dict[Any, JobSpec] = {}

    def submit(self, spec: JobSpec) -> None:
        options = {"num_gpus": spec.gpus, "num_cpus": 1, "max_retries": 0}
        self.refs[self.remote.options(**options).remote(spec.to_json())] = spec

    def results(self) -> Iterator[JobResult]:
        while self.refs:
            done, _ = self.ray.wait(list(self.refs), num_returns=1)
            spec = self.refs.pop(done[0])
            try:
                yield self.ray.get(done[0])
            except Exception as exc:  # noqa: BLE001 - a lost worker fails its job only
                yield JobResult(spec.run_id, "FAILED", error=f"ray task failed: {type(exc).__name__}: {exc}".splitlines()[0])

    def close(self) -> None:
        for ref in self.refs:
            self.ray.cancel(ref, force=True)
        self.refs.clear()
