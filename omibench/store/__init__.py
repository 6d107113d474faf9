"""The tracking store: the only package that knows MLflow.

- :mod:`.schema`: run levels, statuses and tags (defined once) and the :class:`Run` read back;
- :mod:`.layout`: the artifact paths of a run and the folders of a store (defined once);
- :mod:`.base`: the :class:`Store` interface and its named queries;
- :mod:`.mlflow_store`: MLflow (SQLite under the store folder, or a tracking server);
- :mod:`.memory`: an in-memory store with the same behaviour, for tests;
- :mod:`.lock`: one writer per (store, experiment), and safe creation of a new store.

Importing this package imports neither MLflow nor filelock (they load on first use).
"""

from __future__ import annotations

from pathlib import Path

from omibench.store.base import Store, report_experiment, tune_experiment
from omibench.store.errors import StoreBusy, StoreError
from omibench.store.lock import ExperimentLock, owner_id
from omibench.store.memory import MemoryStore
from omibench.store.mlflow_store import MlflowStore
from omibench.store.schema import TAG, Run, RunLevel, RunStatus, Tags, control_tag

__all__ = [
    "ExperimentLock",
    "MemoryStore",
    "MlflowStore",
    "Run",
    "RunLevel",
    "RunStatus",
    "Store",
    "StoreBusy",
    "StoreError",
    "TAG",
    "Tags",
    "control_tag",
    "open_store",
    "owner_id",
    "report_experiment",
    "tune_experiment",
]


def open_store(store: str | Path = "mlruns", uri: str | None = None) -> Store:
    """The store in folder ``store`` (MLflow over SQLite), or at tracking ``uri`` when given."""
    return MlflowStore(store, uri)
