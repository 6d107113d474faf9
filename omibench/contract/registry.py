"""Plugin discovery: one path for built-in, installed and local translators and data sources.

Order: the core's own data sources, then every entry point of the ``omibench`` group (the
built-in translators in ``plugins/`` arrive this way, exactly like a third-party package), then
every ``*.py`` of the local plugin folders. A plugin that fails to import, misspells a hook or
registers something invalid is reported in ``Registry.problems`` and left out; the rest stay usable.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.metadata as md
import importlib.util
import os
import sys
import traceback
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pluggy

from omibench.contract import hookspecs
from omibench.contract.translator import Translator
from omibench.errors import PluginError, one_line

__all__ = ["PluginSource", "Registry", "load_registry", "ENTRY_POINT_GROUP"]

ENTRY_POINT_GROUP = "omibench"
DEFAULT_PLUGINS = ("omibench.data.sources",)
_HOOK_NAMES = ("omibench_register_translators", "omibench_register_datasets")


@dataclass(frozen=True)
class PluginSource:
    """Where a registered class came from, for listings and error messages."""

    kind: str  # "core" | "entry point" | "file"
    label: str  # package name and version, or the file path

    def __str__(self) -> str:
        return f"{self.label} ({self.kind})"


@dataclass
class Registered:
    cls: type
    source: PluginSource


@dataclass
class Registry:
    """Every translator and data source found, by name, plus the problems met on the way."""

    translators: dict[str, Registered] = field(default_factory=dict)
    datasets: dict[str, Registered] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    _ambiguous: dict[str, list[PluginSource]] = field(default_factory=dict)

    def translator(self, name: str) -> type[Translator]:
        """The translator class registered as ``name``; a clear error (with suggestions) if none."""
        return self._get(self.translators, name, "translator")

    def dataset(self, name: str) -> type:
        return self._get(self.datasets, name, "data source")

    def _get(self, table: dict[str, Registered], name: str, what: str) -> type:
        if name in self._ambiguous:
            where = " and ".join(str(s) for s in self._ambiguous[name])
            raise PluginError(f"{what} {name!r} is registered twice, by {where}: remove or rename one")
        if name not in table:
            close = difflib.get_close_matches(name, list(table), n=3, cutoff=0.5)
            hint = f"did you mean {', '.join(map(repr, close))}?" if close else "see `omibench plugins`"
            raise PluginError(f"unknown {what} {name!r}: {hint}")
        return table[name].cls

    def add(self, kind: str, cls: Any, source: PluginSource) -> None:
        from omibench.data.sources import DataSource

        table, base = (self.translators, Translator) if kind == "translator" else (self.datasets, DataSource)
        if not (isinstance(cls, type) and issubclass(cls, base)):
            where = f"{base.__module__.split('.')[0]}.{base.__name__}"
            self.problems.append(f"{source}: registered {cls!r}, which is not a {where} subclass; skipped")
            return
        name = getattr(cls, "name", "")
        if not isinstance(name, str) or not name.strip():
            self.problems.append(f"{source}: {cls.__name__} has no `name` class attribute; skipped")
            return
        if (
            kind == "translator"
            and getattr(cls, "uses_test_labels", False) is not False
            and getattr(cls, "control", False) is not True
        ):
            self.problems.append(
                f"{source}: translator {name!r} sets uses_test_labels without control = True: only a "
                "control may read the labels of the samples it predicts; skipped"
            )
            return
        if name in table and table[name].cls is not cls:
            first = table[name].source
            self._ambiguous.setdefault(name, [first]).append(source)
            self.problems.append(f"{kind} name {name!r} is registered by both {first} and {source}: rename one")
            return
        table[name] = Registered(cls, source)


def load_registry(plugin_dirs: Iterable[str | Path] = ()) -> Registry:
    """Discover every plugin and return the filled registry (fresh on each call)."""
    registry = Registry()
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    sources: dict[int, PluginSource] = {}

    def register(module: ModuleType, name: str, source: PluginSource) -> None:
        try:
            pm.register(module, name=name)
        except (ValueError, pluggy.PluginValidationError) as exc:
            registry.problems.append(f"{source}: {exc}; plugin skipped")
            return
        bad = _misspelt_hooks(module)
        if bad:
            pm.unregister(module)
            registry.problems.append(f"{source}: {bad}; plugin skipped")
            return
        sources[id(module)] = source

    version = _version("omibench")
    for modname in DEFAULT_PLUGINS:
        register(importlib.import_module(modname), modname, PluginSource("core", f"omibench {version}"))

    blocked = {n.strip() for n in os.environ.get("OMIBENCH_DISABLE_PLUGINS", "").split(",") if n.strip()}
    for ep in sorted(md.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        if ep.name in blocked:
            continue
        dist = ep.dist
        label = f"{dist.name} {dist.version}" if dist is not None else ep.value
        source = PluginSource("entry point", f"{label}: {ep.name} = {ep.value}")
        try:
            module = ep.load()
        except (Exception, SystemExit) as exc:
            registry.problems.append(f"{source}: import failed: {one_line(exc)}{_raised_at(exc)}")
            continue
        register(module, f"ep:{ep.name}", source)

    for directory in plugin_dirs:
        for path in _plugin_files(Path(directory)):
            source = PluginSource("file", str(path))
            try:
                module = _import_file(path)
            except (Exception, SystemExit) as exc:
                registry.problems.append(f"{source}: import failed: {one_line(exc)}{_raised_at(exc)}")
                continue
            register(module, f"file:{path}", source)

    for hook_name, kind in (("omibench_register_translators", "translator"), ("omibench_register_datasets", "dataset")):
        for impl in getattr(pm.hook, hook_name).get_hookimpls():
            source = sources[id(impl.plugin)]
            try:
                returned = impl.function(
                    **{a: (lambda cls, _s=source, _k=kind: registry.add(_k, cls, _s)) for a in impl.argnames}
                )
                if returned is not None:
                    registry.problems.append(
                        f"{source}: {hook_name} returned a value, which is ignored: "
                        f"take a `register` argument and call register(cls) for each class"
                    )
            except Exception as exc:
                registry.problems.append(f"{source}: {hook_name} raised {one_line(exc)}{_raised_at(exc)}")
    return registry


def _misspelt_hooks(module: ModuleType) -> str:
    """Describe functions that look like omibench hooks but match none (pluggy would ignore them)."""
    problems = []
    for attr in dir(module):
        if attr.startswith("omibench_") and attr not in _HOOK_NAMES and callable(getattr(module, attr)):
            close = difflib.get_close_matches(attr, _HOOK_NAMES, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            problems.append(f"{attr!r} is not an omibench hook{hint}")
    return "; ".join(problems)


def _plugin_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        from omibench.errors import ConfigError

        raise ConfigError(f"plugins folder {str(directory)!r} does not exist: fix plugins_dir / --plugins-dir")
    return sorted(p for p in directory.glob("*.py") if not p.name.startswith("_"))


def _import_file(path: Path) -> ModuleType:
    name = f"omibench_local_plugins.{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # so worker processes and pickle can find the classes
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def _version(dist: str) -> str:
    try:
        return md.version(dist)
    except md.PackageNotFoundError:
        return "unknown"


def _raised_at(exc: BaseException) -> str:
    """`` (at file.py:line)``: where ``exc`` was raised ("" without a traceback)."""
    last = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    return f" (at {Path(last[0].filename).name}:{last[0].lineno})" if last else ""
