"""Reading YAML safely: :func:`safe_yaml` and :func:`safe_yaml_text` refuse, in one
:class:`~omibench.errors.ConfigError`, what ``yaml.safe_load`` would turn into a traceback or a
memory blow-up (invalid YAML, several documents, deep nesting, alias bombs, recursive aliases).

Self-contained (PyYAML and :mod:`omibench.errors` only); :mod:`omibench.config` re-exports both
functions, and every caller imports them from there."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from omibench.errors import ConfigError, one_line

__all__ = ["safe_yaml", "safe_yaml_text"]


_MAX_YAML_BYTES = 1_000_000
_MAX_YAML_NODES = 100_000
_MAX_YAML_DEPTH = 40  # an experiment nests 5 levels; PyYAML's composer recurses (RecursionError at ~300)


def safe_yaml(path: Path) -> Any:
    """``yaml.safe_load`` of a UTF-8 file of at most 1 MB, refusing in one :class:`ConfigError` what
    would otherwise be a traceback or exhaust memory: invalid YAML (with its line and column), more
    than one document, nesting deeper than 40 levels (checked on the parser's events, before the
    recursive composer sees it), aliases that expand to more than 100,000 nodes (a "billion laughs"
    alias bomb, refused before anything expands it) or to more than 40 levels, and an alias used
    inside its own anchor (a recursive document)."""
    try:
        if path.stat().st_size > _MAX_YAML_BYTES:
            raise ConfigError(f"{path}: {path.stat().st_size} bytes is too large for an experiment file (limit 1 MB)")
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start}): save the file as UTF-8") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    return safe_yaml_text(text, str(path))


def safe_yaml_text(text: str, where: str) -> Any:
    """:func:`safe_yaml` of a string (``where`` names it in messages: a file, ``--set key``)."""
    try:
        depth = 0
        for event in yaml.parse(text, Loader=yaml.SafeLoader):  # the parser keeps an explicit stack
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > _MAX_YAML_DEPTH:
                    mark = event.start_mark
                    raise ConfigError(
                        f"{where}: nested deeper than {_MAX_YAML_DEPTH} levels (line {mark.line + 1}, column "
                        f"{mark.column + 1}): an experiment nests a few levels; check the brackets and indentation"
                    )
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        if node is None:
            return None
        size, _ = _expanded(node, {}, set(), 1, where)
        if size > _MAX_YAML_NODES:
            raise ConfigError(
                f"{where}: its aliases (*name) expand to more than {_MAX_YAML_NODES:,} values: "
                "an alias bomb? write the values out or use fewer nested aliases"
            )
        loader = yaml.SafeLoader("")
        try:
            return loader.construct_document(node)
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or one_line(exc, with_type=False)
        raise ConfigError(f"{where}: invalid YAML{at}: {problem}") from None


def _expanded(
    node: yaml.Node, memo: dict[int, tuple[int, int]], path: set[int], depth: int, where: str
) -> tuple[int, int]:
    """(nodes, levels) of ``node`` after alias expansion, each shared node counted once per use
    (memoised: linear time). Refuses an alias inside its own anchor, and expansion past
    ``_MAX_YAML_DEPTH`` levels, so neither this walk nor the constructor recurses deeply."""
    key = id(node)
    if key in path:
        raise ConfigError(
            f"{where}: an alias (*name) is used inside its own anchor (&name), which makes the document "
            "infinitely deep: write the values out"
        )
    if key not in memo:
        children: list[yaml.Node] = []
        if isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        path.add(key)
        size, levels = 1, 0
        for child in children:
            child_size, child_levels = _expanded(child, memo, path, depth + 1, where)
            size, levels = min(size + child_size, _MAX_YAML_NODES + 1), max(levels, child_levels)
        path.discard(key)
        memo[key] = (size, levels + 1)
    size, levels = memo[key]
    if depth + levels - 1 > _MAX_YAML_DEPTH:
        raise ConfigError(
            f"{where}: its aliases (*name) expand to more than {_MAX_YAML_DEPTH} levels: write the values out"
        )
    return size, levels
