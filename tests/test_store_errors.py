"""Store and option mistakes: one line, exit 2, within seconds, nothing written."""

import os
import sqlite3
import time

import pytest
from click.testing import CliRunner

from omibench.cli import cli

from .conftest import small_experiment


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def one_line_error(result, *fragments):
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert lines[-1].startswith(("error: ", "Error: ")), lines[-1]
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in lines[-1], lines[-1]


def test_store_path_is_a_file(write_config, tmp_path):
    store = tmp_path / "store"
    store.write_text("not a folder")
    result = invoke("run", write_config(small_experiment()), "--store", store)
    one_line_error(result, str(store), "is a file")
    assert store.read_text() == "not a folder"


def test_corrupt_database_is_refused_before_mlflow_touches_it(write_config, tmp_path):
    store = tmp_path / "store"
    store.mkdir()
    (store / "mlflow.db").write_bytes(b"this is not sqlite" * 100)
    started = time.monotonic()
    for args in (
        ("run", write_config(small_experiment()), "--store", store),
        ("leaderboard", "t", "--store", store),
        ("report", "t", "--store", store, "--out", tmp_path / "r"),
    ):
        one_line_error(invoke(*args), "mlflow.db", "SQLite")
    assert time.monotonic() - started < 30
    assert (store / "mlflow.db").read_bytes() == b"this is not sqlite" * 100
    assert sorted(p.name for p in store.iterdir()) == ["mlflow.db"]


def test_truncated_database_is_refused(write_config, tmp_path):
    store = tmp_path / "store"
    assert (
        invoke(
            "run", write_config(small_experiment(translators=[{"name": "linear_regression"}])), "--store", store
        ).exit_code
        == 0
    )
    data = (store / "mlflow.db").read_bytes()
    (store / "mlflow.db").write_bytes(data[: len(data) // 3])
    one_line_error(invoke("leaderboard", "t", "--store", store), "mlflow.db")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through permission bits")
def test_read_only_store_fails_fast(write_config, tmp_path):
    store = tmp_path / "store"
    cfg = write_config(small_experiment(translators=[{"name": "linear_regression"}]))
    assert invoke("run", cfg, "--store", store).exit_code == 0
    for path in [store, *store.rglob("*")]:
        path.chmod(0o555 if path.is_dir() else 0o444)
    try:
        started = time.monotonic()
        one_line_error(invoke("run", cfg, "--store", store, "--force"), "not writable")
        assert time.monotonic() - started < 20
    finally:
        for path in [store, *store.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)


def test_unwritable_store_is_reported_from_the_probe(write_config, tmp_path, monkeypatch):
    """What a read-only mount does to root too: the probe file cannot be created."""
    import tempfile

    def refuse(*args, **kwargs):
        raise PermissionError(30, "Read-only file system")

    monkeypatch.setattr(tempfile, "NamedTemporaryFile", refuse)
    store = tmp_path / "store"
    one_line_error(
        invoke("run", write_config(small_experiment()), "--store", store), "not writable", "Read-only file system"
    )
    assert not store.exists()


@pytest.mark.parametrize("option", [("--timeout", "-5"), ("--timeout", "0"), ("--trials", "0"), ("--jobs", "0")])
def test_bad_tune_options_are_refused_before_the_store_is_touched(write_config, tmp_path, option):
    store = tmp_path / "store"
    args = ["tune", write_config(small_experiment()), "--translator", "lasso", "--trials", "2", "--store", store]
    if option[0] == "--trials":
        args[4] = option[1]
    else:
        args += list(option)
    result = invoke(*args)
    assert result.exit_code == 2 and option[0] in result.output
    assert not store.exists()


def test_report_cannot_escape_the_working_folder(write_config, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    store = tmp_path / "store"
    name = "../../escaped"
    cfg = write_config(small_experiment(name=name, translators=[{"name": "linear_regression"}]))
    assert invoke("run", cfg, "--store", store).exit_code == 0
    result = invoke("report", name, "--store", store)
    assert result.exit_code == 0, result.output
    written = [p for p in tmp_path.rglob("report.html") if store not in p.parents]
    assert len(written) == 1 and (tmp_path / "reports") in written[0].parents
    assert not (tmp_path.parent.parent / "escaped").exists()


def test_quote_in_a_label_works_for_run_and_tune(write_config, tmp_path):
    store = tmp_path / "store"
    cfg = write_config(
        small_experiment(translators=[{"name": "lasso", "label": "Bob's lasso", "params": {"n_alphas": 3}}])
    )
    tuned = invoke("tune", cfg, "--translator", "Bob's lasso", "--trials", "2", "--store", store)
    assert tuned.exit_code == 0, tuned.output
    again = invoke("tune", cfg, "--translator", "Bob's lasso", "--trials", "1", "--store", store)
    assert again.exit_code == 0, again.output  # the mirror found its study run again (no duplicate)
    ran = invoke("run", cfg, "--store", store, "--tuned")
    assert ran.exit_code == 0, ran.output
    assert "Bob's lasso" in invoke("leaderboard", "t", "--store", store).output
    with sqlite3.connect(store / "mlflow.db") as con:
        levels = [v for (v,) in con.execute("select value from tags where key = 'omibench.level'")]
    assert levels.count("study") == 1 and levels.count("trial") == 3
