"""The linters run with the tests: ruff (lint + format) and mypy, configured in pyproject.toml, must
be clean on the whole tree, so the README's test command (and CI) enforces them."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _tool(name: str) -> list[str]:
    beside = Path(sys.executable).parent / name  # the venv's own copy (the test extra installs it)
    if beside.exists():
        return [str(beside)]
    found = shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed (pip install -e '.[test]')")
    return [found]


@pytest.mark.parametrize("args", [["check", "."], ["format", "--check", "."]], ids=["ruff-check", "ruff-format"])
def test_ruff(args: list[str]) -> None:
    out = subprocess.run([*_tool("ruff"), *args], cwd=REPO, capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]


def test_mypy() -> None:
    out = subprocess.run([*_tool("mypy")], cwd=REPO, capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]


def test_gpu_check_says_there_is_no_gpu_and_exits_0() -> None:
    # the prepared GPU check (benchmarks/gpu_check.sh) must be safe to run anywhere: where torch sees
    # no GPU it says so and succeeds (the GPU sections themselves run only on a lent GPU machine)
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is visible: run benchmarks/gpu_check.sh itself")
    out = subprocess.run(
        ["bash", str(REPO / "benchmarks" / "gpu_check.sh")],
        env={"PATH": "/usr/bin:/bin", "PYTHON": sys.executable},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "no CUDA GPU visible" in out.stdout
