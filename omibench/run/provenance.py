"""What a run records about where it came from: the experiment's git commit, omibench's own version
and source commit, and the versions of the packages that shape results.

Two different sources, recorded apart (see :class:`omibench.store.Tags`):

- **the experiment**: the git commit of the folder that holds the experiment YAML (``+dirty`` with
  local changes to tracked files), as ``omibench.git_commit`` and, inside a repository, as MLflow's
  standard ``mlflow.source.git.commit`` (the bare commit, which the MLflow UI shows). A config built
  in code, not read from a file, uses the current folder;
- **omibench itself**: its installed version, and, when it is imported from a git checkout (an
  editable install: the package's own files are tracked in a repository), that checkout's commit.
  An installed wheel has no source commit (a wheel unpacked into a virtual environment that lies
  inside some repository is not part of it: its files are not tracked there).
"""

from __future__ import annotations

import importlib.metadata as md
import json
import subprocess
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from omibench.store import Tags

if TYPE_CHECKING:
    from omibench.config import ExperimentConfig

__all__ = ["git_commit", "omibench_source", "package_versions", "provenance_tags", "repo_commit"]

_PACKAGES = ("omibench", "numpy", "pandas", "scikit-learn", "scipy", "celer", "torch", "mlflow", "optuna", "pluggy")
_PACKAGE_DIR = Path(__file__).resolve().parents[1]  # omibench/


def _git(folder: Path, *args: str) -> str | None:
    """``git -C folder ARGS``'s output, None when git fails (no repository, no git)."""
    try:
        done = subprocess.run(["git", "-C", str(folder), *args], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


@lru_cache(maxsize=64)
def repo_commit(folder: str | Path) -> tuple[str, bool] | None:
    """(HEAD, dirty) of the git work tree that holds ``folder``; None outside one (or without git).
    ``dirty``: tracked files differ from HEAD."""
    folder = Path(folder)
    if not folder.is_dir():
        return None
    head = _git(folder, "rev-parse", "--verify", "HEAD")
    if not head:
        return None
    status = _git(folder, "status", "--porcelain", "--untracked-files=no")
    return head, bool(status)


def git_commit(folder: str | Path | None = None) -> str:
    """The commit of ``folder`` (default: the current folder), ``+dirty`` with local changes, or
    ``unknown`` outside a repository."""
    found = repo_commit(str(Path(folder or ".").resolve()))
    if found is None:
        return "unknown"
    head, dirty = found
    return head + ("+dirty" if dirty else "")


@lru_cache(maxsize=1)
def omibench_source() -> tuple[str, str | None]:
    """omibench's installed version and, when imported from a git checkout, that checkout's
    commit (``+dirty`` with local changes); None otherwise."""
    try:
        version = md.version("omibench")
    except md.PackageNotFoundError:
        version = "unknown"
    tracked = _git(_PACKAGE_DIR, "ls-files", "--error-unmatch", "--", "__init__.py")
    return version, git_commit(_PACKAGE_DIR) if tracked else None


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


def provenance_tags(config: ExperimentConfig | None = None) -> Tags:
    """The provenance tags of a run of ``config``: its experiment's commit (the folder of
    ``config.source_path``, else the current folder) as ``git_commit`` and, in a repository, as
    MLflow's ``source_git_commit``; ``versions``; omibench's version and source commit."""
    source = config.source_path if config is not None else None
    folder = source.parent if source is not None else Path(".").resolve()
    found = repo_commit(str(folder))
    version, commit = omibench_source()
    return Tags(
        git_commit=git_commit(folder),
        source_git_commit=found[0] if found else None,
        versions=package_versions(),
        omibench_version=version,
        omibench_commit=commit,
    )
