"""An in-memory store with the behaviour of the MLflow one: a test double for the run loop.

Artifacts are copied into a folder of their own (``path / "artifacts"``), everything else lives in
dictionaries. Like :class:`~httpx.MockTransport`, it lets the code above it be tested without the
real backend (here: without SQLite).
"""

from __future__ import annotations

import itertools
import shutil
import tempfile
import time
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from omibench.store import layout
from omibench.store.base import Store
from omibench.store.schema import PARENT_TAG, Run, RunStatus, Tags

__all__ = ["MemoryStore"]


class MemoryStore(Store):
    """Runs in dictionaries. ``fail_on`` makes a named method raise (to simulate an interruption
    at a given write): ``{"set_status": KeyboardInterrupt}``."""

    supports_pyfunc = False  # MLflow models need MLflow: log_pyfunc raises NotImplementedError (Store's)

    def __init__(self, path: str | Path | None = None) -> None:
        # without a path: a temporary folder, removed with the store (tests make hundreds)
        self._tmp = tempfile.TemporaryDirectory(prefix="omibench-memstore-") if path is None else None
        self.path = Path(path) if path is not None else Path(self._tmp.name)  # type: ignore[union-attr]
        self.uri = f"memory://{self.path}"
        self.experiments: dict[str, str] = {}
        self.experiment_tag_values: dict[str, dict[str, str]] = {}
        self.runs: dict[str, Run] = {}
        self.history: dict[str, list[tuple[str, int, float]]] = {}
        self._ids = itertools.count(1)
        self._clock = itertools.count(int(time.time() * 1000))

    def exists(self) -> bool:
        return True

    def experiment_id(self, name: str, create: bool = True) -> str | None:
        if name not in self.experiments:
            if not create:
                return None
            self.experiments[name] = str(len(self.experiments) + 1)
        return self.experiments[name]

    def set_experiment_tags(self, experiment_id: str, tags: Mapping[str, str]) -> None:
        self.experiment_tag_values.setdefault(experiment_id, {}).update(tags)

    def experiment_tags(self, experiment_id: str) -> dict[str, str]:
        return dict(self.experiment_tag_values.get(experiment_id, {}))

    def experiment_names(self) -> list[str]:
        return list(self.experiments)

    def create_run(
        self,
        experiment_id: str,
        name: str,
        tags: Tags,
        parent_id: str | None = None,
        other_tags: Mapping[str, str] | None = None,
    ) -> str:
        run_id = f"run{next(self._ids):04d}"
        other = dict(other_tags or {})
        if parent_id:
            other[PARENT_TAG] = parent_id
        self.runs[run_id] = Run(
            run_id,
            experiment_id,
            name,
            RunStatus.RUNNING,
            next(self._clock),
            tags,
            parent_id=parent_id,
            other_tags=other,
        )
        return run_id

    def _run(self, run_id: str) -> Run:
        if run_id not in self.runs:
            raise KeyError(run_id)
        return self.runs[run_id]

    def set_status(self, run_id: str, status: RunStatus) -> None:
        self._run(run_id).status = status

    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        self._run(run_id).params.update({k: str(v) for k, v in params.items()})

    def log_metrics(self, run_id: str, metrics: Mapping[str, float], step: int = 0) -> None:
        run = self._run(run_id)
        for key, value in metrics.items():
            run.metrics[key] = float(value)
            self.history.setdefault(run_id, []).append((key, step, float(value)))

    def set_tags(self, run_id: str, tags: Tags, other_tags: Mapping[str, str] | None = None) -> None:
        run = self._run(run_id)
        run.tags = run.tags.merged(tags)
        run.other_tags.update(other_tags or {})

    def _artifact_dir(self, run_id: str) -> Path:
        self._run(run_id)
        return self.path / layout.ARTIFACTS / run_id

    def log_artifacts(self, run_id: str, local_dir: str | Path, artifact_path: str | None = None) -> None:
        dst = self._artifact_dir(run_id) / (artifact_path or "")
        shutil.copytree(local_dir, dst, dirs_exist_ok=True)

    def log_artifact(self, run_id: str, local_file: str | Path, artifact_path: str | None = None) -> None:
        dst = self._artifact_dir(run_id) / (artifact_path or "")
        dst.mkdir(parents=True, exist_ok=True)
        shutil.copy2(local_file, dst / Path(local_file).name)

    def download(self, run_id: str, artifact_path: str, dst: str | Path) -> Path:
        src = self._artifact_dir(run_id) / artifact_path
        if not src.exists():
            raise FileNotFoundError(f"run {run_id} has no artifact {artifact_path}")
        out = Path(dst) / artifact_path
        out.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, out, dirs_exist_ok=True)
        else:
            shutil.copy2(src, out)
        return out

    def get_run(self, run_id: str) -> Run:
        return replace(self._run(run_id))

    def search(
        self,
        experiment_id: str,
        where: Tags | None = None,
        status: RunStatus | None = None,
        parent_id: str | None = None,
        newest_first: bool = True,
    ) -> list[Run]:
        where = where or Tags()
        wanted = where.to_dict()
        out = [
            replace(r)
            for r in self.runs.values()
            if r.experiment_id == experiment_id
            and all(r.tags.to_dict().get(k) == v for k, v in wanted.items())
            and (status is None or r.status is status)
            and (parent_id is None or r.parent_id == parent_id)
        ]
        return sorted(out, key=lambda r: r.start_time, reverse=newest_first)

    def metric_history(self, run_id: str, key: str) -> list[tuple[int, float]]:
        return [(s, v) for k, s, v in self.history.get(run_id, []) if k == key]

    def artifact_paths(self, run_id: str, path: str | None = None) -> list[str]:
        folder = self._artifact_dir(run_id) / (path or "")
        if not folder.is_dir():
            return []
        return sorted(str(p.relative_to(self._artifact_dir(run_id))) for p in folder.iterdir())
