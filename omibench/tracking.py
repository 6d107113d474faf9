"""Deprecated alias of :mod:`omibench.store` (kept for old scripts and tests; use ``omibench.store``)."""

from __future__ import annotations

from .store import TAG, RunLevel
from .store import MlflowStore as Tracker

__all__ = ["Tracker", "TAG", "LEVEL_SUMMARY", "LEVEL_SEED"]

LEVEL_SUMMARY = RunLevel.SUMMARY.value
LEVEL_SEED = RunLevel.SEED.value
