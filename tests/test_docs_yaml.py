"""Every ```yaml block of the README and docs/*.md is parsed by the config model, so a reference can
never show a value that is refused.

The rule, per block:

- a block with ``name`` and ``translators`` is a whole experiment, validated as it is;
- any other mapping is a fragment of one, merged (mapping into mapping, anything else replaced)
  into a minimal valid experiment (:data:`MINIMAL`), then validated;
- besides the config model, the values the model leaves to others are checked the same way an
  experiment checks them: ``data`` / ``source_data`` by their data source's declared fields (built-in
  sources), ``preprocess.b`` / ``preprocess.a`` by the step specs;
- a block that shows a refused value on purpose says so with a comment line ``# invalid: why``,
  and must then be refused.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest

from omibench.config import safe_yaml_text, validate_config
from omibench.contract.registry import load_registry
from omibench.data.sources import build_source
from omibench.data.steps import build_steps
from omibench.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
BLOCK = re.compile(r"^```ya?ml[^\n]*\n(.*?)^```", re.S | re.M)
MINIMAL: dict[str, Any] = {"name": "docs", "translators": [{"name": "ridge"}]}
BUILT_IN_SOURCES = {"synthetic", "files", "mogonet", "anndata"}


def _blocks() -> list[tuple[str, str]]:
    found = []
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        for m in BLOCK.finditer(text):
            line = text[: m.start()].count("\n") + 1
            found.append((f"{path.relative_to(REPO)}:{line}", m.group(1)))
    return found


BLOCKS = _blocks()


def _merge(base: dict[str, Any], fragment: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in fragment.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def validate_block(text: str, where: str) -> None:
    """Validate one block by the rule above; a refused value raises :class:`ConfigError`."""
    raw = safe_yaml_text(text, where)
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: a YAML block of the docs must be a mapping (an experiment or a part of one)")
    whole = raw if {"name", "translators"} <= set(raw) else _merge(MINIMAL, raw)
    cfg = validate_config(whole, where)
    registry = load_registry()
    for block in (cfg.data, cfg.source_data):
        if block is not None and block["source"] in BUILT_IN_SOURCES:
            build_source(registry.dataset(block["source"]), {k: v for k, v in block.items() if k != "source"})
    build_steps(cfg.preprocess.b, "b")
    build_steps(cfg.preprocess.a, "a")


def test_the_docs_have_yaml_blocks():
    assert len(BLOCKS) >= 3, [w for w, _ in BLOCKS]  # the reference, preprocessing, executors


@pytest.mark.parametrize(("where", "text"), BLOCKS, ids=[w for w, _ in BLOCKS])
def test_every_yaml_block_of_the_docs_is_accepted_or_marked_invalid(where, text):
    if re.search(r"^\s*#\s*invalid:", text, re.M):
        with pytest.raises(ConfigError):
            validate_block(text, where)
    else:
        validate_block(text, where)


@pytest.mark.parametrize(
    ("text", "accepted"),
    [
        ("refit: none\n", True),
        ("refit: null\n", False),  # the value the README once showed
        ("executor: {kind: process}\ntimeout_s: null\n", True),
        ("split: {seed: -1}\n", False),
        ("data: {source: synthetic, n_samples: 100}\n", True),
        ("data: {source: synthetic, b: x.csv}\n", False),  # a files field under synthetic
        ("preprocess: {b: [{variance: {top_k: 0}}]}\n", False),
        ("name: full\ntranslators: [{name: lasso}]\nseeds: [0, 1]\n", True),
        ("- a list\n", False),
    ],
)
def test_the_rule_itself(text, accepted):
    if accepted:
        validate_block(text, "t")
    else:
        with pytest.raises(ConfigError):
            validate_block(text, "t")
