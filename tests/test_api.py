import subprocess
import sys

import omibench


def test_public_api_is_explicit_and_importable():
    assert sorted(omibench.__all__) == omibench.__all__
    for name in omibench.__all__:
        assert getattr(omibench, name) is not None
    assert omibench.__version__


def test_help_does_not_import_heavy_libraries():
    code = (
        "import sys; from omibench.cli import cli; "
        "print(sorted(m for m in ('torch', 'mlflow', 'pandas', 'numpy', 'pydantic') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_import_changes_no_process_state():
    code = (
        "import os, warnings; before = list(warnings.filters); import omibench, omibench.api, omibench.store; "
        "print('THP_MEM_ALLOC_ENABLE' in os.environ, warnings.filters == before)"
    )
    env = {k: v for k, v in __import__("os").environ.items() if k != "THP_MEM_ALLOC_ENABLE"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env).stdout
    assert out.split() == ["False", "True"]


def test_library_run_returns_outcomes_and_a_leaderboard(write_config, tmp_path):
    from omibench import api

    from .conftest import small_experiment

    results = api.run(write_config(small_experiment()), store=tmp_path / "store")
    assert [o.status for o in results.outcomes] == ["FINISHED", "FINISHED"] and not results.failed
    assert sorted(results.leaderboard["translator"]) == ["lasso", "linear_regression"]
    assert results.leaderboard["median_r2_featurewise"].notna().all()
    again = api.run(write_config(small_experiment()), store=tmp_path / "store")
    assert [o.status for o in again.outcomes] == ["SKIPPED", "SKIPPED"]
    assert list(again.leaderboard["run_id"]) == list(results.leaderboard["run_id"])
