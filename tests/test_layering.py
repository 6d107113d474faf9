"""The package's layering and its names, read from the source (``ast``), never from a prose table.

Layers, top to bottom: ``cli -> api -> {api_tools, api_results} -> {run, report, results, downstream}
-> {store, metrics, stats, data, contract, plots}``; ``config`` (with ``config_yaml``, its safe YAML
reader) and ``errors`` may be imported by every layer (but ``store`` takes only ``errors``, and
``stats`` nothing). :data:`ALLOWED` lists each package's allowed imports of omibench; every import
counts: at module level, inside a function, under ``TYPE_CHECKING``.

Names written once: tag names live in ``store/schema.py``, artifact paths and store folders in
``store/layout.py``, metric keys, prefixes and directions in ``metrics/catalogue.py``; every other
module of ``omibench/`` and ``plugins/`` uses their constants (docstrings may name them).
"""

from __future__ import annotations

import ast
import dataclasses
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from omibench.store import layout, schema

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "omibench"
PLUGINS = REPO / "plugins"

COMMON = {"config", "config_yaml", "errors"}
# package (or top-level module) of omibench -> the packages and modules of omibench it may import
ALLOWED: dict[str, set[str]] = {
    "cli": {"api", "api_tools", "errors"},
    "api": {"api_tools", "api_results", "run", "report", "results", "downstream"}
    | {"store", "metrics", "stats", "data", "contract", "plots"}
    | COMMON,
    # the API's ui and data tools, a module of the api layer (api re-exports them): never api itself
    "api_tools": {"run", "data", "store", "report"} | COMMON,
    # the API's read side (leaderboard, report, translate), re-exported by api: never api itself
    "api_results": {"run", "report", "results", "store", "contract", "data"} | COMMON,
    "run": {"downstream", "results", "store", "metrics", "stats", "data", "contract", "plots"} | COMMON,
    "downstream": {"run", "store", "metrics", "stats", "data", "contract", "plots"} | COMMON,
    # the store only for writing runs and notes: numbers come through results (see the test below)
    "report": {"results", "store", "metrics", "stats", "plots"} | COMMON,
    "results": {"store", "metrics", "stats"} | COMMON,
    "store": {"errors"},
    "metrics": set() | COMMON,
    "stats": set(),
    "data": {"contract", "store"} | COMMON,  # narrowed by NARROW
    "contract": {"data"} | COMMON,
    "plots": {"stats"} | COMMON,
    "config": {"config_yaml", "errors"},
    "config_yaml": {"errors"},  # safe_yaml / safe_yaml_text, re-exported by config
    "errors": set(),
    "__init__": {"contract", "data", "errors"},  # the plugin API
    "translator": {"contract"},  # re-export shims of the plugin API
    "constraints": {"contract"},
    "torch_translator": {"contract"},
}
# an edge allowed only to these modules of the imported package
NARROW: dict[tuple[str, str], set[str]] = {
    ("data", "contract"): {"omibench.contract.hookspecs"},  # the built-in data sources register as plugins do
    ("data", "store"): {"omibench.store.layout"},  # the file names of the saved preprocessing
}
# single imports against the layering, each with its reason: (importing module, imported module)
EXCEPTIONS: dict[tuple[str, str], str] = {
    ("omibench.store.pyfunc", "omibench.run.pyfunc_models"): (
        "every logged MLflow model pickles omibench.store.pyfunc.TranslatorModel by path, and MLflow calls its "
        "load_context in a process that has nothing but that pickle: the class cannot be handed its loader, "
        "so it imports it, lazily, from run/pyfunc_models.py (which holds all the logic)"
    ),
}
# third-party imports some layers must not make (beyond the omibench edges above)
FORBIDDEN_THIRD_PARTY = {
    "results": {"torch", "omibench_plugins", "mlflow"},
}
STATS_THIRD_PARTY = {"numpy", "scipy"}


def _modules(root: Path) -> Iterator[tuple[str, Path, ast.Module]]:
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root.parent).with_suffix("")
        parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
        yield ".".join(parts), path, ast.parse(path.read_text(encoding="utf-8"), str(path))


