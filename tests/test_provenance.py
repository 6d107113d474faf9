"""Provenance tags: the experiment folder's commit (``omibench.git_commit`` and MLflow's standard
``mlflow.source.git.commit``), and omibench's own version and source commit, recorded apart."""

from __future__ import annotations

import importlib.metadata as md
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from omibench import api
from omibench.config import ExperimentConfig, load_config
from omibench.run import provenance
from omibench.store import MlflowStore

from .conftest import small_experiment

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

MLFLOW_COMMIT = "mlflow.source.git.commit"
PACKAGE_DIR = Path(provenance.__file__).resolve().parents[1]


def _git(folder: Path, *args: str) -> str:
    command = ["git", "-C", str(folder), "-c", "user.name=t", "-c", "user.email=t@t", *args]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip()


def _repo_with_experiment(root: Path, body: dict) -> tuple[Path, str]:
    root.mkdir(parents=True)
    _git(root, "init", "-q")
    path = root / "exp.yaml"
    path.write_text(yaml.safe_dump(body, sort_keys=False))
    _git(root, "add", "exp.yaml")
    _git(root, "commit", "-q", "-m", "experiment")
    return path, _git(root, "rev-parse", "HEAD")


@pytest.fixture(autouse=True)
def _fresh_caches():
    provenance.repo_commit.cache_clear()
    provenance.omibench_source.cache_clear()
    yield
    provenance.repo_commit.cache_clear()
    provenance.omibench_source.cache_clear()


def test_the_experiment_commit_is_its_folders_not_the_current_folders(tmp_path, monkeypatch):
    path, head = _repo_with_experiment(tmp_path / "repo", small_experiment())
    monkeypatch.chdir(tmp_path)  # not a repository
    tags = provenance.provenance_tags(load_config(path))
    assert tags.git_commit == head and tags.source_git_commit == head
    assert tags.to_dict()[MLFLOW_COMMIT] == head  # MLflow's own tag name, the bare commit
    (path.parent / "exp.yaml").write_text(path.read_text() + "\n# edited\n")
    provenance.repo_commit.cache_clear()
    tags = provenance.provenance_tags(load_config(path))
    assert tags.git_commit == head + "+dirty" and tags.source_git_commit == head


def test_outside_a_repository_there_is_no_mlflow_commit(tmp_path, monkeypatch):
    (tmp_path / "plain").mkdir()
    path = tmp_path / "plain" / "exp.yaml"
    path.write_text(yaml.safe_dump(small_experiment()))
    monkeypatch.chdir(tmp_path)
    if provenance.repo_commit(str(tmp_path)) is not None:
        pytest.skip("the temporary folder lies inside a git repository")
    tags = provenance.provenance_tags(load_config(path))
    assert tags.git_commit == "unknown" and tags.source_git_commit is None
    assert MLFLOW_COMMIT not in tags.to_dict()
    # a config built in code has no file: the current folder stands for it
    assert provenance.provenance_tags(ExperimentConfig(**small_experiment())).git_commit == "unknown"


def test_omibench_version_and_its_own_source_commit(tmp_path, monkeypatch):
    version, commit = provenance.omibench_source()
    assert version == md.version("omibench")
    checkout = provenance.repo_commit(str(PACKAGE_DIR))
    tracked = subprocess.run(
        ["git", "-C", str(PACKAGE_DIR), "ls-files", "--error-unmatch", "__init__.py"], capture_output=True
    )
    if checkout is not None and tracked.returncode == 0:  # imported from a checkout (editable install)
        assert commit is not None and commit.split("+")[0] == checkout[0]
    else:
        assert commit is None
    # an installed copy: outside any repository, or inside one that does not track it (a venv in a repo)
    repo = tmp_path / "repo"
    _repo_with_experiment(repo, small_experiment())
    (repo / ".gitignore").write_text(".venv/\n")
    for package in (tmp_path / "site-packages" / "omibench", repo / ".venv" / "site-packages" / "omibench"):
        package.mkdir(parents=True)
        (package / "__init__.py").write_text("")
        monkeypatch.setattr(provenance, "_PACKAGE_DIR", package)
        provenance.omibench_source.cache_clear()
        assert provenance.omibench_source() == (version, None)


def test_runs_carry_the_provenance_tags(tmp_path, monkeypatch):
    body = small_experiment(translators=[{"name": "ridge"}], tracking={"store": str(tmp_path / "store")})
    path, head = _repo_with_experiment(tmp_path / "repo", body)
    monkeypatch.chdir(tmp_path)
    api.run(path)
    (run,) = MlflowStore(tmp_path / "store").summaries("t")
    assert run.tags.git_commit == head
    assert run.tags.source_git_commit == head and run.other_tags[MLFLOW_COMMIT] == head
    assert run.tags.omibench_version == md.version("omibench")
    assert run.tags.omibench_commit == provenance.omibench_source()[1]
    assert run.tags.versions and "numpy" in run.tags.versions
