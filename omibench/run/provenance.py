"""What a run records about where it came from: git commit and package versions."""

from __future__ import annotations

import importlib.metadata as md
import json
import subprocess
from functools import lru_cache

__all__ = ["git_commit", "package_versions"]

_PACKAGES = ("omibench", "numpy", "pandas", "scikit-learn", "scipy", "celer", "torch", "mlflow", "optuna", "pluggy")


@lru_cache(maxsize=1)
def git_commit() -> str:
    """HEAD of the git checkout in the current directory (``+dirty`` with local changes), or ``unknown``."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True, timeout=10
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


@lru_cache(maxsize=1)
def package_versions() -> str:
    """Installed versions of the packages that shape results, as compact JSON."""
    versions = {}
    for name in _PACKAGES:
        try:
            versions[name] = md.version(name)
        except md.PackageNotFoundError:
            continue
    return json.dumps(versions, separators=(",", ":"))
