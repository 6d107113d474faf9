"""A plain (non-editable) install carries every module: build the wheel, install it into a fresh
venv, and run a small experiment from outside the source tree.

The fresh venv reuses this environment's third-party packages (a ``.pth`` line pointing at their
folder) so that the test does not download or unpack torch again; omibench itself comes from the
wheel only (``--no-deps``), and the source tree is not on the path.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _tracked_modules() -> list[str]:
    out = subprocess.run(
        ["git", "ls-files", "omibench/*.py", "plugins/*.py"], cwd=REPO, capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        pytest.skip("not a git checkout")
    return out.stdout.split()


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dist), str(REPO)],
        capture_output=True,
        text=True,
        check=False,
    )
    if build.returncode != 0:
        pytest.skip(f"cannot build a wheel here (no build backend reachable?): {build.stderr[-300:]}")
    return next(dist.glob("omibench-*.whl"))


def test_wheel_holds_every_tracked_module(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    installed_as = {f: f.replace("plugins/", "omibench_plugins/", 1) for f in _tracked_modules()}
    missing = sorted(f for f, inside in installed_as.items() if inside not in names)
    assert not missing, f"the wheel lacks {missing}"


def test_wheel_install_runs_an_experiment(wheel: Path, tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    # this environment's package folders (with any its .pth files add), after the wheel's own
    deps = [p for p in sys.path if p.endswith("site-packages")] or [sysconfig.get_paths()["purelib"]]
    (site / "zz_deps.pth").write_text("\n".join(dict.fromkeys(deps)) + "\n")
    install = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", str(wheel)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert install.returncode == 0, install.stderr[-2000:]

    work = tmp_path / "work"
    work.mkdir()
    (work / "exp.yaml").write_text(
        "name: wheel\n"
        "data: {source: synthetic, n_samples: 60, n_cpgs: 20, n_genes: 10, n_classes: 2, seed: 0}\n"
        "translators: [{name: ridge}, {name: tdimpute, params: {hidden: 8, epochs: 2, batch_size: 16}}]\n"
        "downstream: {enabled: false}\n"
        "n_jobs: 1\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["MLFLOW_DISABLE_TELEMETRY"] = "true"
    where = subprocess.run(
        [str(python), "-c", "import omibench, omibench_plugins; print(omibench.__file__)"],
        capture_output=True,
        text=True,
        cwd=work,
        env=env,
        check=True,
    ).stdout
    assert str(site) in where, f"omibench was not imported from the wheel: {where}"
    run = subprocess.run(
        [str(env_dir / "bin" / "omibench"), "run", "exp.yaml", "--store", "store"],
        capture_output=True,
        text=True,
        cwd=work,
        env=env,
        timeout=600,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    assert "ridge" in run.stdout and "tdimpute" in run.stdout
