"""``omibench tune --storage postgresql://...`` against a real PostgreSQL server started here (in a
temporary folder, with the Debian ``postgresql`` server binaries): two tuning processes on one
study, as two machines would run them. Skipped where the server binaries or the driver are missing."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from .conftest import free_port, small_experiment


def _bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


@pytest.fixture
def postgres():
    """A PostgreSQL server in a temporary folder on a free port: its URL (trust authentication,
    localhost only). As root, the server runs as the ``postgres`` user (it refuses root)."""
    initdb, pg_ctl = _bin("initdb"), _bin("pg_ctl")
    if initdb is None or pg_ctl is None:
        pytest.skip("PostgreSQL server binaries not installed (Debian: apt-get install postgresql)")
    from sqlalchemy.engine import make_url

    try:  # the driver SQLAlchemy picks for postgresql:// (psycopg from SQLAlchemy 2.1, psycopg2 before)
        make_url("postgresql://").get_dialect().import_dbapi()
    except ImportError as exc:
        pytest.skip(f"no PostgreSQL driver for SQLAlchemy ({exc}; pip install 'omibench[postgres]')")
    prefix: list[str] = []
    root = Path(tempfile.mkdtemp(prefix="omibench-pg-"))
    if os.geteuid() == 0:
        runuser = shutil.which("runuser")
        try:
            import pwd

            user = pwd.getpwnam("postgres")
        except KeyError:
            user = None
        if runuser is None or user is None:
            shutil.rmtree(root, ignore_errors=True)
            pytest.skip("running as root without a postgres user to run the server as")
        os.chown(root, user.pw_uid, user.pw_gid)
        prefix = [runuser, "-u", "postgres", "--"]
    data, port = root / "data", free_port()
    try:
        subprocess.run(
            [*prefix, initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"],
            check=True,
            capture_output=True,
            timeout=120,
        )
        options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1"
        subprocess.run(
            [*prefix, pg_ctl, "-D", str(data), "-o", options, "-l", str(root / "log"), "-w", "-t", "120", "start"],
            check=True,
            capture_output=True,
            timeout=180,
        )
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run([*prefix, pg_ctl, "-D", str(data), "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


@pytest.mark.slow  # ~1 min: a database server and two tuning processes
def test_two_tuning_processes_share_one_study_in_postgresql(write_config, postgres, tmp_path):
    import optuna

    cfg = write_config(small_experiment(translators=[{"name": "ridge"}]))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "omibench.cli", "tune", str(cfg), "--translator", "ridge", "--trials", "3"]
            + ["--storage", postgres, "--store", str(tmp_path / f"store{i}"), "--seed", str(i)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for i in range(2)
    ]
    done = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], "\n".join(err for _, err in done)
    names = optuna.get_all_study_names(postgres)
    assert len(names) == 1  # one study, both processes on it
    trials = optuna.load_study(study_name=names[0], storage=postgres).trials
    assert len(trials) == 6 and all(t.state.name == "COMPLETE" for t in trials)
    assert all("best trial" in out for out, _ in done)


def test_an_unreachable_database_is_one_line():
    from sqlalchemy.engine import make_url

    from omibench.errors import ConfigError
    from omibench.run.optuna_storage import ready_rdb

    try:
        make_url("postgresql://").get_dialect().import_dbapi()
    except ImportError:
        pytest.skip("no PostgreSQL driver for SQLAlchemy")
    with pytest.raises(ConfigError, match=r"cannot open the database") as err:
        ready_rdb(f"postgresql://me:secret@127.0.0.1:{free_port()}/x")
    assert "secret" not in str(err.value) and "\n" not in str(err.value)
