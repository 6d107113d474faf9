"""The one read path: a tracking store's finished runs of an experiment as per-split results.

``results.load(store, experiment)`` returns a :class:`ResultSet` (per translator: per-split values,
seeds, fitted sizes, control flag, tuned, run ids) with the single "current result" rule
(:func:`current`); :mod:`omibench.results.analysis` turns it into intervals, paired comparisons, the
ranking on matched splits and skill scores. Renderers (:mod:`omibench.report`) take a ResultSet and
never read numbers from a store. Nothing here imports plugins, the registry or torch.
"""

from __future__ import annotations

from omibench.results.artifacts import read_predictions
from omibench.results.load import ResultSet, TranslatorResult, available_metrics, current, from_summaries, load

__all__ = [
    "ResultSet",
    "TranslatorResult",
    "available_metrics",
    "current",
    "from_summaries",
    "load",
    "read_predictions",
]