def _layer(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1:
        return "__init__"
    return parts[1]


def _is_module(name: str) -> bool:
    path = REPO.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _imports(module: str, path: Path, tree: ast.Module) -> Iterator[tuple[int, str]]:
    """(line, imported module) of every import in ``tree``, relative ones resolved; ``from a import b``
    gives ``a.b`` where b is a module."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                full = f"{base}.{alias.name}"
                yield node.lineno, full if _is_module(full) else base


def _omibench_modules() -> list[tuple[str, Path, ast.Module]]:
    return list(_modules(PACKAGE))


def test_the_layers_import_only_downwards():
    violations = []
    for module, path, tree in _omibench_modules():
        layer = _layer(module)
        allowed = ALLOWED[layer]
        for line, imported in _imports(module, path, tree):
            if imported.split(".")[0] != "omibench":
                continue
            target = _layer(imported)
            if target == layer:
                continue
            if (module, imported) in EXCEPTIONS:
                continue
            narrow = NARROW.get((layer, target))
            ok = target in allowed and (narrow is None or any(imported.startswith(m) for m in narrow))
            if not ok:
                violations.append(f"{path.relative_to(REPO)}:{line}: {layer} imports {imported}")
    print("\n".join(violations))
    assert not violations, "imports against the layering:\n" + "\n".join(violations)


def test_every_layer_is_in_the_table():
    """A new package gets its line in ALLOWED (and its place in the chain) before it is used."""
    layers = {_layer(m) for m, _, _ in _omibench_modules()}
    assert layers <= set(ALLOWED), sorted(layers - set(ALLOWED))


def test_exceptions_are_still_needed():
    found = {(m, i) for m, p, t in _omibench_modules() for _, i in _imports(m, p, t)}
    assert set(EXCEPTIONS) <= found, sorted(set(EXCEPTIONS) - found)


def test_third_party_imports_of_the_layers():
    """Only the store imports MLflow; stats imports numpy, scipy and the standard library only;
    results never imports torch or the plugins; plugins import omibench only through its plugin API."""
    violations = []
    stdlib = set(sys.stdlib_module_names) | {"__future__"}
    for module, path, tree in _omibench_modules():
        layer = _layer(module)
        for line, imported in _imports(module, path, tree):
            top = imported.split(".")[0]
            where = f"{path.relative_to(REPO)}:{line}: {layer} imports {imported}"
            if top == "mlflow" and layer != "store":
                violations.append(where + " (only store/ imports MLflow)")
            if layer == "stats" and top not in STATS_THIRD_PARTY | stdlib and top != "omibench":
                violations.append(where + " (stats/ imports numpy, scipy and the standard library only)")
            if top in FORBIDDEN_THIRD_PARTY.get(layer, set()):
                violations.append(where)
            if layer == "results" and imported.startswith("omibench.contract"):
                violations.append(where + " (the read path never loads the registry)")
    for module, path, tree in _modules(PLUGINS):
        for line, imported in _imports(module, path, tree):
            top = imported.split(".")[0]
            if top == "mlflow" or (top == "omibench" and imported != "omibench"):
                violations.append(
                    f"{path.relative_to(REPO)}:{line}: plugin imports {imported} (use `from omibench import`)"
                )
    print("\n".join(violations))
    assert not violations, "\n".join(violations)


# Store reads that return numbers (metrics, params, artifact bytes): report/ gets its numbers from a
# ResultSet (omibench.results), and reads the store only for runs' tags and to write runs and notes.
_NUMBER_READS = {"metric_history", "download", "artifact_paths", "seed_runs", "summaries", "finished_run"}
_NUMBER_FIELDS = {"metrics", "params"}


def test_report_reads_no_numbers_from_the_store():
    violations = []
    for module, path, tree in _omibench_modules():
        if _layer(module) != "report":
            continue
        calls = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
        for node in ast.walk(tree):
            if not isinstance(node, ast.Attribute):
                continue
            called = id(node) in calls
            if (called and node.attr in _NUMBER_READS) or (not called and node.attr in _NUMBER_FIELDS):
                violations.append(f"{path.relative_to(REPO)}:{node.lineno}: .{node.attr}")
    assert not violations, "report/ reads numbers from the store:\n" + "\n".join(violations)


def test_the_top_level_holds_at_most_ten_modules():
    modules = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(modules) <= 10, modules


# --- names written once ---------------------------------------------------------------------------

# the modules that define the names
HOMES = {
    PACKAGE / "store" / "schema.py",
    PACKAGE / "store" / "layout.py",
    PACKAGE / "metrics" / "catalogue.py",
}
# (module, literal) -> why it is not a tag, an artifact path, a store folder or a metric key. Empty:
# the rules below already tell a tag from a module path ("omibench.translator.read_model_meta"), and a
# bare folder name from the same word used otherwise (a dict key, a CLI command, a run level)
ALLOWED_LITERALS: dict[tuple[str, str], str] = {}


def _tag_patterns() -> list[re.Pattern[str]]:
    names = {f.name for f in dataclasses.fields(schema.Tags)}
    names |= {
        value.removeprefix(schema.TAG)
        for value in vars(schema).values()
        if isinstance(value, str) and value.startswith(schema.TAG) and value != schema.TAG
    }
    # "omibench.translator" is a tag; "omibench.translator.read_model_meta" is a module path
    patterns = [re.compile(rf"(?<![\w.]){re.escape(schema.TAG)}(?:{'|'.join(sorted(names))})(?![\w.])")]
    patterns.append(re.compile(rf"^{re.escape(schema.TAG)}$"))  # the prefix alone, to be completed
    mlflow_tags = {schema.NOTE_TAG, schema.PARENT_TAG, schema.VIEW_TAG}
    mlflow_tags |= _mlflow_system_tags()
    for tag in sorted(mlflow_tags):
        end = "" if tag.endswith(".") else r"(?![\w])"
        patterns.append(re.compile(rf"(?<![\w.]){re.escape(tag)}{end}"))
    return patterns


def _mlflow_system_tags() -> set[str]:
    from mlflow.utils import mlflow_tags

    return {
        v
        for k, v in vars(mlflow_tags).items()
        if k.startswith("MLFLOW_") and isinstance(v, str) and v.startswith("mlflow.")
    }


def _layout_values() -> tuple[set[str], set[str]]:
    """(names with a ``/`` or ``.``, matched anywhere; bare words, matched where used as a path)."""
    values = {v for k, v in vars(layout).items() if k.isupper() and isinstance(v, str)}
    distinct = {v for v in values if "/" in v or "." in v}
    return distinct, values - distinct


# calls whose string arguments are paths (a bare word there is a folder name)
_PATH_CALLS = {"log_artifacts", "log_artifact", "download", "artifact_paths", "artifact", "joinpath", "Path", "join"}


def _docstrings(tree: ast.Module) -> set[int]:
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                out.add(id(body[0].value))
    return out


def _path_operands(tree: ast.Module) -> set[int]:
    """The string constants used as paths: an operand of ``/``, an argument of a path call."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            out |= {id(node.left), id(node.right)}
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            if name in _PATH_CALLS:
                out |= {id(a) for a in node.args} | {id(k.value) for k in node.keywords}
    return out


def _literal_violations(path: Path, tree: ast.Module) -> Iterator[tuple[int, str, str]]:
    tags = _tag_patterns()
    distinct, bare = _layout_values()
    layout_patterns = [re.compile(rf"(?<![\w.-]){re.escape(v)}(?![\w.-])") for v in sorted(distinct)]
    prefixes = tuple(sorted({"test/", "val/", "downstream/"}))
    skip = _docstrings(tree)
    as_path = _path_operands(tree)
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Constant) and isinstance(node.value, str)) or id(node) in skip:
            continue
        text = node.value
        if any(p.search(text) for p in tags):
            yield node.lineno, text, "a tag name (store/schema.py)"
        elif any(p.search(text) for p in layout_patterns) or (text in bare and id(node) in as_path):
            yield node.lineno, text, "an artifact path or store folder (store/layout.py)"
        elif text.startswith(prefixes):
            yield node.lineno, text, "a metric key prefix (metrics/catalogue.py)"


