import subprocess
import sys

import omibench


def test_public_api_is_explicit_and_importable():
    assert sorted(omibench.__all__) == omibench.__all__
    for name in omibench.__all__:
        assert getattr(omibench, name) is not None
    assert omibench.__version__


def test_help_does_not_import_heavy_libraries():
    code = ("import sys; from omibench.cli import cli; "
            "print(sorted(m for m in ('torch', 'mlflow', 'pandas', 'numpy', 'pydantic') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
