"""A run's start and end in MLflow are its job's: Duration is the fit's wall time, not the queue's."""

from pathlib import Path

from click.testing import CliRunner

from omibench.cli import cli
from omibench.store import TAG
from omibench.store import MlflowStore as Tracker

from .conftest import small_experiment

SLEEPER = Path(__file__).parent / "fixtures" / "plugins" / "sleeper"  # sleeps in fit, predicts the mean


def test_a_queued_jobs_run_starts_when_the_job_starts(write_config, tmp_path):
    plugdir = SLEEPER
    entries = [
        {"name": "sleeper", "label": "slow", "params": {"seconds": 3.0}},
        {"name": "sleeper", "label": "fast", "params": {"seconds": 0.0}},
    ]
    cfg = write_config(small_experiment(translators=entries, plugins_dir=str(plugdir)))
    store = tmp_path / "store"
    result = CliRunner().invoke(cli, ["run", str(cfg), "--store", str(store)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    tracker = Tracker(store)
    exp = tracker.client.get_experiment_by_name("t")
    runs = {r.data.tags[f"{TAG}label"]: r for r in tracker.client.search_runs([exp.experiment_id])}
    slow, fast = runs["slow"], runs["fast"]

    def duration_s(run):
        return (run.info.end_time - run.info.start_time) / 1000

    # every job was submitted before the first started: a run opened at submission would have
    # waited the whole slow fit (3 s) in the queue
    assert duration_s(slow) >= 3.0
    # the fast job starts once the slow fit is over (the driver may still be writing the slow run:
    # the next job runs while the last one is recorded)
    assert fast.info.start_time >= slow.info.start_time + 3000
    # its own start-up, pictures and recording (1-2 s under a loaded test run), never the 3 s queue
    assert duration_s(fast) - fast.data.metrics["fit_time_s"] < 3.0, duration_s(fast)
    assert duration_s(fast) < duration_s(slow) - 1.0
