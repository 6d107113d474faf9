"""How the file paths of an experiment resolve: one rule for every file an experiment names.

A relative path (``data.b``, ``data.a``, ``data.labels``, ``split.test_ids``, the feature lists of
``keep_features`` / ``drop_features`` and the tables of ``order_by_location``) is looked up under
``data.root`` first and then from the current folder; the first that exists is used. An absolute
path is used as written. ``data.root`` itself is relative to the current folder. So
``--set data.root=DIR`` alone points an experiment at a folder that holds its files, while shared
files (e.g. annotation tables given from the project folder) are still found.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["resolve"]


def resolve(path: str | Path, root: str | Path | None) -> Path:
    """``path`` under ``root`` when it exists there, else as given (relative to the current folder)."""
    path = Path(path)
    if path.is_absolute() or root is None:
        return path
    under = Path(root) / path
    return under if under.exists() else path
