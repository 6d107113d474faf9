"""Shared fixtures: tiny synthetic data, a throw-away MLflow store, the real cohorts when present."""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

from omibench.data.synthetic import make_synthetic

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


def free_port() -> int:
    """A TCP port of 127.0.0.1 that was free a moment ago, for a server a test starts (another
    process may take it before the server binds it: rare enough for tests)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_healthy(url: str, proc: subprocess.Popen, seconds: float, what: str) -> None:
    """Wait until the MLflow server at ``url`` answers ``/health`` (``proc`` is the process serving it);
    a test failure naming ``what`` when it exits first or stays silent for ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url + "/health", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        assert proc.poll() is None, f"{what} exited"
        assert time.monotonic() < deadline, f"{what} did not answer within {seconds:g} s"
        time.sleep(0.5)


@pytest.fixture
def tiny():
    return make_synthetic(n_samples=80, n_cpgs=30, n_genes=20, n_classes=3, seed=1)


@pytest.fixture
def brca_dir() -> Path:
    path = SHARED_DATA / "tcga_brca_lockdunson"
    if not path.is_dir():
        pytest.skip("../shared/data is not present")
    return path


@pytest.fixture
def write_config(tmp_path):
    """Write an experiment YAML into tmp_path and return its path."""
    import yaml

    def write(body: dict, name: str = "exp.yaml") -> Path:
        path = tmp_path / name
        path.write_text(yaml.safe_dump(body, sort_keys=False))
        return path

    return write


def small_experiment(**overrides) -> dict:
    body = {
        "name": "t",
        "data": {"source": "synthetic", "n_samples": 60, "n_cpgs": 25, "n_genes": 15, "n_classes": 3, "seed": 0},
        "split": {"seed": 0, "val_fraction": 0.2, "test_fraction": 0.2},
        "translators": [{"name": "linear_regression"}, {"name": "lasso", "params": {"n_alphas": 3}}],
        "n_jobs": 1,
        "downstream": {"enabled": False},  # Table 3 has its own tests (test_downstream.py)
        "controls": False,  # the default controls have their own tests (test_cfg_controls.py)
    }
    body.update(overrides)
    return body
