"""Jobs as Ray tasks on an existing Ray cluster.

Ray is an optional extra (``pip install omibench[ray]``). Every node must see the experiment's data
files at the same paths (a shared file system), and have omibench and the plugins installed.
Artifacts come back to the driver inside the task's result. A translator that wants a GPU gets one
only where the cluster has GPUs; on a CPU-only cluster it runs on CPU (its ``Resources`` promise a
fallback), and the run's ``omibench.device`` tag says which.

Stalls: with ``stall_s`` set, each task tells one small actor (:class:`~.stall.Board`) its node and
worker pid when it starts and its report count as it goes; a :class:`~.stall.Probe` actor on each
node reads its workers' CPU time. A task with no CPU progress and no report for ``stall_s`` is
cancelled and its run FAILED ``stalled``. A task waiting in Ray's queue is not watched.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from omibench.errors import ConfigError, one_line
from omibench.run.executors import Executor
from omibench.run.executors.spec import JobResult, JobSpec, Work
from omibench.run.executors.stall import Board, Probe, StallWatch, sample_every, stall_message


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
        self.board: Any = None  # the stall watch's actor, started with the first job that has a stall_s
        self.probes: dict[str, Any] = {}  # node id -> Probe actor on that node
        self.watches: dict[str, StallWatch] = {}
        self.last_read = float("-inf")

    def submit(self, spec: JobSpec) -> None:
        gpus = spec.gpus if self.cluster_gpus > 0 else 0  # a GPU only where the cluster has one
        options = {"num_gpus": gpus, "num_cpus": 1, "max_retries": 0}
        self.on_start(spec)  # Ray does not tell the driver when a task starts: its queue time counts
        if spec.stall_s is not None and self.board is None:
            self.board = self.ray.remote(num_cpus=0)(Board).remote()
        board = self.board if spec.stall_s is not None else None
        self.refs[self.remote.options(**options).remote(spec.to_json(), board)] = (spec, 0.0)

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
                            spec,
                            f"time-out: still running after timeout_s={spec.timeout_s:g} s; stopped",
                            timed_out=True,
                        )
                yield from self._stalled()
                continue
            spec, _ = self.refs.pop(done[0])
            try:
                result = self.ray.get(done[0])
            except Exception as exc:  # a lost worker fails its job only
                result = JobResult.failed(spec, f"ray task failed: {one_line(exc)}")
            result.device = f"ray-{'gpu' if spec.gpus and self.cluster_gpus else 'cpu'}"
            yield result

    def _probe(self, node_id: str) -> Any:
        if node_id not in self.probes:
            from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

            where = NodeAffinitySchedulingStrategy(node_id, soft=False)
            self.probes[node_id] = self.ray.remote(num_cpus=0)(Probe).options(scheduling_strategy=where).remote()
        return self.probes[node_id]

    def _stalled(self) -> Iterator[JobResult]:
        """Read the board and the workers' CPU time (at most every :func:`sample_every` seconds of
        the shortest ``stall_s``), cancel each task that has stalled and yield its FAILED result.
        A board or probe that does not answer gives no verdict this round."""
        watched = [s.stall_s for s, _ in self.refs.values() if s.stall_s is not None]
        if self.board is None or not watched or time.monotonic() - self.last_read < sample_every(min(watched)):
            return
        self.last_read = time.monotonic()
        try:
            started = self.ray.get(self.board.take.remote(), timeout=10)
            running = {spec.run_id for spec, _ in self.refs.values() if spec.stall_s is not None}
            pids: dict[str, list[int]] = {}
            for run_id, (node, pid, _) in started.items():
                if run_id in running:
                    pids.setdefault(node, []).append(pid)
            nodes = list(pids)
            answers = self.ray.get([self._probe(n).cpu.remote(pids[n]) for n in nodes], timeout=10)
        except Exception:
            return
        cpu = {(node, pid): s for node, answer in zip(nodes, answers, strict=True) for pid, s in answer.items()}
        for ref, (spec, _) in list(self.refs.items()):
            if spec.stall_s is None or spec.run_id not in started:
                continue  # unwatched, or still in Ray's queue
            node, pid, reports = started[spec.run_id]
            watch = self.watches.setdefault(spec.run_id, StallWatch(spec.stall_s))
            if watch.sample(cpu.get((node, pid)), reports):
                self.ray.cancel(ref, force=True)
                del self.refs[ref]
                self.board.forget.remote(spec.run_id)
                yield JobResult.failed(spec, stall_message(spec.stall_s), stalled=True)

    def close(self) -> None:
        for ref in self.refs:
            self.ray.cancel(ref, force=True)
        self.refs.clear()
        for actor in [self.board, *self.probes.values()]:
            if actor is not None:
                self.ray.kill(actor)
        self.board, self.probes = None, {}
