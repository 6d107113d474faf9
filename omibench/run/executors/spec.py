"""What executors carry: a job's spec in, its result out (plain data, JSON- and pickle-able).

Executors know nothing else of omibench: the runner hands them the work to do (:class:`Work`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

__all__ = ["FAILED", "FINISHED", "JobResult", "JobSpec", "Reporter", "Work"]

FINISHED = "FINISHED"
FAILED = "FAILED"
Reporter = Callable[[int, Mapping[str, float]], None]


@dataclass
class JobSpec:
    run_id: str  # the run the driver logs this job's results into
    label: str  # the experiment entry (translator label)
    params: dict[str, Any]  # final translator parameters (tuned ones merged in)
    seed: int
    gpus: int  # GPUs the translator wants (0 or 1)
    out_dir: str  # where the job writes its artifacts (on the machine that runs it)
    config: dict[str, Any]  # the resolved experiment config, to rebuild the data in a worker
    plugin_dirs: list[str]
    cwd: str  # relative data paths in the config are taken from here
    dataset_hash: str
    split_hash: str
    n_jobs: int = 1
    cache_dir: str | None = None  # the driver's data cache, when this machine shares its disk
    timeout_s: float | None = None  # the translator's time limit (fit, predict and scoring)

    @property
    def stall_s(self) -> float | None:
        """The experiment's ``stall_s``: the job is stopped when it shows no CPU progress and sends
        no report this long (:mod:`omibench.run.executors.stall`); ``None``: it is not watched."""
        value = self.config.get("stall_s")
        return None if value is None else float(value)

    def to_json(self) -> str:
        return json.dumps(asdict(self), default=str)

    @classmethod
    def from_json(cls, text: str) -> JobSpec:
        return cls(**json.loads(text))


@dataclass
class JobResult:
    run_id: str
    status: str  # FINISHED | FAILED
    metrics: dict[str, float] = field(default_factory=dict)
    reports: list[tuple[int, dict[str, float]]] = field(default_factory=list)  # per-epoch values not yet logged
    error: str = ""
    traceback: str = ""
    out_dir: str = ""  # artifacts on the driver's machine, or ""
    files: dict[str, bytes] = field(default_factory=dict)  # artifacts shipped back from another machine
    device: str = ""  # where it ran (cpu, cuda, ray-cpu, ray-gpu)
    failure_kind: str = ""  # a FAILED job: out-of-memory | time-out | stalled | not-applicable | error
    note: str = ""  # what the scoring left out (e.g. classes too small for the within-type R²)

    def to_json(self) -> str:
        return json.dumps({k: v for k, v in asdict(self).items() if k != "files"})

    @classmethod
    def from_json(cls, text: str) -> JobResult:
        raw = json.loads(text)
        raw["reports"] = [(int(s), v) for s, v in raw.get("reports", [])]
        return cls(**raw)

    @classmethod
    def failed(
        cls,
        spec: JobSpec,
        error: str,
        traceback: str = "",
        *,
        exit_signal: int | None = None,
        timed_out: bool = False,
        stalled: bool = False,
    ) -> JobResult:
        from omibench.run.failures import failure_kind

        kind = failure_kind(error, exit_signal, timed_out, stalled)
        return cls(spec.run_id, FAILED, error=error, traceback=traceback, failure_kind=kind)


class Work(Protocol):
    """The job itself, as the runner hands it to an executor.

    ``here(spec, reporter)`` runs it in this process (or a fork of it) on the driver's prepared
    data; ``module`` is what a fresh process runs instead (``python -m <module> SPEC.json``, which
    rebuilds the data from the spec), and ``remote(spec_json, board)`` what a Ray task calls
    (``board``: the actor its heartbeats go to for the stall watch, or ``None``).
    """

    module: str

    def here(self, spec: JobSpec, reporter: Reporter | None) -> JobResult: ...

    def remote(self, spec_json: str, board: Any = None) -> JobResult: ...
