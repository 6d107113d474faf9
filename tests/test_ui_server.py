"""``omibench ui`` owns its MLflow server: a signal to the ``omibench ui`` process alone stops it all."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from omibench.run.owned import run_owned
from omibench.store import MlflowStore

from .conftest import free_port

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def _stat(pid: int) -> tuple[str, int, int] | None:
    """(state, parent pid, process group) of a live process, None if gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = text.rsplit(")", 1)[1].split()
    return fields[0], int(fields[1]), int(fields[2])


def _processes() -> dict[int, tuple[str, int, int]]:
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (stat := _stat(int(entry))) is not None:
            found[int(entry)] = stat
    return found


def _descendants(root: int) -> set[int]:
    table = _processes()
    out, frontier = set(), {root}
    while frontier:
        frontier = {pid for pid, (_, ppid, _) in table.items() if ppid in frontier} - out
        out |= frontier
    return out


def _alive(pid: int) -> bool:
    stat = _stat(pid)
    return stat is not None and stat[0] not in ("Z", "X")  # a zombie has ended; only its entry is left


def _answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as resp:
            return resp.status == 200
    except OSError:
        return False


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    path = tmp_path_factory.mktemp("ui") / "store"
    MlflowStore(path).experiment_id("e")  # an (empty) store
    return path


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_to_omibench_ui_alone_stops_its_whole_server(store, tmp_path, sig):
    port = free_port()
    log = (tmp_path / "ui.log").open("w")
    ui = subprocess.Popen(
        [sys.executable, "-m", "omibench.cli", "ui", "--store", str(store), "--port", str(port), "--workers", "1"],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 120
        while not _answers(port):
            assert ui.poll() is None, (tmp_path / "ui.log").read_text()
            assert time.monotonic() < deadline, "the MLflow UI did not answer within 120 s"
            time.sleep(0.5)
        server = _descendants(ui.pid)
        groups = {_stat(pid)[2] for pid in server if _stat(pid)}
        assert server and ui.pid not in groups  # the server runs in a group of its own
        ui.send_signal(sig)  # to the omibench ui process only, as kill, a service manager or an IDE do
        stopped = time.monotonic()
        ui.wait(timeout=10)
        while time.monotonic() - stopped < 10 and (
            _port_open(port) or any(map(_alive, server)) or _group_members(groups)
        ):
            time.sleep(0.2)
        assert not _port_open(port), "the port still answers"
        assert not [pid for pid in server if _alive(pid)], "server processes outlived omibench ui"
        assert not _group_members(groups)
        assert ui.returncode == 0
    finally:
        if ui.poll() is None:
            ui.kill()
        for pid in _descendants(ui.pid):
            os.kill(pid, signal.SIGKILL)
        log.close()


def _group_members(groups: set[int]) -> list[int]:
    return [pid for pid, (state, _, group) in _processes().items() if group in groups and state not in ("Z", "X")]


def test_run_owned_kills_a_group_that_ignores_sigterm(tmp_path):
    """A member that ignores SIGTERM is killed after the grace period; nothing of the group is left."""
    marker = tmp_path / "pids"
    child = (
        "import os, signal, subprocess, sys, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "kid = subprocess.Popen([sys.executable, '-c', 'import signal, time; "
        "signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)'])\n"
        f"open({str(marker)!r}, 'w').write(f'{{os.getpid()}} {{kid.pid}}')\n"
        "sys.exit(7)\n"  # exits at once: its child is left behind in the group
    )
    started = time.monotonic()
    assert run_owned([sys.executable, "-c", child], grace_s=1.0) == 7
    assert time.monotonic() - started < 30
    group, kid = map(int, marker.read_text().split())
    assert not _alive(kid) and not _group_members({group})


def test_a_signal_while_the_server_is_being_started_stops_it_cleanly(monkeypatch):
    """run_owned's handlers are in place before the child is started: a SIGTERM that arrives while
    Popen runs is run_owned's (held until the child is known), never the caller's or the default."""
    import threading

    import omibench.run.owned as owned

    class CallersHandler(Exception):
        pass

    def callers(signum, frame):
        raise CallersHandler

    real = owned.subprocess.Popen
    pids: list[int] = []

    def popen(*args, **kwargs):
        proc = real(*args, **kwargs)
        pids.append(proc.pid)
        signal.pthread_kill(threading.get_ident(), signal.SIGTERM)  # while the child is being started
        return proc

    monkeypatch.setattr(owned.subprocess, "Popen", popen)
    previous = signal.signal(signal.SIGTERM, callers)
    try:
        started = time.monotonic()
        assert run_owned([sys.executable, "-c", "import time; time.sleep(60)"], grace_s=10.0) == 0
        assert signal.getsignal(signal.SIGTERM) is callers  # given back
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert time.monotonic() - started < 8  # stopped by its SIGTERM, not killed after the grace period
    assert not _alive(pids[0]) and not _group_members({pids[0]})
