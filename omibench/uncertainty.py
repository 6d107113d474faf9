"""Per-split results read back from the store, and the intervals and paired comparisons built on them.

Data contract: a translator's result is its newest FINISHED summary run. Its job-level runs are its
FINISHED children (one per outer split and seed; a summary without children is its own single job).
Each job carries the tag ``split_hash`` (else the summary's), the tag ``seed`` and the test metrics
``test/<metric>`` (plus ``downstream/<metric>`` and ``fit_time_s``). Values are averaged over seeds
within an outer split, then summarised over outer splits with :mod:`omibench.stats`. With one outer
split there is no interval (the bounds are NaN), never a fabricated ``± 0``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from .metrics import LOWER_IS_BETTER
from .stats import Interval, PairedComparison, compare_to_reference, mean_interval
from .store import Run, RunLevel, RunStatus, Store

__all__ = [
    "IntervalMethod",
    "TranslatorResults",
    "collect",
    "comparisons",
    "control_names",
    "is_control_run",
    "is_lower_better",
    "logged_metrics",
    "metric_key",
]

IntervalMethod = Literal["corrected_t", "bootstrap"]
_NOT_JOBS = {RunLevel.REFERENCE, RunLevel.REPORT, RunLevel.STUDY, RunLevel.TRIAL}
_PREFIXES = ("test/", "downstream/")
_PLAIN = ("fit_time_s", "predict_time_s", "fit_cpu_s", "peak_rss_mb", "peak_gpu_mb")


def metric_key(name: str) -> str:
    """The short name of a logged metric: ``test/mse`` -> ``mse``; ``downstream/f1`` and
    ``fit_time_s`` stay as they are."""
    return name.removeprefix("test/")


def is_lower_better(metric: str) -> bool:
    """Direction of a metric by its short name (times, memory and errors go down; R², accuracy go up)."""
    return metric in LOWER_IS_BETTER or metric.endswith(("_time_s", "_cpu_s", "_mb"))


def _result_values(run: Run) -> dict[str, float]:
    out = {}
    for name, value in run.metrics.items():
        if name.endswith("_std") or not (name.startswith(_PREFIXES) or name in _PLAIN):
            continue
        out[metric_key(name)] = float(value)
    return out


def logged_metrics(runs: Sequence[Run]) -> list[str]:
    """Short names of every result metric the summary runs ``runs`` logged, sorted."""
    return sorted({k for run in runs for k in _result_values(run)})


def is_control_run(run: Run, controls: frozenset[str]) -> bool:
    """A summary run of a control: tagged so, or of a translator named in ``controls``."""
    tag = run.other_tags.get("omibench.control") or run.other_tags.get("control") or ""
    return tag.lower() in {"1", "true", "yes"} or (run.tags.translator or "") in controls


def control_names() -> frozenset[str]:
    """Registered translators whose class sets ``control = True`` (none if the registry fails to load)."""
    from ._errors import OmibenchError
    from .registry import load_registry

    try:
        registry = load_registry()
    except OmibenchError:
        return frozenset()
    return frozenset(name for name, reg in registry.translators.items() if getattr(reg.cls, "control", False))


@dataclass
class TranslatorResults:
    """One translator's per-split results: ``values[metric][split_hash]`` = mean over seeds."""

    label: str
    run_id: str
    translator: str | None = None
    control: bool = False
    tuned: bool = False
    seeds: set[int] = field(default_factory=set)
    values: dict[str, dict[str, float]] = field(default_factory=dict)
    n_train: float | None = None  # training + validation samples per split (mean over jobs)
    n_test: float | None = None

    @property
    def splits(self) -> list[str]:
        return sorted({h for per in self.values.values() for h in per})

    def interval(self, metric: str, confidence: float = 0.95) -> Interval | None:
        """Mean over outer splits with a Student-t interval; None when the metric was not logged."""
        per = self.values.get(metric)
        if not per:
            return None
        return mean_interval(list(per.values()), confidence)

    def sd(self, metric: str) -> float:
        per = list(self.values.get(metric, {}).values())
        return float(np.std(per, ddof=1)) if len(per) > 1 else math.nan


