"""The MLflow implementation of the store: SQLite under ``<store>/mlflow.db`` by default.

Layout: ``<store>/mlflow.db`` and ``<store>/artifacts/<experiment>/...``. This module is the only
one in omibench that imports MLflow, and :func:`filter_string` the only place that writes an MLflow
filter.
"""

from __future__ import annotations

import os
import re
import sqlite3
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from omibench.store import layout
from omibench.store.base import Store
from omibench.store.errors import StoreError
from omibench.store.schema import PARENT_TAG, TAG, Run, RunStatus, Tags
from omibench.store.schema_seed import seed_schema

if TYPE_CHECKING:
    from mlflow.entities import Run as MlflowRun
    from mlflow.tracking import MlflowClient

__all__ = ["MlflowStore", "filter_string", "quote"]

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
# MLflow prints "View run ... at" / "View experiment at" on stdout whenever a run on a server ends:
# stdout holds omibench's results only (the leaderboard and its URL)
os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")
_PAGE = 5000


def quote(value: str) -> str | None:
    """``value`` as an MLflow filter literal, or None when it cannot be written as one.

    MLflow's parser strips one pair of quotes and knows no escapes, so a value with a ``'`` is
    quoted with ``"`` and one with both (or a backslash) is left to the caller to match in Python.
    """
    if "\\" in value:
        return None
    if "'" not in value:
        return f"'{value}'"
    if '"' not in value:
        return f'"{value}"'
    return None


def filter_string(where: Tags, status: RunStatus | None = None, parent_id: str | None = None) -> str:
    """The MLflow filter for runs whose tags equal ``where``'s set fields (those whose value cannot
    be quoted are left out: :meth:`MlflowStore.search` checks every condition again in Python)."""
    parts = []
    for key, value in where.to_dict().items():
        literal = quote(value)
        if literal is not None:
            parts.append(f"tags.`{key}` = {literal}")
    if parent_id is not None and quote(parent_id):
        parts.append(f"tags.`{PARENT_TAG}` = {quote(parent_id)}")
    if status is not None:
        parts.append(f"attributes.status = '{status.value}'")
    return " and ".join(parts)


