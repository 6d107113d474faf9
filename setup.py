"""Package layout (everything else is in pyproject.toml).

omibench's subpackages are discovered, so a new one cannot be left out of the wheel (a plain
``pip install .`` once lacked ``omibench.executors``; tests/test_packaging.py builds the wheel and
checks). The built-in translators live in ``plugins/`` and install as ``omibench_plugins``, which
discovery cannot express (the folder and package names differ), so that one package is named here.
"""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["omibench", "omibench.*"]), "omibench_plugins"],
    package_dir={"omibench_plugins": "plugins"},
)
