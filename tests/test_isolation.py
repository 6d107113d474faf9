"""A translator that exits, interrupts or hangs fails alone, under every executor."""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from mlflow.tracking import MlflowClient

from omibench.cli import cli

from .conftest import small_experiment

TAG = "omibench."

ROGUE = Path(__file__).parent / "fixtures" / "plugins" / "rogue" / "rogue.py"


@pytest.fixture
def plugdir(tmp_path):
    path = tmp_path / "plugins"
    path.mkdir()
    shutil.copy(ROGUE, path / "rogue.py")  # a copy: a test edits it
    return path


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def statuses(store):
    client = MlflowClient(f"sqlite:///{store / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name("t").experiment_id])
    return {r.data.tags[f"{TAG}label"]: (r.info.status, r.data.tags.get(f"{TAG}error", "")) for r in runs}


CASES = [
    ("sys_exit", "fit"),
    ("system_exit", "predict"),
    ("keyboard_interrupt", "fit"),
    ("os_exit", "fit"),
    ("os_exit", "predict"),
]


@pytest.mark.parametrize("executor", ["process", "inline", "local"])
@pytest.mark.parametrize("how, where", CASES)
def test_a_rogue_translator_fails_alone(write_config, tmp_path, plugdir, executor, how, where):
    if executor == "inline" and how == "os_exit":
        pytest.skip(
            "os._exit ends the process that calls it: only a worker process survives it (inline is for debugging)"
        )
    if executor == "local" and (how, where) not in {("os_exit", "fit"), ("sys_exit", "fit")}:
        pytest.skip("local workers are fresh processes: two cases suffice")
    store = tmp_path / "store"
    cfg = write_config(
        small_experiment(
            translators=[{"name": "rogue", "params": {"how": how, "where": where}}, {"name": "linear_regression"}],
            plugins_dir=str(plugdir),
            executor={"kind": executor, "cpu_workers": 1},
        )
    )
    result = invoke("run", cfg, "--store", store)
    assert result.exit_code == 1, result.output
    assert "FAILED rogue" in result.output
    got = statuses(store)
    assert got["linear_regression"][0] == "FINISHED"
    assert got["rogue"][0] == "FAILED" and got["rogue"][1]
    assert not list((store / "jobs").glob("*")) if (store / "jobs").exists() else True


@pytest.mark.parametrize(
    "executor",
    ["process", pytest.param("local", marks=pytest.mark.slow)],  # local: ~30 s of worker start-up
)
def test_a_hung_fit_is_stopped_at_its_time_limit(write_config, tmp_path, plugdir, executor):
    store = tmp_path / "store"
    pid_file = tmp_path / "rogue.pid"
    cfg = write_config(
        small_experiment(
            translators=[
                {"name": "rogue", "params": {"how": "hang", "pid_file": str(pid_file)}},
                {"name": "linear_regression"},
            ],
            # a local worker rebuilds the data first (its start-up counts): a wider limit there
            plugins_dir=str(plugdir),
            timeout_s=3 if executor == "process" else 25,
            executor={"kind": executor, "cpu_workers": 1},
        )
    )
    started = time.monotonic()
    result = invoke("run", cfg, "--store", store)
    assert time.monotonic() - started < 90
    assert result.exit_code == 1, result.output
    got = statuses(store)
    assert got["rogue"][0] == "FAILED" and got["rogue"][1].startswith("time-out")
    assert got["linear_regression"][0] == "FINISHED"
    pid = int(pid_file.read_text())
    time.sleep(0.5)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # the hung process is gone


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (dead, not yet reaped by a dead parent's init) counts as gone
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.parametrize("executor", ["local", "process"])
def test_killing_the_driver_leaves_no_worker_and_no_job_folder(write_config, tmp_path, plugdir, executor):
    store = tmp_path / "store"
    pid_file = tmp_path / "rogue.pid"
    cfg = write_config(
        small_experiment(
            translators=[{"name": "rogue", "params": {"how": "hang", "pid_file": str(pid_file)}}],
            plugins_dir=str(plugdir),
            executor={"kind": executor, "cpu_workers": 1},
        )
    )
    driver = subprocess.Popen(
        [sys.executable, "-m", "omibench.cli", "run", str(cfg), "--store", str(store)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 120
    while not pid_file.exists() and time.time() < deadline:
        time.sleep(0.2)
    assert pid_file.exists(), "the worker never started"
    worker = int(pid_file.read_text())
    if executor == "local":
        assert list((store / "jobs").iterdir())  # the worker's spec and log live there
    driver.send_signal(signal.SIGKILL)
    driver.wait()
    deadline = time.time() + 20
    while _alive(worker) and time.time() < deadline:
        time.sleep(0.2)
    assert not _alive(worker), "the worker outlived its driver"
    jobs = store / "jobs"
    assert not jobs.exists() or not list(jobs.iterdir()), "the job folder was left behind"


@pytest.mark.parametrize("how", ["sys_exit", "os_exit", "keyboard_interrupt"])
def test_check_plugin_fails_a_translator_that_exits(plugdir, how):
    source = ROGUE.read_text().replace('"how": "sys_exit"', f'"how": "{how}"')
    assert f'"how": "{how}"' in source
    (plugdir / "rogue.py").write_text(source)
    result = invoke("check-plugin", "rogue", "--plugins-dir", plugdir)
    assert result.exit_code == 1, result.output
    expected = {
        "sys_exit": "called sys.exit(0)",
        "os_exit": "exited with status 7",
        "keyboard_interrupt": "KeyboardInterrupt",
    }
    # the checks run in a child: the first check that fits fails, naming what the translator did
    assert "FAIL  fit_returns_self" in result.output and expected[how] in result.output, result.output
