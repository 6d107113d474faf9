"""What a :class:`~omibench.results.load.ResultSet` says: intervals, paired comparisons, the ranking on
matched splits and the skill score against the best control. Every direction comes from the metric
catalogue; every statistic from :mod:`omibench.stats`.

- **Intervals** (:func:`interval`): ``corrected`` (default) is Nadeau & Bengio's corrected resampled t
  with the sizes each model was really fitted on (n_fit: training, or training + validation after a
  refit) and scored on: an interval for the translator's expected score at that training size.
  ``plain`` is the Student t over the outer splits: how the score moves over re-splits of this cohort.
  It covered the expected score 70% of the time at 95% in a simulation (benchmarks/coverage.py), the
  corrected one 93%.
- **Matched splits** (:func:`ranking`): ranks and the mean used for ranking are over one block of
  outer splits that every ranked translator ran on. The block is every split any translator ran on;
  a translator missing some of them is shown unranked ("n = 3 of 10"), never mixed in. When no
  translator ran every split, all are ranked on the splits they share (and the table says so).
- **Skill** (:func:`skill`): per split, 0 = the best anchoring control of that split (the stronger of
  ``train_mean`` and ``class_mean`` for this metric; ``random_profile`` never anchors), 1 = the truth
  (the metric's ideal); not clipped, so a translator a control beats is negative and flagged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from omibench.metrics import catalogue
from omibench.results.load import ResultSet, TranslatorResult
from omibench.stats import Interval, PairedComparison, mean_interval, paired_comparison
from omibench.stats.skill import SkillSummary, skill_over_splits, summarise_skill

__all__ = [
    "IntervalKind",
    "PairedMethod",
    "Ranking",
    "SkillTable",
    "compare",
    "interval",
    "ranking",
    "skill",
]

IntervalKind = Literal["corrected", "plain"]
PairedMethod = Literal["corrected_t", "bootstrap"]


def interval(
    result: TranslatorResult,
    metric: str,
    kind: IntervalKind = "corrected",
    confidence: float = 0.95,
    splits: Sequence[str] | None = None,
) -> Interval | None:
    """Mean of ``metric`` over ``splits`` (default: all of the result's) with its interval; None when the
    metric was not logged there. ``corrected`` falls back to ``plain`` where the runs logged no sizes
    (the interval's ``method`` says which was used)."""
    per = result.values.get(metric, {})
    chosen = [s for s in (splits if splits is not None else sorted(per)) if s in per]
    if not chosen:
        return None
    values = [per[s] for s in chosen]
    sizes = result.fitted_sizes(chosen) if kind == "corrected" else None
    if sizes is None:
        return mean_interval(values, confidence)
    return mean_interval(values, confidence, n_fit=sizes[0], n_test=sizes[1])


def compare(
    results: ResultSet,
    baseline: str,
    metric: str,
    method: PairedMethod = "corrected_t",
    confidence: float = 0.95,
) -> dict[str, PairedComparison]:
    """Every translator (never a control) against ``baseline`` on ``metric``, paired on the outer splits
    both ran. The corrected t uses the baseline's fitted sizes on those splits; where none were logged,
    the bootstrap. ``{}`` when the baseline is absent or has no value of ``metric``."""
    ref = results.get(baseline)
    if ref is None or not ref.values.get(metric):
        return {}
    lower = catalogue.is_lower_better(metric)
    out: dict[str, PairedComparison] = {}
    for res in results.translators:
        if res.label == baseline or not res.values.get(metric):
            continue
        shared = [s for s in ref.splits if s in res.values[metric] and s in ref.values[metric]]
        if not shared:
            continue
        sizes = ref.fitted_sizes(shared)
        how: PairedMethod = method if sizes is not None else "bootstrap"
        out[res.label] = paired_comparison(
            [res.values[metric][s] for s in shared],
            [ref.values[metric][s] for s in shared],
            metric=metric,
            lower_is_better=lower,
            n_fit=sizes[0] if sizes else None,
            n_test=sizes[1] if sizes else None,
            method=how,
            confidence=confidence,
        )
    return out


@dataclass
class Ranking:
    """The ranking of the translators (controls excluded) on one metric. ``order``: ranked labels, best
    first; ``means``: each ranked label's mean over ``block``; ``partial``: unranked labels with
    (splits run, splits in the block); ``note``: how the block was chosen, for the table's footnote."""

    metric: str
    block: list[str]
    order: list[str] = field(default_factory=list)
    means: dict[str, float] = field(default_factory=dict)
    partial: dict[str, tuple[int, int]] = field(default_factory=dict)
    note: str = ""

    def rank(self, label: str) -> int | None:
        return self.order.index(label) + 1 if label in self.order else None


def ranking(results: ResultSet, metric: str) -> Ranking:
    """Rank translators on a complete block of outer splits (see the module docstring)."""
    runs = {r.label: set(r.values.get(metric, {})) for r in results.translators if r.values.get(metric)}
    union = sorted(set().union(*runs.values())) if runs else []
    complete = [label for label, splits in runs.items() if splits >= set(union)]
    if complete or not runs:
        block, note = union, ""
        partial = {label: (len(s), len(union)) for label, s in runs.items() if label not in complete}
        if partial:
            note = f"ranked on the {len(union)} outer splits every ranked translator ran; " + ", ".join(
                f"{label}: n = {n} of {m}, not ranked" for label, (n, m) in partial.items()
            )
    else:
        shared = set.intersection(*runs.values())
        block, complete, partial = sorted(shared), list(runs) if shared else [], {}
        note = (
            f"no translator ran all {len(union)} outer splits: ranked on the {len(block)} they all ran"
            if shared
            else "the translators share no outer split: not ranked"
        )
    out = Ranking(metric, block, partial=partial, note=note)
    for res in results.translators:
        values = res.on(metric, block) if res.label in complete else None
        if values is not None:
            out.means[res.label] = float(values.mean())
    lower = catalogue.is_lower_better(metric)
    out.order = sorted(out.means, key=lambda label: out.means[label] if lower else -out.means[label])
    return out


@dataclass
class SkillTable:
    """Skill scores on one metric: per translator its summary over outer splits; ``notes`` says what
    could not be scored (no anchoring control, no ideal value, degenerate splits)."""

    metric: str
    scores: dict[str, SkillSummary] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def below_control(self) -> list[str]:
        return [label for label, s in self.scores.items() if s.below_control]


def skill(results: ResultSet, metric: str) -> SkillTable:
    """Skill of every translator on ``metric`` split by split against the best anchoring control."""
    out = SkillTable(metric)
    ideal = catalogue.lookup(metric).ideal
    anchors = [r for r in results.controls if r.anchor and r.values.get(metric)]
    if ideal is None:
        out.notes.append(f"no skill score: {metric} has no known ideal value")
        return out
    if not anchors:
        out.notes.append("no skill score: no anchoring control (train_mean, class_mean) was run")
        return out
    lower = catalogue.is_lower_better(metric)
    controls = {a.label: a.values[metric] for a in anchors}
    reasons: set[str] = set()
    for res in results.translators:
        if not res.values.get(metric):
            continue
        per_split = skill_over_splits(res.values[metric], controls, ideal=ideal, lower_is_better=lower)
        out.scores[res.label] = summarise_skill(per_split)
        reasons |= {s.degenerate for s in per_split.values() if s.degenerate}
    out.notes += sorted(f"skill undefined on some splits: {r}" for r in reasons)
    return out
