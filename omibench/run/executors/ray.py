"""Jobs as Ray tasks on an existing Ray cluster.

Ray is an optional extra (``pip install omibench[ray]``). Every node must see the experiment's data
files at the same paths (a shared file system), and have omibench and the plugins installed.
Artifacts come back to the driver inside the task's result. A translator that wants a GPU gets one
only where the cluster has GPUs; on a CPU-only cluster it runs on CPU (its ``Resources`` promise a
fallback), and the run's ``omibench.device`` tag says which.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from omibench.errors import ConfigError, one_line
from omibench.run.executors import Executor
from omibench.run.executors.spec import JobResult, JobSpec, Work


def _check_reachable(address: str, timeout_s: float = 3.0) -> None:
    """Ray retries an unreachable head for minutes: try its port first, and refuse in one line."""
    import socket

    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(
            f"executor.address {address!r}: expected host:port of a Ray head (e.g. 10.0.0.5:6379), or auto"
        )
    try:
        socket.create_connection((host, int(port)), timeout=timeout_s).close()
    except OSError as exc:
        raise ConfigError(
            f"ray: no cluster answers at executor.address {address!r} ({exc.strerror or exc}); start one "
            "with `ray start --head` or fix executor.address"
        ) from None


class RayExecutor(Executor):
    def __init__(self, work: Work, address: str | None = None) -> None:
        try:
            import ray
        except ImportError:
            raise ConfigError("the ray executor needs Ray: pip install 'omibench[ray]'") from None
        self.ray = ray
        if not ray.is_initialized():
            if address and address != "auto":
                _check_reachable(address)
            try:
                ray.init(address=address or "auto", log_to_driver=False, configure_logging=False)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                where = f"executor.address {address!r}" if address else "no running cluster was found (address auto)"
                raise ConfigError(
                    f"ray: cannot connect: {where}; start one with `ray start --head` or fix executor.address "
                    f"({one_line(exc, with_type=False)})"
                ) from None
        self.cluster_gpus = int(ray.cluster_resources().get("GPU", 0))
        self.description = f"ray ({self.cluster_gpus} GPU(s) in the cluster)"
        self.remote = ray.remote(work.remote)
        self.refs: dict[Any, tuple[JobSpec, float]] = {}

    def submit(self, spec: JobSpec) -> None:
        gpus = spec.gpus if self.cluster_gpus > 0 else 0  # a GPU only where the cluster has one
        options = {"num_gpus": gpus, "num_cpus": 1, "max_retries": 0}
        self.on_start(spec)  # Ray does not tell the driver when a task starts: its queue time counts
        self.refs[self.remote.options(**options).remote(spec.to_json())] = (spec, 0.0)

    def results(self) -> Iterator[JobResult]:
        started = time.monotonic()
        while self.refs:
            done, _ = self.ray.wait(list(self.refs), num_returns=1, timeout=1.0)
            if not done:
                for ref, (spec, _) in list(self.refs.items()):  # queue time counts: a simple, safe bound
                    if spec.timeout_s is not None and time.monotonic() - started > spec.timeout_s:
                        self.ray.cancel(ref, force=True)
                        del self.refs[ref]
                        yield JobResult.failed(
                            spec, f"time-out: still running after timeout_s={spec.timeout_s:g} s; stopped"
                        )
                continue
            spec, _ = self.refs.pop(done[0])
            try:
                result = self.ray.get(done[0])
            except Exception as exc:  # a lost worker fails its job only
                result = JobResult.failed(spec, f"ray task failed: {one_line(exc)}")
            result.device = f"ray-{'gpu' if spec.gpus and self.cluster_gpus else 'cpu'}"
            yield result

    def close(self) -> None:
        for ref in self.refs:
            self.ray.cancel(ref, force=True)
        self.refs.clear()
