"""Everything that talks to MLflow: runs, metrics, artifacts, and reading the leaderboard back.

Layout of the store (the default ``tracking.store: mlruns``): ``mlruns/mlflow.db`` (SQLite backend)
and ``mlruns/artifacts/<experiment>/...``. One MLflow experiment per experiment YAML; one run per
translator (level ``summary``), with child runs per seed (level ``seed``) when there are several.
All writes go through one ``Tracker`` in one process.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

if TYPE_CHECKING:
    import pandas as pd
    from mlflow.tracking import MlflowClient

__all__ = ["Tracker", "TAG", "LEVEL_SUMMARY", "LEVEL_SEED"]

TAG = "omibench."
LEVEL_SUMMARY = "summary"
LEVEL_SEED = "seed"


class Tracker:
    """A thin, explicit wrapper over ``MlflowClient`` (no global active-run state)."""

    def __init__(self, store: str | Path = "mlruns", uri: str | None = None) -> None:
        self.store = Path(store).resolve()
        self.uri = uri or f"sqlite:///{self.store / 'mlflow.db'}"
        self._client: MlflowClient | None = None

    @property
    def client(self) -> "MlflowClient":
        if self._client is None:
            from mlflow.tracking import MlflowClient

            if self.uri.startswith("sqlite:///"):
                self.store.mkdir(parents=True, exist_ok=True)
            self._client = MlflowClient(tracking_uri=self.uri)
        return self._client

    def exists(self) -> bool:
        """Whether the store already exists (reading never creates one)."""
        return not self.uri.startswith("sqlite:///") or Path(self.uri.removeprefix("sqlite:///")).is_file()

    # --- experiments and runs -----------------------------------------------------------------
    def experiment_id(self, name: str, create: bool = True) -> str | None:
        exp = self.client.get_experiment_by_name(name)
        if exp is not None:
            return exp.experiment_id
        if not create:
            return None
        location = None
        if self.uri.startswith("sqlite:///"):
            slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", name)
            location = (self.store / "artifacts" / slug).as_uri()
        return self.client.create_experiment(name, artifact_location=location)

    def find_runs(self, experiment_id: str, job_key: str, status: str) -> list[str]:
        runs = self.client.search_runs(
            [experiment_id],
            filter_string=f"tags.`{TAG}job_key` = '{job_key}' and attributes.status = '{status}'",
        )
        return [r.info.run_id for r in runs]

    def start_run(self, experiment_id: str, name: str, tags: Mapping[str, str], parent_id: str | None = None) -> str:
        tags = dict(tags)
        if parent_id:
            tags["mlflow.parentRunId"] = parent_id
        return self.client.create_run(experiment_id, run_name=name, tags=tags).info.run_id

    def seed_runs(self, run_id: str) -> list[Any]:
        """The per-seed child runs of a summary run, by seed; ``[]`` for a single-seed run."""
        parent = self.client.get_run(run_id)
        children = self.client.search_runs([parent.info.experiment_id],
                                           filter_string=f"tags.mlflow.parentRunId = '{run_id}'")
        return sorted(children, key=lambda r: int(r.data.tags.get(f"{TAG}seed", "0")))

    def end_run(self, run_id: str, status: str = "FINISHED") -> None:
        self.client.set_terminated(run_id, status=status)

    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        from mlflow.entities import Param

        items = [Param(k, str(v)[:6000]) for k, v in params.items()]
        for i in range(0, len(items), 100):
            self.client.log_batch(run_id, params=items[i : i + 100])

    def log_metrics(self, run_id: str, metrics: Mapping[str, float], step: int = 0) -> None:
        import time

        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        items = [Metric(k, float(v), now, step) for k, v in metrics.items()]
        for i in range(0, len(items), 1000):
            self.client.log_batch(run_id, metrics=items[i : i + 1000])

    def set_tags(self, run_id: str, tags: Mapping[str, str]) -> None:
        from mlflow.entities import RunTag

        self.client.log_batch(run_id, tags=[RunTag(k, str(v)) for k, v in tags.items()])

    def log_artifacts(self, run_id: str, local_dir: str | Path, artifact_path: str | None = None) -> None:
        self.client.log_artifacts(run_id, str(local_dir), artifact_path)

    # --- reading back ---------------------------------------------------------------------------
    def summary_runs(self, experiment: str) -> "pd.DataFrame":
        """Finished summary runs of an experiment, newest first, one row each.

        Columns follow ``mlflow.search_runs``: ``run_id``, ``start_time``, ``metrics.*``,
        ``params.*``, ``tags.*``.
        """
        import pandas as pd

        exp_id = self.experiment_id(experiment, create=False) if self.exists() else None
        if exp_id is None:
            return pd.DataFrame()
        runs = self.client.search_runs(
            [exp_id],
            filter_string=f"tags.`{TAG}level` = '{LEVEL_SUMMARY}' and attributes.status = 'FINISHED'",
            order_by=["attributes.start_time DESC"],
            max_results=5000,
        )
        rows = []
        for run in runs:
            row: dict[str, Any] = {"run_id": run.info.run_id, "start_time": run.info.start_time}
            row.update({f"metrics.{k}": v for k, v in run.data.metrics.items()})
            row.update({f"params.{k}": v for k, v in run.data.params.items()})
            row.update({f"tags.{k}": v for k, v in run.data.tags.items()})
            rows.append(row)
        return pd.DataFrame(rows)

    def ui_command(self) -> str:
        return f"mlflow ui --backend-store-uri {self.uri} --host 127.0.0.1 --port 5000"

    def ui_url(self, experiment_id: str) -> str:
        return f"http://127.0.0.1:5000/#/experiments/{experiment_id}/runs"