def _sources() -> Iterator[tuple[Path, ast.Module]]:
    for root in (PACKAGE, PLUGINS):
        for _, path, tree in _modules(root):
            if path not in HOMES:
                yield path, tree


def test_tags_paths_and_metric_keys_are_spelled_once():
    violations = []
    for path, tree in _sources():
        rel = str(path.relative_to(REPO))
        for line, text, what in _literal_violations(path, tree):
            if (rel, text) not in ALLOWED_LITERALS:
                violations.append(f"{rel}:{line}: {text!r} is {what}")
    print("\n".join(violations))
    assert not violations, "spell these with the constants of their home module:\n" + "\n".join(violations)


def test_metric_directions_live_in_the_catalogue():
    """No module but the catalogue defines a set of metrics with a direction."""
    violations = []
    for path, tree in _sources():
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names = [node.name]
            elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                names = [n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)]
            for name in names:
                if "LOWER_IS_BETTER" in name or "HIGHER_IS_BETTER" in name:
                    violations.append(f"{path.relative_to(REPO)}:{node.lineno}: {name}")
    assert not violations, "\n".join(violations)


@pytest.mark.parametrize(
    ("source", "found"),
    [
        ('x = "omibench.label"', True),
        ('x = f"tags.`omibench.board` = 1"', True),
        ('x = "see omibench.translator.read_model_meta"', False),
        ('x = "python -m omibench.run.jobs"', False),
        ('x = "mlflow.note.content"', True),
        ('x = f"{d}/results/chosen.json"', True),
        ('x = path / "model"', True),
        ('x = {"model": 1}', False),
        ('x = "downstream/f1"', True),
        ('x = f"test/{name}"', True),
        ('x = "no latest/ here"', False),
        ('def f():\n    """test/mse and results/chosen.json are named here."""', False),
    ],
)
def test_the_literal_scan_itself(source, found):
    tree = ast.parse(source)
    assert bool(list(_literal_violations(Path("x.py"), tree))) is found
