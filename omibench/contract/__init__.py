"""What a plugin author reads: the translator contract, its constraints, the hooks, the registry that
finds plugins, and the conformance checks any translator can be run through.

Plugins import from the top-level package (``from omibench import Translator, hookimpl, Interval``);
this package also exports the conformance helpers for a plugin's own tests.
"""

from __future__ import annotations

from omibench.contract.conformance import check_translator, parametrize_with_checks, run_checks

__all__ = ["check_translator", "parametrize_with_checks", "run_checks"]
