"""A pool of worker processes on this machine, one fresh process per job.

GPU jobs each get exactly one free GPU, set through ``CUDA_VISIBLE_DEVICES`` in the environment
the process starts with (setting it after CUDA is initialised does nothing). CPU jobs run
alongside, at most ``cpu_workers`` at a time, each limited to its share of the cores so they do
not oversubscribe them. A worker that crashes (out of memory, a signal) fails its own job only.
A worker whose process tree shows no CPU progress and that sends no per-epoch report (it touches its
spec file at each one) for ``stall_s`` is stopped, its run FAILED ``stalled`` (:mod:`.stall`).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from omibench.run.executors import Executor
from omibench.run.executors._children import die_with_parent
from omibench.run.executors.process import describe_exit
from omibench.run.executors.spec import JobResult, JobSpec, Work
from omibench.run.executors.stall import StallWatch, stall_message, tree_cpu_s
from omibench.store import layout

POLL_S = 0.2


@dataclass
class _Running:
    spec: JobSpec
    proc: subprocess.Popen[bytes]
    gpu: str | None
    log: Path
    started: float
    watch: StallWatch | None = None
    reports: int = 0  # changes of the spec file's mtime: the worker touches it at each report
    beat: int = 0  # the spec file's last mtime (ns)

    def stalled(self) -> bool:
        """Sample the worker's CPU time and reports when due; True once it has stalled."""
        if self.watch is None or not self.watch.due():
            return False
        try:
            mtime = (Path(self.spec.out_dir) / layout.JOB_SPEC).stat().st_mtime_ns
        except OSError:
            mtime = self.beat
        if mtime != self.beat:
            self.beat, self.reports = mtime, self.reports + 1
        return self.watch.sample(tree_cpu_s(self.proc.pid), self.reports)


def _worker_start() -> None:
    die_with_parent()  # the worker dies with the driver (SIGKILL too); omibench.run.jobs removes its job folder


class LocalExecutor(Executor):
    description = "local"

    def __init__(self, work: Work, gpus: int | None = None, cpu_workers: int | None = None) -> None:
        from omibench.run.gpus import gpu_count

        self.work = work
        self.gpus = gpu_count() if gpus is None else gpus
        cores = os.cpu_count() or 1
        self.cpu_workers = cpu_workers or max(1, cores // 2)
        self.threads = max(1, cores // self.cpu_workers)
        self.pending: list[JobSpec] = []
        self.running: list[_Running] = []

    def submit(self, spec: JobSpec) -> None:
        self.pending.append(spec)

    def results(self) -> Iterator[JobResult]:
        try:
            while self.pending or self.running:
                self._start_what_fits()
                for job in [j for j in self.running if j.proc.poll() is not None]:
                    self.running.remove(job)
                    yield self._collect(job)
                for job in [
                    j
                    for j in self.running
                    if j.spec.timeout_s is not None and time.monotonic() - j.started > j.spec.timeout_s
                ]:
                    self.running.remove(job)
                    self._stop(job)
                    yield JobResult.failed(
                        job.spec,
                        f"time-out: still running after timeout_s={job.spec.timeout_s:g} s; stopped",
                        timed_out=True,
                    )
                for job in [j for j in self.running if j.proc.poll() is None and j.stalled()]:
                    self.running.remove(job)
                    self._stop(job)
                    assert job.watch is not None
                    yield JobResult.failed(job.spec, stall_message(job.watch.stall_s), stalled=True)
                time.sleep(POLL_S)
        finally:
            self.close()

    def _start_what_fits(self) -> None:
        for spec in list(self.pending):
            wants_gpu = spec.gpus > 0 and self.gpus > 0
            if wants_gpu:
                busy = {j.gpu for j in self.running if j.gpu is not None}
                free = [str(g) for g in range(self.gpus) if str(g) not in busy]
                if not free:
                    continue
                gpu = free[0]
            else:
                if sum(j.gpu is None for j in self.running) >= self.cpu_workers:
                    continue
                gpu = None
            self.pending.remove(spec)
            self.running.append(self._launch(spec, gpu))

    def _launch(self, spec: JobSpec, gpu: str | None) -> _Running:
        self.on_start(spec)
        out = Path(spec.out_dir)
        out.mkdir(parents=True, exist_ok=True)
        spec.n_jobs = self.threads
        (out / layout.JOB_SPEC).write_text(spec.to_json())
        env = dict(os.environ)
        env["CUDA_VISIBLE_DEVICES"] = gpu if gpu is not None else ""  # a CPU job sees no GPU
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            env[var] = str(self.threads)
        log = out / layout.JOB_LOG
        with log.open("wb") as fh:
            proc = subprocess.Popen(
                [sys.executable, "-m", self.work.module, str(out / layout.JOB_SPEC)],
                stdout=fh,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=spec.cwd,
                preexec_fn=_worker_start,
            )
        watch = None if spec.stall_s is None else StallWatch(spec.stall_s)
        return _Running(spec, proc, gpu, log, time.monotonic(), watch)

    def _collect(self, job: _Running) -> JobResult:
        result_file = Path(job.spec.out_dir) / layout.JOB_RESULT
        if job.proc.returncode == 0 and result_file.is_file():
            return JobResult.from_json(result_file.read_text())
        tail = job.log.read_text(errors="replace")[-4000:] if job.log.is_file() else ""
        why = describe_exit(job.proc.returncode)
        code = job.proc.returncode
        return JobResult.failed(
            job.spec,
            f"worker process died ({why}): the translator called sys.exit / os._exit or crashed",
            tail,
            exit_signal=-code if code is not None and code < 0 else None,
        )

    def _stop(self, job: _Running) -> None:
        if job.proc.poll() is None:
            job.proc.terminate()  # SIGTERM: the worker removes its job folder
            try:
                job.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                job.proc.kill()
                job.proc.wait()

    def close(self) -> None:
        for job in self.running:
            self._stop(job)
        self.running.clear()
        self.pending.clear()
