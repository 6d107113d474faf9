"""Several machines, one MLflow tracking server: a real ``mlflow server`` on a free port and real
``omibench run`` processes, each with its own local ``--store`` (as two workstations have).

Each job is fitted exactly once (the ``fitlog`` fixture plugin counts the fits), a machine killed
mid-job leaves a claim that another takes over after the heartbeat timeout, and stdout holds the
leaderboard and the server's URL only. The claim rule itself, on the in-memory store, and the
get-or-create race of experiments are tested here too.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from omibench.run.claims import Claims
from omibench.store import MemoryStore, MlflowStore, RunLevel, RunStatus, Tags

from .conftest import free_port, small_experiment, wait_until_healthy

PLUGINS = Path(__file__).parent / "fixtures" / "plugins" / "fitlog"


def _stop(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=5)
    except ProcessLookupError:
        return
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A real ``mlflow server`` (SQLite backend, served artifacts) on a free port: its URL."""
    root = tmp_path_factory.mktemp("server")
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}"]
        + ["--artifacts-destination", str(root / "artifacts"), "--serve-artifacts"]
        + ["--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its workers are stopped with it, as one group
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(url, proc, 120, "mlflow server")
        yield url
    finally:
        _stop(proc)


def _config(write_config, url: str, name: str, tags: list[str]) -> Path:
    body = small_experiment(
        name=name,
        translators=[{"name": "fitlog", "label": t, "params": {"tag": t}} for t in tags],
        tracking={"uri": url},
    )
    return write_config(body, f"{name}.yaml")


def _start(cfg: Path, store: Path, fit_log: Path, **env: str) -> subprocess.Popen:
    environ = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    environ.update({"FIT_LOG": str(fit_log), "OMIBENCH_CLAIM_SETTLE_S": "0.5", **env})
    return subprocess.Popen(
        [sys.executable, "-m", "omibench.cli", "run", str(cfg), "--store", str(store), "--plugins-dir", str(PLUGINS)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environ,
    )


def _finish(proc: subprocess.Popen, timeout: float = 300) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def _fits(fit_log: Path, what: str) -> list[str]:
    lines = fit_log.read_text().splitlines() if fit_log.exists() else []
    return sorted(line.split()[1] for line in lines if line.startswith(what + " "))


def _summaries(url: str, name: str) -> list:
    client = MlflowClient(url)
    exp = client.get_experiment_by_name(name)
    runs = client.search_runs([exp.experiment_id], max_results=1000)
    return [r for r in runs if r.data.tags.get("omibench.level") == RunLevel.SUMMARY.value]


@pytest.mark.slow  # ~1-2 min with the server's start: two machines, then a rerun
def test_two_machines_fit_each_job_once_and_print_only_the_leaderboard(write_config, server, tmp_path):
    cfg = _config(write_config, server, "two_machines", ["a", "b", "c"])
    fit_log = tmp_path / "fits.txt"
    slow = {"FITLOG_SLEEP": "1"}  # the two overlap, and split the work
    one = _start(cfg, tmp_path / "store1", fit_log, **slow)
    two = _start(cfg, tmp_path / "store2", fit_log, **slow)
    (rc1, out1, err1), (rc2, out2, err2) = _finish(one), _finish(two)
    assert rc1 == 0 and rc2 == 0, err1 + err2
    assert _fits(fit_log, "end") == ["a", "b", "c"], fit_log.read_text()  # each job fitted exactly once
    assert _fits(fit_log, "start") == ["a", "b", "c"]
    finished = [r for r in _summaries(server, "two_machines") if r.info.status == "FINISHED"]
    assert sorted(r.data.tags["omibench.label"] for r in finished) == ["a", "b", "c"]
    for out in (out1, out2):  # both machines end with the whole leaderboard and the server's page
        lines = [line for line in out.splitlines() if line.strip()]
        assert lines[0].startswith("Leaderboard: two_machines")
        assert {line.split()[0] for line in lines} >= {"a", "b", "c"}, out
        assert lines[-1].startswith(f"MLflow leaderboard:  {server}/#/experiments/"), out
        assert "viewStateShareKey=" in lines[-1]
        assert "View run" not in out and "View experiment" not in out and "omibench ui" not in out
        assert " ui --store" not in out and "127.0.0.1:5000" not in out
    assert "View run" not in err1 + err2  # MLflow's own per-run lines are silenced

    rc, out, err = _finish(_start(cfg, tmp_path / "store1", fit_log))
    assert rc == 0, err
    assert err.count("skipped") == 3  # the rerun skips everything
    assert _fits(fit_log, "end") == ["a", "b", "c"]


@pytest.mark.slow  # ~1 min: a machine started, killed mid-fit, and another
def test_a_killed_machine_s_claim_is_taken_over_after_the_heartbeat_timeout(write_config, server, tmp_path):
    cfg = _config(write_config, server, "killed_machine", ["k"])
    fit_log = tmp_path / "fits.txt"
    short = {"OMIBENCH_CLAIM_TIMEOUT_S": "3"}
    dead = _start(cfg, tmp_path / "store1", fit_log, FITLOG_SLEEP="300", **short)
    try:
        deadline = time.monotonic() + 180
        while not _fits(fit_log, "start"):  # mid-job: the fit has started
            assert dead.poll() is None, dead.communicate()[1]
            assert time.monotonic() < deadline, "the first machine never started its fit"
            time.sleep(0.2)
        dead.kill()  # SIGKILL: no handler runs, its claim stays RUNNING
        dead.communicate(timeout=60)
    finally:
        if dead.poll() is None:
            dead.kill()
    claim = _summaries(server, "killed_machine")
    assert [r.info.status for r in claim] == ["RUNNING"]

    rc, out, err = _finish(_start(cfg, tmp_path / "store2", fit_log, **short))
    assert rc == 0, err
    assert _fits(fit_log, "end") == ["k"]  # finished once, by the second machine
    runs = {r.info.run_id: r for r in _summaries(server, "killed_machine")}
    assert sorted(r.info.status for r in runs.values()) == ["FAILED", "FINISHED"]
    old = runs[claim[0].info.run_id]
    assert old.info.status == "FAILED" and old.data.tags["omibench.error"].startswith("taken over")
    assert out.splitlines()[-1].startswith(f"MLflow leaderboard:  {server}/")


# --- the claim rule, without a server -------------------------------------------------------------


def _open(store: MemoryStore, exp: str, key: str):
    return lambda beat: store.create_run(exp, "t", Tags(level=RunLevel.SUMMARY, job_key=key, heartbeat=beat))


def test_of_two_claims_the_earliest_live_one_wins_and_the_loser_is_superseded():
    store = MemoryStore()
    exp = store.experiment_id("e")
    first = store.create_run(exp, "t", Tags(level=RunLevel.SUMMARY, job_key="k", heartbeat=str(time.time())))
    late = Claims(store, exp, timeout_s=60, settle_s=0)
    assert late.claim("k", _open(store, exp, "k")) is None  # a live claim is seen before creating anything
    assert late.watched["k"] == first and len(store.runs_with_key(exp, "k")) == 1

    store2 = MemoryStore()
    exp2 = store2.experiment_id("e")
    made: list[str] = []

    def race(beat: str) -> str:  # another machine claims at the same moment, just before us
        made.append(store2.create_run(exp2, "t", Tags(level=RunLevel.SUMMARY, job_key="k", heartbeat=beat)))
        made.append(_open(store2, exp2, "k")(beat))
        return made[1]

    claims = Claims(store2, exp2, timeout_s=60, settle_s=0)
    assert claims.claim("k", race) is None
    loser = store2.get_run(made[1])
    assert loser.status is RunStatus.KILLED and loser.tags.superseded_by == made[0]
    assert [r.run_id for r in store2.unfinished_runs(exp2, "k")] == [made[0]]  # nothing ran in the loser


def test_a_claim_without_heartbeats_is_taken_over_and_failed():
    store = MemoryStore()
    exp = store.experiment_id("e")
    dead = store.create_run(exp, "t", Tags(level=RunLevel.SUMMARY, job_key="k", heartbeat=str(time.time())))
    claims = Claims(store, exp, timeout_s=0.3, settle_s=0)
    assert claims.claim("k", _open(store, exp, "k")) is None  # live for now
    time.sleep(0.4)  # its heartbeat did not change for longer than the timeout
    mine = claims.claim("k", _open(store, exp, "k"))
    assert mine is not None
    old = store.get_run(dead)
    assert old.status is RunStatus.FAILED and (old.tags.error or "").startswith("taken over")
    with claims:  # the owner's heartbeat keeps its claim live for others
        time.sleep(0.5)
        assert Claims(store, exp, timeout_s=0.3, settle_s=0).claim("k", _open(store, exp, "k")) is None
        assert not claims.lost(mine)


def test_an_owner_whose_claim_was_taken_over_knows_it():
    store = MemoryStore()
    exp = store.experiment_id("e")
    claims = Claims(store, exp, timeout_s=60, settle_s=0)
    mine = claims.claim("k", _open(store, exp, "k"))
    assert mine is not None
    claims.beat()
    assert not claims.lost(mine) and store.get_run(mine).tags.heartbeat
    store.end_run(mine, RunStatus.FAILED, error="taken over: no heartbeat")  # another machine, meanwhile
    claims.beat()
    assert claims.lost(mine) and mine not in claims.held


def test_a_finished_run_wins_over_any_claim():
    store = MemoryStore()
    exp = store.experiment_id("e")
    done = store.create_run(exp, "t", Tags(level=RunLevel.SUMMARY, job_key="k"))
    store.end_run(done)
    claims = Claims(store, exp, timeout_s=60, settle_s=0)
    assert claims.claim("k", _open(store, exp, "k")) is None and claims.watched["k"] == done
    assert Claims(store, exp, force=True, timeout_s=60, settle_s=0).claim("k", _open(store, exp, "k")) is not None


def test_experiment_get_or_create_reads_back_one_created_meanwhile(tmp_path):
    store = MlflowStore(tmp_path / "store")
    other = MlflowStore(tmp_path / "store")  # another process, between our read and our create
    real = store.client.get_experiment_by_name
    calls = []

    def late_read(name):
        calls.append(name)
        if len(calls) == 1:
            other.experiment_id(name)
            return None  # what we read before the other process created it
        return real(name)

    store.client.get_experiment_by_name = late_read  # type: ignore[method-assign]
    assert store.experiment_id("raced") == other.experiment_id("raced", create=False)
    assert store.shared is False and MlflowStore(tmp_path / "s2", "http://host:5000").shared is True


def test_a_claim_taken_over_between_heartbeats_is_known_at_once():
    store = MemoryStore()
    exp = store.experiment_id("e")
    claims = Claims(store, exp, timeout_s=60, settle_s=0)
    mine = claims.claim("k", _open(store, exp, "k"))
    assert mine is not None and claims.still_mine(mine)
    store.end_run(mine, RunStatus.FAILED, error="taken over: no heartbeat")  # no beat has seen it yet
    assert not claims.lost(mine)  # what the heartbeat last saw
    assert not claims.still_mine(mine)  # what the store says now
    assert claims.lost(mine) and mine not in claims.held


def test_a_claim_created_earlier_but_seen_late_loses_to_the_one_that_won():
    """Start times are stamped by each client: B's claim starts earlier than A's but reaches the
    server only after A's second look. A won (and says so); B's second look sees both, and the
    tag, not the start time, decides."""
    store = MemoryStore()
    exp = store.experiment_id("e")
    won: list[str | None] = []

    def b_create(beat: str) -> str:
        b = _open(store, exp, "k")(beat)  # B's create, stamped first ...
        hidden = store.runs.pop(b)  # ... not yet visible to others
        won.append(Claims(store, exp, timeout_s=60, settle_s=0).claim("k", _open(store, exp, "k")))  # A, meanwhile
        store.runs[b] = hidden
        return b

    b_claims = Claims(store, exp, timeout_s=60, settle_s=0)
    b = b_claims.claim("k", b_create)
    a = won[0]
    assert a is not None and store.get_run(a).tags.won
    assert store.get_run(b_claims.watched["k"]).run_id == a and b is None  # B lost, whatever its start time
    loser = next(r for r in store.runs_with_key(exp, "k") if r.run_id != a)
    assert loser.start_time < store.get_run(a).start_time
    assert loser.status is RunStatus.KILLED and loser.tags.superseded_by == a and not loser.tags.won


def test_a_watched_claim_moved_onto_an_older_run_is_followed_to_its_end():
    from omibench.run.runner import _ended_elsewhere

    store = MemoryStore()
    exp = store.experiment_id("e")
    older = store.create_run(exp, "t", Tags(level=RunLevel.SUMMARY, job_key="k"))
    store.end_run(older, RunStatus.KILLED)  # an unfinished multi-seed summary, interrupted earlier
    other = Claims(store, exp, timeout_s=60, settle_s=0)  # the other machine
    claim = other.claim("k", _open(store, exp, "k"))
    assert claim is not None
    watcher = Claims(store, exp, timeout_s=60, settle_s=0)
    assert watcher.claim("k", _open(store, exp, "k")) is None and watcher.watched["k"] == claim
    other.move(claim, store.get_run(older))  # the claim is KILLED, superseded by the older run
    assert _ended_elsewhere(store, watcher, "k", "t") is None  # the older run is RUNNING there
    store.set_tags(older, Tags(failure_kind="error"))
    store.end_run(older, RunStatus.FAILED, error="boom")  # the translator failed on the other machine
    ended = _ended_elsewhere(store, watcher, "k", "t")
    assert ended is not None and ended.status == "FAILED" and ended.run_id == older and ended.error == "boom"


# --- the run loop on a shared store, without a server ----------------------------------------------


@pytest.fixture
def one_translator(write_config, tmp_path):
    from omibench import api

    cfg = write_config(small_experiment(translators=[{"name": "linear_regression"}]))
    prep, _, _ = api.prepare_experiment(cfg, store=tmp_path / "cache_store")
    return prep


def _shared(tmp_path) -> MemoryStore:
    store = MemoryStore(tmp_path / "shared")
    store.shared = True  # as a tracking server: jobs are claimed
    return store


def test_a_result_is_dropped_when_the_claim_was_taken_over_before_the_heartbeat_noticed(
    one_translator, tmp_path, monkeypatch
):
    from omibench.run import records
    from omibench.run.runner import run_experiment

    store = _shared(tmp_path)
    real = records.Entry.job_run

    def taken_over(self, job):  # another machine takes the claim over while the job runs here
        run_id = real(self, job)
        store.end_run(self.parent, RunStatus.FAILED, error="taken over: no heartbeat")
        return run_id

    monkeypatch.setattr(records.Entry, "job_run", taken_over)
    (outcome,) = run_experiment(one_translator, store, executor="inline", claim_timeout_s=60, claim_settle_s=0.01)
    assert outcome.status == "SKIPPED"
    assert [r.status for r in store.runs.values()] == [RunStatus.FAILED]  # nothing recorded into it


def test_ctrl_c_while_a_claim_settles_leaves_no_running_claim(one_translator, tmp_path, monkeypatch):
    import omibench.run.claims as claims_module
    from omibench.run.runner import RunInterrupted, run_experiment

    store = _shared(tmp_path)
    real_sleep = time.sleep

    def sleep(seconds: float) -> None:
        if seconds == 0.123:  # the claim's settle wait
            raise KeyboardInterrupt
        real_sleep(seconds)

    monkeypatch.setattr(claims_module.time, "sleep", sleep)
    with pytest.raises(RunInterrupted):
        run_experiment(one_translator, store, executor="inline", claim_timeout_s=60, claim_settle_s=0.123)
    assert [r.status for r in store.runs.values()] == [RunStatus.KILLED]


@pytest.mark.parametrize("name", ["OMIBENCH_CLAIM_TIMEOUT_S", "OMIBENCH_CLAIM_SETTLE_S"])
@pytest.mark.parametrize("value", ["soon", "0", "-5"])
def test_a_bad_claim_setting_is_one_line_before_anything_is_written(write_config, tmp_path, monkeypatch, name, value):
    from click.testing import CliRunner

    from omibench.cli import cli

    monkeypatch.setenv(name, value)
    cfg = write_config(small_experiment(translators=[{"name": "linear_regression"}]))
    store = tmp_path / "store"
    result = CliRunner().invoke(cli, ["run", str(cfg), "--store", str(store)], catch_exceptions=False)
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    assert lines[-1].startswith("error: ") and f"${name}" in lines[-1]
    assert not store.exists()
