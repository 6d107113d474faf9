"""The leaderboard on the MLflow page: board tags, descriptions, the printed URL served by a real MLflow UI."""

import json
import os
import signal
import subprocess
import sys
import urllib.request
from urllib.parse import parse_qs, urlsplit

import pytest
from click.testing import CliRunner

from omibench.cli import cli
from omibench.report.mlflow_page import board_markdown, refresh
from omibench.results import from_summaries
from omibench.run.progress import progress
from omibench.store import MemoryStore, MlflowStore, RunLevel, RunStatus, Tags
from omibench.store.schema import NOTE_TAG

from .conftest import free_port, small_experiment, wait_until_healthy


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def _summary(store, exp_id, label, split, r2, finished=True):
    run_id = store.create_run(exp_id, label, Tags(level=RunLevel.SUMMARY, label=label, split_hash=split))
    store.log_metrics(run_id, {"test/median_r2_featurewise": r2, "test/mse": 1 - r2, "downstream/accuracy": r2 / 2})
    store.end_run(run_id, RunStatus.FINISHED if finished else RunStatus.FAILED)
    return run_id


def test_refresh_marks_the_newest_finished_run_per_translator_and_writes_the_table():
    store = MemoryStore()
    exp = store.experiment_id("e")
    old = _summary(store, exp, "ridge", "s1", 0.1)
    new = _summary(store, exp, "ridge", "s1", 0.3)
    _summary(store, exp, "ridge", "s1", 0.9, finished=False)  # failed rerun: not on the board
    lasso = _summary(store, exp, "lasso", "s1", 0.5)
    other_split = _summary(store, exp, "knn", "s2", 0.7)
    board = refresh(store, "e", "s1", "median_r2_featurewise")
    assert board is not None
    assert [r.run_id for r in board.runs] == [lasso, new]  # best first
    assert store.get_run(new).tags.board == "current" and store.get_run(old).tags.board is None
    assert store.get_run(other_split).tags.board is None
    note = store.experiment_note(exp)
    rows = [line for line in note.splitlines() if line.startswith("| ")]
    assert [row.split("|")[1:3] for row in rows[1:3]] == [[" 1   ", " lasso        "], [" 2   ", " ridge        "]]
    assert "Table 3" in note and "acc" in note
    assert store.get_run(new).other_tags[NOTE_TAG] == note
    # a later rerun takes the place of the current one, which is then marked superseded
    newer = _summary(store, exp, "ridge", "s1", 0.2)
    refresh(store, "e", "s1", "mse")
    assert store.get_run(new).tags.board == "superseded" and store.get_run(newer).tags.board == "current"
    assert "ranked by mean squared error (lower is better)" in store.experiment_note(exp)
    assert store.experiment_note(exp).splitlines()[0].startswith("**e** by test mse: 1. lasso 0.500 · 2. ridge 0.800")


def test_the_url_opens_a_saved_view_with_metric_columns():
    store = MemoryStore()
    exp = store.experiment_id("e")
    _summary(store, exp, "ridge", "s1", 0.3)
    _summary(store, exp, "lasso", "s1", 0.5)
    board = refresh(store, "e", "s1", "mse")
    assert board is not None and board.url.endswith(f"/#/experiments/{exp}/runs?viewStateShareKey=omibench-leaderboard")
    view = json.loads(store.experiment_tags(exp)["mlflow.sharedViewState.omibench-leaderboard"])
    assert view["searchFilter"] == "tags.`omibench.board` = 'current'"
    assert view["orderByKey"] == "metrics.`test/mse`" and view["orderByAsc"] is True  # lower is better
    # the ranking metric first; only metrics the runs logged (no fit_time_s here)
    expected = ["test/mse", "test/median_r2_featurewise", "downstream/accuracy"]
    assert view["selectedColumns"] == view["columnOrder"] == [f"metrics.`{m}`" for m in expected]


def test_markdown_has_mean_and_sd_in_one_cell():
    store = MemoryStore()
    exp = store.experiment_id("e")
    run_id = _summary(store, exp, "ridge", "s", 0.25)
    for seed, r2 in ((0, 0.2), (1, 0.3)):  # one outer split, two seeds: the paper's mean ± sd over seeds
        child = store.create_run(exp, f"seed {seed}", Tags(level=RunLevel.SEED, seed=seed), parent_id=run_id)
        store.log_metrics(child, {"test/median_r2_featurewise": r2, "downstream/accuracy": 0.5})
        store.end_run(child)
    text = board_markdown(from_summaries(store, [store.get_run(run_id)]), "median_r2_featurewise", "e")
    assert "0.250 ± 0.071" in text and "Table 3" in text and "over seeds (one outer split)" in text


