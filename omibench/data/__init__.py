"""Paired data: sources, readers, splits and fitted preprocessing (imported on first use)."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from omibench.data.paired import PairedData
    from omibench.data.preprocess import Preprocessor
    from omibench.data.sources import DataSource
    from omibench.data.splits import Split, make_split
    from omibench.data.synthetic import make_synthetic

__all__ = ["DataSource", "PairedData", "Preprocessor", "Split", "make_split", "make_synthetic"]

_WHERE = {
    "PairedData": ".paired",
    "Preprocessor": ".preprocess",
    "DataSource": ".sources",
    "Split": ".splits",
    "make_split": ".splits",
    "make_synthetic": ".synthetic",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(import_module(_WHERE[name], __name__), name)
    raise AttributeError(f"module 'omibench.data' has no attribute {name!r}")