def _jobs(store: Store, summary: Run) -> list[Run]:
    children = store.search(summary.experiment_id, status=RunStatus.FINISHED, parent_id=summary.run_id)
    jobs = [c for c in children if c.tags.level not in _NOT_JOBS]
    return jobs or [summary]


def _size(run: Run, summary: Run, *names: str) -> float | None:
    total = 0.0
    for name in names:
        text = run.params.get(name, summary.params.get(name))
        try:
            total += float(text) if text is not None else math.nan
        except ValueError:
            return None
    return total


def results_of(store: Store, summary: Run, controls: frozenset[str] = frozenset()) -> TranslatorResults:
    """Per-split values of one summary run (see the module docstring)."""
    res = TranslatorResults(
        label=summary.label,
        run_id=summary.run_id,
        translator=summary.tags.translator,
        control=is_control_run(summary, controls),
        tuned=bool(summary.tags.tuned_from),
    )
    per_split: dict[str, dict[str, list[float]]] = {}
    trains, tests = [], []
    for job in _jobs(store, summary):
        split = job.tags.split_hash or summary.tags.split_hash or "split"
        if job.tags.seed is not None:
            res.seeds.add(job.tags.seed)
        for name, value in _result_values(job).items():
            per_split.setdefault(name, {}).setdefault(split, []).append(value)
        n_train, n_test = _size(job, summary, "n_train", "n_val"), _size(job, summary, "n_test")
        if n_train and n_test and not math.isnan(n_train + n_test):
            trains.append(n_train)
            tests.append(n_test)
    res.values = {m: {h: float(np.mean(v)) for h, v in per.items()} for m, per in per_split.items()}
    if trains:
        res.n_train, res.n_test = float(np.mean(trains)), float(np.mean(tests))
    return res


def collect(
    store: Store,
    summaries: Sequence[Run],
    *,
    latest_only: bool = True,
    controls: frozenset[str] | None = None,
) -> list[TranslatorResults]:
    """Per-split results of the newest summary of each label in ``summaries`` (newest first), or of
    every summary with ``latest_only=False``. Today's runner writes one summary per (label, split):
    those of one label are merged split by split, the newest run of a split winning."""
    controls = control_names() if controls is None else controls
    if not latest_only:
        return [results_of(store, run, controls) for run in summaries]
    by_label: dict[str, TranslatorResults] = {}
    for run in summaries:
        res = results_of(store, run, controls)
        if run.label not in by_label:
            by_label[run.label] = res
            continue
        kept = by_label[run.label]
        if len(kept.splits) > 1 or len(res.splits) > 1 or set(res.splits) <= set(kept.splits):
            continue  # a multi-split summary is complete on its own; an older rerun of a split loses
        for metric, per in res.values.items():
            for split, value in per.items():
                kept.values.setdefault(metric, {}).setdefault(split, value)
        kept.seeds |= res.seeds
    return list(by_label.values())


def comparisons(
    results: Sequence[TranslatorResults],
    baseline: str,
    metric: str,
    method: IntervalMethod = "corrected_t",
    confidence: float = 0.95,
) -> dict[str, PairedComparison]:
    """Every non-control translator against ``baseline`` on ``metric``, paired on shared outer splits.
    ``{}`` when the baseline is absent or has no value of ``metric``. The corrected t uses the
    baseline's split sizes (same splits, same sizes); without them the bootstrap is used instead."""
    ref = next((r for r in results if r.label == baseline), None)
    if ref is None or not ref.values.get(metric):
        return {}
    values = {r.label: r.values[metric] for r in results if r.values.get(metric) and not r.control}
    values[baseline] = ref.values[metric]
    if method == "corrected_t" and (ref.n_train is None or ref.n_test is None):
        method = "bootstrap"
    return compare_to_reference(
        values,
        baseline,
        metric=metric,
        n_train=ref.n_train,
        n_test=ref.n_test,
        method=method,
        confidence=confidence,
    )