class MlflowStore(Store):
    """A thin, explicit wrapper over ``MlflowClient`` (no global active-run state)."""

    supports_pyfunc = True

    def __init__(self, store: str | Path = "mlruns", uri: str | None = None) -> None:
        self.path = Path(store).resolve()
        self.uri = uri or f"sqlite:///{self.database}"
        self._client: MlflowClient | None = None

    @property
    def database(self) -> Path:
        """The SQLite database in the store folder (what the URI points at unless one is given)."""
        return self.path / layout.DATABASE

    @property
    def artifact_root(self) -> Path:
        """A local store's artifact folder: one folder per experiment under it."""
        return self.path / layout.ARTIFACTS

    @property
    def local(self) -> bool:
        return self.uri.startswith("sqlite:///")

    @property
    def shared(self) -> bool:  # type: ignore[override]
        """Runs that other machines write too: any URI but this store folder's own ``mlflow.db``."""
        return self.uri != f"sqlite:///{self.database}"

    @property
    def server_url(self) -> str | None:
        if not self.uri.startswith(("http://", "https://")):
            return None
        return self.uri.rstrip("/")

    @property
    def db_file(self) -> Path | None:
        return Path(self.uri.removeprefix("sqlite:///")) if self.local else None

    @property
    def client(self) -> MlflowClient:
        if self._client is None:
            from mlflow.tracking import MlflowClient

            if self.local:
                from omibench.store.lock import store_lock

                self.check(write=True)
                # MLflow creates and migrates the schema on first use: two processes doing that on a
                # new store at once collide ("table already exists"), so the first use is serialised
                with store_lock(self.path):
                    assert self.db_file is not None
                    seed_schema(self.db_file)
                    client = MlflowClient(tracking_uri=self.uri)
                    client.search_experiments(max_results=1)
                self._client = client
            else:
                self._client = MlflowClient(tracking_uri=self.uri)
        return self._client

    def check(self, write: bool) -> None:
        """Fail fast, with one line, on a store that cannot work: its folder is a file, it is read
        only (SQLite would retry for minutes), or its ``mlflow.db`` is not a SQLite database."""
        if not self.local:
            return
        db = self.db_file
        assert db is not None
        for parent in [db.parent, *db.parent.parents]:
            if parent.exists():
                if not parent.is_dir():
                    raise StoreError(f"{parent}: the store path is a file, not a folder; give --store a folder")
                break
        if db.exists():
            if not db.is_file():
                raise StoreError(f"{db}: not a file; move it away or give another --store")
            try:
                with open(db, "rb") as fh:
                    head = fh.read(16)
            except OSError as exc:
                raise StoreError(f"{db}: cannot be read ({exc.strerror}); check its permissions") from None
            if head and head != b"SQLite format 3\x00":
                raise StoreError(
                    f"{db}: not an SQLite database (corrupt?); restore it from a backup or give another --store"
                )
            try:
                with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as con:
                    con.execute("select count(*) from sqlite_master").fetchone()
            except sqlite3.DatabaseError as exc:
                raise StoreError(
                    f"{db}: unreadable SQLite database ({exc}); restore it from a backup or give another --store"
                ) from None
        if write:
            self._check_writable(db)

    def _check_writable(self, db: Path) -> None:
        """Try it (a file created and removed at once, the database opened for writing): permission
        bits, read-only mounts and root all answer the same way then."""
        import tempfile

        folder = db.parent
        existing = next(p for p in [folder, *folder.parents] if p.exists())
        try:
            with tempfile.NamedTemporaryFile(dir=existing, prefix=".omibench-probe-"):
                pass
            if db.exists():
                with open(db, "r+b"):
                    pass
        except OSError as exc:
            where = db if db.exists() and existing == folder else existing
            raise StoreError(
                f"{where}: the store is not writable ({exc.strerror}); fix its permissions or give another --store"
            ) from None

    def exists(self) -> bool:
        return not self.local or bool(self.db_file and self.db_file.is_file())

    # --- primitives -----------------------------------------------------------------------------
    def experiment_id(self, name: str, create: bool = True) -> str | None:
        """Get or create: another process (another machine, on a server) may create the same
        experiment between our read and our create; its "already exists" answer means read it back."""
        from mlflow.exceptions import MlflowException

        exp = self.client.get_experiment_by_name(name)
        if exp is not None:
            return str(exp.experiment_id)
        if not create:
            return None
        location = None
        if self.local:
            slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip(".") or "experiment"
            location = (self.artifact_root / slug).as_uri()
        try:
            return str(self.client.create_experiment(name, artifact_location=location))
        except MlflowException as exc:
            if exc.error_code != "RESOURCE_ALREADY_EXISTS":
                raise
        exp = self.client.get_experiment_by_name(name)
        if exp is None:  # a name held by a deleted experiment: MLflow refuses it, and so must we
            raise StoreError(
                f"{self.uri}: experiment {name!r} exists but cannot be read (deleted?); "
                "restore it (mlflow experiments restore) or set tracking.experiment"
            )
        return str(exp.experiment_id)

    def set_experiment_tags(self, experiment_id: str, tags: Mapping[str, str]) -> None:
        for key, value in tags.items():
            self.client.set_experiment_tag(experiment_id, key, value)

    def experiment_tags(self, experiment_id: str) -> dict[str, str]:
        return dict(self.client.get_experiment(experiment_id).tags)

    def experiment_names(self) -> list[str]:
        experiments = self.client.search_experiments(order_by=["creation_time ASC"])
        return [e.name for e in experiments]

    def create_run(
        self,
        experiment_id: str,
        name: str,
        tags: Tags,
        parent_id: str | None = None,
        other_tags: Mapping[str, str] | None = None,
    ) -> str:
        all_tags = {**(other_tags or {}), **tags.to_dict()}
        if parent_id:
            all_tags[PARENT_TAG] = parent_id
        return str(self.client.create_run(experiment_id, run_name=name, tags=all_tags).info.run_id)

    def set_status(self, run_id: str, status: RunStatus) -> None:
        if status is RunStatus.RUNNING:
            self.client.update_run(run_id, status=status.value)
        else:
            self.client.set_terminated(run_id, status=status.value)

    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        from mlflow.entities import Param

        items = [Param(k, str(v)[:6000]) for k, v in params.items()]
        for i in range(0, len(items), 100):
            self.client.log_batch(run_id, params=items[i : i + 100])

    def log_metrics(self, run_id: str, metrics: Mapping[str, float], step: int = 0) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        items = [Metric(k, float(v), now, step) for k, v in metrics.items()]
        for i in range(0, len(items), 1000):
            self.client.log_batch(run_id, metrics=items[i : i + 1000])

    def set_tags(self, run_id: str, tags: Tags, other_tags: Mapping[str, str] | None = None) -> None:
        from mlflow.entities import RunTag

        items = {**(other_tags or {}), **tags.to_dict()}
        if items:
            self.client.log_batch(run_id, tags=[RunTag(k, str(v)) for k, v in items.items()])

    def log_batch(self, run_id: str, metrics: Mapping[str, float], params: Mapping[str, Any], tags: Tags) -> None:
        from mlflow.entities import Metric, Param, RunTag

        now = int(time.time() * 1000)
        m = [Metric(k, float(v), now, 0) for k, v in metrics.items()]
        p = [Param(k, str(v)[:6000]) for k, v in params.items()]
        t = [RunTag(k, str(v)) for k, v in tags.to_dict().items()]
        if len(m) <= 1000 and len(p) <= 100 and len(m) + len(p) + len(t) <= 1000:  # MLflow's batch limits
            self.client.log_batch(run_id, metrics=m, params=p, tags=t)
        else:
            super().log_batch(run_id, metrics, params, tags)

    def log_artifacts(self, run_id: str, local_dir: str | Path, artifact_path: str | None = None) -> None:
        self.client.log_artifacts(run_id, str(local_dir), artifact_path)

    def log_artifact(self, run_id: str, local_file: str | Path, artifact_path: str | None = None) -> None:
        self.client.log_artifact(run_id, str(local_file), artifact_path)

    def download(self, run_id: str, artifact_path: str, dst: str | Path) -> Path:
        Path(dst).mkdir(parents=True, exist_ok=True)
        try:
            return Path(self.client.download_artifacts(run_id, artifact_path, str(dst)))
        except Exception as exc:  # MLflow raises its own types (and OSError) for a missing artifact
            raise FileNotFoundError(f"run {run_id} has no artifact {artifact_path}: {exc}") from None

    def get_run(self, run_id: str) -> Run:
        from mlflow.exceptions import MlflowException

        try:
            return _convert(self.client.get_run(run_id))
        except MlflowException:
            raise KeyError(run_id) from None

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
        runs: list[Run] = []
        token = None
        while True:
            page = self.client.search_runs(
                [experiment_id],
                filter_string=filter_string(where, status, parent_id),
                order_by=[f"attributes.start_time {'DESC' if newest_first else 'ASC'}"],
                max_results=_PAGE,
                page_token=token,
            )
            for raw in page:
                run = _convert(raw)
                tags = {**run.tags.to_dict(), **run.other_tags}
                if (
                    all(tags.get(k) == v for k, v in wanted.items())
                    and (parent_id is None or run.parent_id == parent_id)
                    and (status is None or run.status is status)
                ):
                    runs.append(run)
            token = page.token
            if not token:
                return runs

    def log_pyfunc(
        self, run_id: str, model_dir: Path, requirements: list[str], example: tuple[Any, Any] | None = None
    ) -> str:
        """Log a run's model folder as an MLflow pyfunc model (see :mod:`.pyfunc`), with a signature
        and input example when ``example`` (input, output) is given; its model URI."""
        from omibench.store.pyfunc import log_pyfunc

        return log_pyfunc(self.uri, run_id, model_dir, requirements, example)

    def metric_history(self, run_id: str, key: str) -> list[tuple[int, float]]:
        return [(m.step, m.value) for m in self.client.get_metric_history(run_id, key)]

    def artifact_paths(self, run_id: str, path: str | None = None) -> list[str]:
        return [f.path for f in self.client.list_artifacts(run_id, path)]


def _convert(raw: MlflowRun) -> Run:
    tags = dict(raw.data.tags)
    return Run(
        run_id=raw.info.run_id,
        experiment_id=str(raw.info.experiment_id),
        name=raw.info.run_name or "",
        status=RunStatus(raw.info.status),
        start_time=int(raw.info.start_time or 0),
        tags=Tags.from_dict(tags),
        params=dict(raw.data.params),
        metrics=dict(raw.data.metrics),
        parent_id=tags.get(PARENT_TAG),
        other_tags={k: v for k, v in tags.items() if not k.startswith(TAG)},
    )
