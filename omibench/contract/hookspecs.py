"""The pluggy hooks through which plugins hand omibench their classes.

A plugin is a module (an installed package's entry point in the ``omibench`` group, or a ``*.py``
file in a local plugins folder) that implements one or both hooks::

    from omibench import hookimpl

    @hookimpl
    def omibench_register_translators(register):
        register(MyTranslator)

The hooks are deliberately thin: they only hand classes to a registry, which validates them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pluggy

__all__ = ["PROJECT", "hookimpl", "hookspec", "omibench_register_translators", "omibench_register_datasets"]

PROJECT = "omibench"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def omibench_register_translators(register: Callable[[type[Any]], None]) -> None:
    """Register translator classes: call ``register(cls)`` once per :class:`omibench.Translator`
    subclass. Each class carries its own unique ``name``."""


@hookspec
def omibench_register_datasets(register: Callable[[type[Any]], None]) -> None:
    """Register data-source classes: call ``register(cls)`` once per :class:`omibench.DataSource`
    subclass. The experiment YAML selects one with ``data: {source: <name>, ...}``."""
