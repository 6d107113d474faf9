"""A new store starts as a copy of an empty migrated MLflow database (omibench/store/schema_seed.py)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from omibench.store.mlflow_store import MlflowStore
from omibench.store.schema_seed import seed_schema


def _schema(db: Path) -> tuple[list, list]:
    """Tables, indexes and the migration version. MLflow's own migrations write a table's constraints
    in varying order from one creation to the next, so each statement is compared as a set of lines."""
    with sqlite3.connect(db) as con:
        rows = con.execute("select type, name, sql from sqlite_master order by type, name").fetchall()
        version = con.execute("select version_num from alembic_version").fetchall()
    tables = [(t, n, sorted(x.strip().rstrip(",") for x in (sql or "").splitlines())) for t, n, sql in rows]
    return tables, version


def test_a_seeded_store_has_mlflows_own_schema_and_default_experiment(tmp_path, monkeypatch):
    from mlflow.tracking import MlflowClient

    monkeypatch.setenv("OMIBENCH_CACHE_DIR", str(tmp_path / "cache"))
    plain = tmp_path / "plain" / "mlflow.db"
    plain.parent.mkdir()
    MlflowClient(tracking_uri=f"sqlite:///{plain}").search_experiments(max_results=1)

    store = MlflowStore(tmp_path / "seeded")
    store.client.search_experiments(max_results=1)
    assert list((tmp_path / "cache").glob("mlflow-*-empty.db")), "the template was not cached"
    assert _schema(store.db_file) == _schema(plain)
    default = store.client.get_experiment("0")
    assert default.name == "Default"
    with sqlite3.connect(plain) as con:
        (plain_location,) = con.execute("select artifact_location from experiments where experiment_id = 0").fetchone()
    assert default.artifact_location == plain_location  # created on first open, as MLflow does

    # a second store is seeded from the cached template, and runs log into it
    other = MlflowStore(tmp_path / "other")
    run = other.client.create_run(other.client.create_experiment("e"))
    other.client.log_metric(run.info.run_id, "m", 1.5)
    assert other.client.get_run(run.info.run_id).data.metrics == {"m": 1.5}


def test_an_existing_database_is_never_replaced(tmp_path, monkeypatch):
    monkeypatch.setenv("OMIBENCH_CACHE_DIR", str(tmp_path / "cache"))
    db = tmp_path / "mlflow.db"
    db.write_bytes(b"keep me")
    assert seed_schema(db) is False
    assert db.read_bytes() == b"keep me"


def test_an_unwritable_cache_falls_back_to_mlflows_own_creation(tmp_path, monkeypatch):
    blocker = tmp_path / "cache"
    blocker.write_text("a file where the cache folder would be")
    monkeypatch.setenv("OMIBENCH_CACHE_DIR", str(blocker / "sub"))
    store = MlflowStore(tmp_path / "store")
    assert seed_schema(store.db_file) is False
    experiment = store.client.create_experiment("e")
    assert store.client.get_experiment(experiment).name == "e"