def test_plain_progress_lines_when_not_a_terminal():
    lines: list[str] = []
    assert list(progress(range(25), "classifier epoch", lines.append, every=10, tty=False)) == list(range(25))
    assert [line.split(" (")[0].strip() for line in lines] == [
        "classifier epoch 10/25",
        "classifier epoch 20/25",
        "classifier epoch 25/25",
    ]


def test_translator_filter_and_the_printed_ui_command(write_config, tmp_path):
    store = tmp_path / "store"
    cfg = write_config(small_experiment())
    result = invoke("run", cfg, "--store", store, "-t", "lasso")
    assert result.exit_code == 0, result.output
    st = MlflowStore(store)
    runs = st.summaries("t")
    assert [r.label for r in runs] == ["lasso"]
    assert f"ui --store {st.path}" in result.output and "viewStateShareKey=" in result.output
    bad = invoke("run", cfg, "--store", store, "-t", "rigde")
    assert bad.exit_code == 2 and "'rigde'" in bad.output and "lasso" in bad.output


def _post(base: str, path: str, body: dict) -> dict:
    req = urllib.request.Request(
        base + path, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


@pytest.mark.slow
def test_the_printed_url_shows_the_leaderboard_on_a_real_mlflow_ui(write_config, tmp_path):
    store = tmp_path / "store"
    cfg = write_config(small_experiment())
    assert invoke("run", cfg, "--store", store).exit_code == 0
    rerun = invoke("run", cfg, "--store", store, "--force", "-t", "linear_regression")  # a stale run to hide
    assert rerun.exit_code == 0, rerun.output
    url = next(line.split("open ", 1)[1] for line in rerun.output.splitlines() if "open http" in line)
    fragment = urlsplit(url).fragment  # /experiments/<id>/runs?viewStateShareKey=<key>
    exp_id = fragment.split("/")[2]
    key = parse_qs(fragment.split("?", 1)[1])["viewStateShareKey"][0]

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", MlflowStore(store).uri]
        + ["--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its uvicorn workers and job runner are stopped with it, as one group
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(base, server, 90, "mlflow ui")
        with urllib.request.urlopen(f"{base}/api/2.0/mlflow/experiments/get?experiment_id={exp_id}", timeout=30) as r:
            tags = {t["key"]: t["value"] for t in json.loads(r.read())["experiment"]["tags"]}
        view = json.loads(tags[f"mlflow.sharedViewState.{key}"])  # what the page loads for the URL's key
        # what the runs page then sends: filter = searchFilter, order_by = [orderByKey DESC] (mlflow/server/js)
        order = view["orderByKey"] + (" ASC" if view["orderByAsc"] else " DESC")
        found = _post(
            base,
            "/api/2.0/mlflow/runs/search",
            {"experiment_ids": [exp_id], "filter": view["searchFilter"], "order_by": [order], "max_results": 100},
        )["runs"]
        labels = [{t["key"]: t["value"] for t in r["data"]["tags"]}["omibench.label"] for r in found]
        assert sorted(labels) == ["lasso", "linear_regression"]  # one row per translator, stale rerun hidden
        values = [{m["key"]: m["value"] for m in r["data"]["metrics"]}["test/median_r2_featurewise"] for r in found]
        assert values == sorted(values, reverse=True)
        for column in view["selectedColumns"]:  # the metric columns shown are logged on every row
            metric = column.removeprefix("metrics.`").removesuffix("`")
            assert all(metric in {m["key"] for m in r["data"]["metrics"]} for r in found), metric
        assert view["selectedColumns"][0] == "metrics.`test/median_r2_featurewise`"
        everything = _post(base, "/api/2.0/mlflow/runs/search", {"experiment_ids": [exp_id], "max_results": 100})
        assert len(everything["runs"]) > len(found)
        assert "| linear_regression |" in tags[NOTE_TAG] and "| lasso |" in tags[NOTE_TAG]
        for run in found:
            assert "Table 1" in {t["key"]: t["value"] for t in run["data"]["tags"]}[NOTE_TAG]
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def test_controls_are_listed_but_never_ranked_in_the_description():
    store = MemoryStore()
    exp = store.experiment_id("e")
    _summary(store, exp, "ridge", "s1", 0.3)
    tags = Tags(level=RunLevel.SUMMARY, label="class_mean", translator="class_mean", split_hash="s1", control="anchor")
    cm = store.create_run(exp, "class_mean", tags)
    store.log_metrics(cm, {"test/median_r2_featurewise": 0.9})
    store.end_run(cm, RunStatus.FINISHED)
    refresh(store, "e", "s1", "median_r2_featurewise")
    note = store.experiment_note(exp)
    assert (
        note.splitlines()[0]
        == "**e** by test median_r2_featurewise: 1. ridge 0.300 · controls (not ranked): class_mean 0.900"
    )
    rows = [[c.strip() for c in line.split("|")[1:3]] for line in note.splitlines() if line.startswith("| ")]
    assert ["1", "ridge"] in rows and ["–", "class_mean"] in rows
