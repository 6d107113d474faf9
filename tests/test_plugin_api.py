"""The declared plugin API (issue 26): plugins import from ``omibench`` itself and from nowhere else
in it, every exported name resolves, importing the package stays light, the documented example
plugin works, and the import paths older plugins were written against still work."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

import omibench
from omibench.contract.registry import load_registry

REPO = Path(__file__).resolve().parents[1]
BUILTIN_PLUGINS = REPO / "plugins"  # installed as the package omibench_plugins
FIXTURE_PLUGINS = Path(__file__).parent / "fixtures" / "plugins"
GUIDE = REPO / "docs" / "writing-a-translator.md"


def _internal_imports(source: str) -> list[tuple[int, str]]:
    """(line, statement) for each import of an omibench submodule (``omibench.x``) in ``source``;
    ``omibench`` itself, ``omibench_plugins.*`` and relative imports are fine."""
    bad = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            internal = node.level == 0 and (node.module or "").startswith("omibench.")
        elif isinstance(node, ast.Import):
            internal = any(alias.name.startswith("omibench.") for alias in node.names)
        else:
            continue
        if internal:
            bad.append((node.lineno, ast.unparse(node)))
    return bad


@pytest.mark.parametrize("folder", [BUILTIN_PLUGINS, FIXTURE_PLUGINS], ids=["plugins", "fixtures"])
def test_plugins_import_omibench_only_through_the_top_level_package(folder):
    files = sorted(folder.rglob("*.py"))
    assert files, f"no plugin files under {folder}"
    bad = [
        f"{path.relative_to(REPO)}:{line}: {statement}"
        for path in files
        for line, statement in _internal_imports(path.read_text())
    ]
    assert bad == [], "plugins must import from `omibench` (its __all__), not its submodules:\n" + "\n".join(bad)


def test_the_import_check_catches_a_submodule_import():
    source = (
        "import omibench\n"
        "import omibench_plugins.baselines\n"
        "from omibench import Translator\n"
        "from omibench_plugins.baselines import Ridge\n"
        "from . import sibling\n"
        "from omibench.contract.translator import Translator\n"
        "import numpy, omibench.errors\n"
        "def f():\n"
        "    from omibench.run import fitting\n"
    )
    assert [line for line, _ in _internal_imports(source)] == [6, 7, 9]


def test_every_exported_name_resolves():
    assert len(omibench.__all__) == len(set(omibench.__all__))
    missing = [name for name in omibench.__all__ if getattr(omibench, name, None) is None]
    assert missing == []
    assert set(omibench.__all__) <= set(dir(omibench))


@pytest.mark.parametrize("heavy", ["torch", "numpy", "pandas"])
def test_importing_omibench_alone_imports_no_heavy_library(heavy):
    out = subprocess.run(
        [sys.executable, "-c", f"import omibench, sys; print({heavy!r} in sys.modules)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "False", f"`import omibench` imports {heavy}"


def _guide_plugin() -> str:
    """The first ```python block of the guide that defines the registration hook."""
    blocks = re.findall(r"^```python\n(.*?)^```", GUIDE.read_text(), flags=re.MULTILINE | re.DOTALL)
    for block in blocks:
        if "def omibench_register_translators" in block:
            return block
    raise AssertionError(f"{GUIDE.name} has no ```python block defining omibench_register_translators")


def test_the_guides_example_plugin_registers_and_conforms(tmp_path):
    from omibench.contract.conformance import check_translator

    (tmp_path / "training_mean.py").write_text(_guide_plugin())
    registry = load_registry([tmp_path])
    assert registry.problems == []
    cls = registry.translator("training_mean")
    assert issubclass(cls, omibench.Translator)
    assert registry.translators["training_mean"].source.kind == "file"
    failed = [r for r in check_translator(cls) if not r.passed]
    assert failed == []


@pytest.mark.parametrize(
    "old_module, names",
    [
        ("omibench.translator", ["Translator"]),
        ("omibench.constraints", ["Interval", "Options", "ListOf"]),
        ("omibench.torch_translator", ["TorchTranslator"]),
    ],
)
def test_old_import_paths_still_work(old_module, names):
    namespace: dict = {}
    exec(f"from {old_module} import {', '.join(names)}", namespace)
    for name in names:
        assert namespace[name] is getattr(omibench, name), f"{old_module}.{name} is not omibench.{name}"
