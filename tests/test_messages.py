"""One message style on stderr: ``omibench: ``, ``omibench: warning: ``, ``error: `` (see omibench/cli/_common.py)."""

import logging
import os
import subprocess
import sys

from omibench.cli._common import LogStyle, styled

from .conftest import small_experiment


def test_library_messages_get_one_prefix_and_warnings_keep_theirs():
    assert styled("preparing 'quickstart'") == "omibench: preparing 'quickstart'"
    assert styled("omibench: preparing 'x'") == "omibench: preparing 'x'"  # never twice
    assert styled("warning: plugin problem: p.py") == "omibench: warning: plugin problem: p.py"
    assert styled("    ridge seed 0: fit 0.1s") == "omibench:     ridge seed 0: fit 0.1s"
    assert styled("error: x.yaml: fix it") == "error: x.yaml: fix it"
    assert styled("interrupted: 1 finished") == "interrupted: 1 finished"


def _record(name: str, level: int, message: str) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, message, None, None)


def test_log_records_read_like_the_other_messages():
    style = LogStyle("%(message)s")
    assert style.format(_record("omibench.data.ids", logging.WARNING, "2 samples dropped")) == (
        "omibench: warning: 2 samples dropped"
    )
    assert style.format(_record("omibench.data.cache", logging.INFO, "cache hit")) == "omibench: cache hit"
    assert (
        style.format(_record("omibench.run.runner", logging.DEBUG, "job 3"))
        == "omibench: debug: omibench.run.runner: job 3"
    )
    assert style.format(_record("mlflow.store", logging.WARNING, "slow")) == "omibench: warning: mlflow.store: slow"


def test_every_line_a_run_writes_to_stderr_has_the_prefix(write_config, tmp_path):
    """A real process: what a user sees (in a test session MLflow's logger is already configured)."""
    cfg = write_config(small_experiment(translators=[{"name": "linear_regression"}, {"name": "ridge"}]))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "omibench.cli"]
    result = subprocess.run(
        [*command, "run", str(cfg), "--store", str(tmp_path / "store")], capture_output=True, text=True, env=env
    )
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) >= 4  # preparing, the split, one line per translator and job
    assert all(line.startswith("omibench: ") for line in lines), lines
    assert "Leaderboard" in result.stdout and "Leaderboard" not in result.stderr

    bad = subprocess.run([*command, "run", str(tmp_path / "missing.yaml")], capture_output=True, text=True, env=env)
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines()[-1].startswith("error: ")
