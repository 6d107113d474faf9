"""The tracking store: the only package that knows MLflow.

- :mod:`.schema`: run levels, statuses and tags (defined once) and the :class:`Run` read back;
- :mod:`.base`: the :class:`Store` interface and its named queries;
- :mod:`.mlflow_store`: MLflow (SQLite under the store folder, or a tracking server);
- :mod:`.memory`: an in-memory store with the same behaviour, for tests;
- :mod:`.lock`: one writer per (store, experiment), and safe creation of a new store.

Importing this package imports neither MLflow nor filelock (they load on first use).
"""

from __future__ import annotations

from pathlib import Path

from .base import Store, report_experiment, tune_experiment
from .errors import StoreBusy, StoreError
from .lock import ExperimentLock, owner_id
from .memory import MemoryStore
from .mlflow_store import MlflowStore
from .schema import RESULT_METRICS, TAG, Run, RunLevel, RunStatus, Tags

__all__ = [
    "ExperimentLock",
    "MemoryStore",
    "MlflowStore",
    "RESULT_METRICS",
    "Run",
    "RunLevel",
    "RunStatus",
    "Store",
    "StoreBusy",
    "StoreError",
    "TAG",
    "Tags",
    "open_store",
    "owner_id",
    "report_experiment",
    "tune_experiment",
]


def open_store(store: str | Path = "mlruns", uri: str | None = None) -> Store:
    """The store in folder ``store`` (MLflow over SQLite), or at tracking ``uri`` when given."""
    return MlflowStore(store, uri)
