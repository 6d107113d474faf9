"""Start a new SQLite store from a copy of an empty, migrated MLflow database.

MLflow builds a new database by replaying its whole migration history (about 1.5 s of CPU, more
under load): every fresh store paid that, and the test suite, which makes a fresh store per test,
paid it some hundred times. The replay's result depends only on MLflow's version, so it is done once
per version into a cache file (``$XDG_CACHE_HOME/omibench/``, or ``OMIBENCH_CACHE_DIR``) and each new
store starts as a copy of it. The copy has no default experiment (experiment 0): MLflow creates it on
first open, with this store's own artifact location, exactly as for a database it migrated itself.

Anything unusual (no writable cache, a copy that fails) falls back to MLflow's own creation: the
seed is a speed-up, never a requirement.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
from pathlib import Path

from omibench.store.layout import DATABASE

__all__ = ["seed_schema"]


def _cache_dir() -> Path:
    if os.environ.get("OMIBENCH_CACHE_DIR"):
        return Path(os.environ["OMIBENCH_CACHE_DIR"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "omibench"


def _template() -> Path:
    """The empty migrated database for the installed MLflow, built on first use."""
    import mlflow

    path = _cache_dir() / f"mlflow-{mlflow.__version__}-empty.db"
    if path.is_file():
        return path
    from mlflow.tracking import MlflowClient

    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=path.parent) as tmp:
        db = Path(tmp) / DATABASE
        MlflowClient(tracking_uri=f"sqlite:///{db}").search_experiments(max_results=1)
        with sqlite3.connect(db) as con:
            con.execute("delete from experiments where experiment_id = 0")
        os.replace(db, path)  # atomic: a concurrent builder's copy is equal, the last one wins
    return path


def seed_schema(db: Path) -> bool:
    """Write the empty migrated database to ``db`` if no file is there; True if it did.

    Call it with the store's schema lock held (two processes must not both seed one store).
    """
    if db.exists():
        return False
    try:
        template = _template()
        db.parent.mkdir(parents=True, exist_ok=True)
        part = db.with_name(db.name + ".seeding")
        shutil.copyfile(template, part)
        os.replace(part, db)
    except (OSError, sqlite3.Error):
        return False
    return True
