"""Statistics over outer splits and across cohorts; pure (numpy / scipy in, dataclasses out).

Nothing here imports the rest of omibench: a metric's direction (``lower_is_better``) and ideal
value come from the caller, who takes them from :mod:`omibench.metrics.catalogue`.
"""

from __future__ import annotations

from omibench.stats.intervals import (
    Interval,
    PairedComparison,
    bootstrap_interval,
    compare_to_reference,
    corrected_t_interval,
    mean_interval,
    paired_comparison,
    prob_better,
    wilson_interval,
)
from omibench.stats.skill import (
    Skill,
    SkillSummary,
    best_anchor,
    skill_over_splits,
    skill_score,
    summarise_skill,
)

__all__ = [
    "Interval",
    "PairedComparison",
    "Skill",
    "SkillSummary",
    "best_anchor",
    "bootstrap_interval",
    "compare_to_reference",
    "corrected_t_interval",
    "mean_interval",
    "paired_comparison",
    "prob_better",
    "skill_over_splits",
    "skill_score",
    "summarise_skill",
    "wilson_interval",
]
