"""Skill score against the best control, per outer split.

Data contract: for one cohort, metric and outer split, ``value`` is a translator's test value, the
anchor is the value of the **strongest anchoring control** on the same split (:func:`best_anchor`
over e.g. ``train_mean``, ``class_mean``, ``random_profile``; never the truth, whose value is the
metric's ideal), and ``ideal`` is what a perfect translation scores (0 for mse, 1 for R²; from the
metric catalogue, :mod:`omibench.metrics.catalogue`).

    skill = (value - anchor) / (ideal - anchor)

0 is the best control of that split, 1 is the truth; the same formula serves both directions (for
mse, ideal 0, it is 1 - value / anchor; for R², ideal 1, (value - anchor) / (1 - anchor)). It is not
clipped: a translator that a control beats scores below 0, and says so. A split where the score
means nothing (the best control already scores the ideal, a non-finite input, a metric with no ideal)
is never turned into a number: its :class:`Skill` has a NaN value and a one-line reason, and
:func:`summarise_skill` counts it apart.

Unlike Open Problems' control scaling, which put the *worst* control at 0 (in practice
``random_profile``, so it read about (R² + 1) / 2), the anchor here is the *best* control: a positive
skill means better than every control on that split.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "Skill",
    "SkillSummary",
    "best_anchor",
    "skill_over_splits",
    "skill_score",
    "summarise_skill",
]

_REL_TOL = 1e-12  # |ideal - anchor| at or below this (relative to the values' scale) counts as equal

NO_IDEAL = "the metric has no ideal value"
ANCHOR_IS_IDEAL = "the best control scores the ideal value"
NO_CONTROL = "no control has a finite value on this split"
NONFINITE_VALUE = "the translator's value is not finite"
NONFINITE_IDEAL = "the ideal value is not finite"


@dataclass(frozen=True)
class Skill:
    """One split's skill score. ``degenerate`` is "" for a real score; otherwise ``value`` is NaN and
    ``degenerate`` says in one line why there is no score."""

    value: float
    degenerate: str = ""

    @property
    def ok(self) -> bool:
        """True when ``value`` is a real score."""
        return not self.degenerate


@dataclass(frozen=True)
class SkillSummary:
    """Skill over a cohort's splits. ``mean``: over the non-degenerate splits (NaN when none);
    ``n``: those splits; ``n_degenerate``: splits left out; ``below_control``: the mean is below 0,
    i.e. on average the best control of a split beats the translator; ``reasons``: the distinct
    reasons of the splits left out."""

    mean: float
    n: int
    n_degenerate: int
    below_control: bool
    reasons: tuple[str, ...] = ()


def best_anchor(control_values: Sequence[float] | np.ndarray, lower_is_better: bool) -> float:
    """The strongest control's value on one split: the lowest when ``lower_is_better``, else the highest.

    ``control_values``: the anchoring controls' values on that split (not the truth). NaN when there
    is none or any of them is NaN: a control that failed on a split is not silently replaced by a
    weaker one (that would inflate the skill); :func:`skill_score` then says so.
    """
    c = np.asarray(control_values, dtype=np.float64).ravel()
    if c.size == 0 or bool(np.any(np.isnan(c))):
        return math.nan
    return float(c.min() if lower_is_better else c.max())


def skill_score(value: float, anchor: float, ideal: float | None) -> Skill:
    """(value - anchor) / (ideal - anchor): 0 at the best control, 1 at the truth, below 0 when a
    control does better. Not clipped. Degenerate cases (no ideal, a non-finite input, the anchor at
    the ideal) come back with a NaN value and their reason, never as a number."""
    if ideal is None:
        return Skill(math.nan, NO_IDEAL)
    if not math.isfinite(ideal):
        return Skill(math.nan, NONFINITE_IDEAL)
    if not math.isfinite(anchor):
        return Skill(math.nan, NO_CONTROL)
    if not math.isfinite(value):
        return Skill(math.nan, NONFINITE_VALUE)
    span = ideal - anchor
    if abs(span) <= _REL_TOL * max(1.0, abs(ideal), abs(anchor)):
        return Skill(math.nan, ANCHOR_IS_IDEAL)
    return Skill((value - anchor) / span)


def skill_over_splits(
    values: Mapping[str, float],
    controls: Mapping[str, Mapping[str, float]],
    *,
    ideal: float | None,
    lower_is_better: bool,
) -> dict[str, Skill]:
    """Skill of one translator on each of its splits, anchored on that split's best control.

    ``values``: split hash -> the translator's test value; ``controls``: control label -> {split hash
    -> test value} (anchoring controls only, not the truth). A control without that split counts as
    missing there (the split's skill is then degenerate, see :func:`best_anchor`).
    """
    out: dict[str, Skill] = {}
    for split, value in values.items():
        anchors = [c.get(split, math.nan) for c in controls.values()]
        out[split] = skill_score(value, best_anchor(anchors, lower_is_better), ideal)
    return out


def summarise_skill(per_split: Mapping[str, Skill] | Iterable[Skill]) -> SkillSummary:
    """Mean skill over the non-degenerate splits, with the count of those left out and why."""
    skills = list(per_split.values()) if isinstance(per_split, Mapping) else list(per_split)
    good = [s.value for s in skills if s.ok]
    reasons = tuple(dict.fromkeys(s.degenerate for s in skills if not s.ok))
    mean = float(np.mean(good)) if good else math.nan
    return SkillSummary(mean, len(good), len(skills) - len(good), bool(good) and mean < 0, reasons)
