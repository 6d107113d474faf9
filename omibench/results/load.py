"""The one read path: an experiment's finished runs as per-split results (:class:`ResultSet`).

Data contract. A translator's current result is its newest FINISHED summary run; a label whose
summaries each cover one outer split (older stores) has them merged split by split, the newest run of
a split winning (:func:`current`). Its jobs are the summary's FINISHED children (one per outer split
and seed; a summary without children is its own single job). Each job carries the tag ``split_hash``
(else the summary's), ``seed``, its result metrics (``test/<metric>``, ``downstream/<metric>``, costs:
:mod:`omibench.metrics.catalogue`) and the sizes it was fitted on (params ``n_fit`` and ``n_test``;
older jobs: the summary's ``n_train`` and ``n_test``). Values are averaged over seeds within an outer
split. Whether a run is a control is read from its own tag ``omibench.control``; for runs written
before that tag, from ``legacy_controls`` (a callable the caller may back with the plugin registry)
and the built-in controls' plugin module. Nothing here imports plugins, the registry or torch.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from omibench.metrics import catalogue
from omibench.store import Run, RunLevel, RunStatus, Store

__all__ = ["ResultSet", "TranslatorResult", "available_metrics", "current", "from_summaries", "load"]

_NOT_JOBS = {RunLevel.REFERENCE, RunLevel.REPORT, RunLevel.STUDY, RunLevel.TRIAL}
# runs written before the control tag: the built-in controls are recognised by their plugin module
_BUILTIN = "omibench_plugins."
_BUILTIN_CONTROLS = frozenset({"train_mean", "random_profile", "class_mean"})
_NEVER_ANCHOR = frozenset({"random_profile"})


@dataclass
class TranslatorResult:
    """One translator's results. ``values[metric][split]``: mean over seeds of the test value on that
    outer split; ``seed_values``: the same before averaging; ``sizes[split]``: (n_fit, n_test), the
    samples the model was fitted on and scored on there (absent when the runs did not log them)."""

    label: str
    run_id: str
    translator: str | None = None
    control: bool = False
    anchor: bool = False  # a control whose score anchors the skill score (train_mean, class_mean)
    tuned: bool = False
    seeds: set[int] = field(default_factory=set)
    values: dict[str, dict[str, float]] = field(default_factory=dict)
    seed_values: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    sizes: dict[str, tuple[float, float]] = field(default_factory=dict)
    config_hash: str | None = None
    split_hash: str | None = None  # the summary's (first) split
    downstream_note: str | None = None

    @property
    def splits(self) -> list[str]:
        return sorted({h for per in self.values.values() for h in per})

    def on(self, metric: str, splits: Sequence[str]) -> np.ndarray | None:
        """Values of ``metric`` on ``splits`` (in that order); None unless every split has one."""
        per = self.values.get(metric, {})
        if not splits or any(s not in per for s in splits):
            return None
        return np.array([per[s] for s in splits], dtype=np.float64)

    def fitted_sizes(self, splits: Sequence[str] | None = None) -> tuple[float, float] | None:
        """Mean (n_fit, n_test) over ``splits`` (default: all of this result's); None when unknown."""
        chosen = [self.sizes[s] for s in (splits if splits is not None else self.splits) if s in self.sizes]
        if not chosen:
            return None
        return float(np.mean([f for f, _ in chosen])), float(np.mean([t for _, t in chosen]))


@dataclass
class ResultSet:
    """The current results of one experiment, newest label first. ``reference``: the metrics of Table 3's
    "original data" run on the newest split (empty when there is none), ``reference_run`` and
    ``reference_label`` its id and label."""

    experiment: str
    results: list[TranslatorResult]
    reference: dict[str, float] = field(default_factory=dict)
    reference_run: str | None = None
    reference_label: str = ""
    notes: list[str] = field(default_factory=list)

    def __iter__(self) -> Iterator[TranslatorResult]:
        return iter(self.results)

    def __len__(self) -> int:
        return len(self.results)

    def get(self, label: str) -> TranslatorResult | None:
        return next((r for r in self.results if r.label == label), None)

    @property
    def translators(self) -> list[TranslatorResult]:
        return [r for r in self.results if not r.control]

    @property
    def controls(self) -> list[TranslatorResult]:
        return [r for r in self.results if r.control]

    def metrics(self) -> list[str]:
        """Short names of every result metric logged, in the catalogue's display order."""
        return catalogue.ordered(m for r in self.results for m in r.values)

    def splits(self) -> list[str]:
        """Every outer split any translator ran on, sorted."""
        return sorted({s for r in self.results for s in r.splits})


def _control(run: Run, legacy: Callable[[], frozenset[str]]) -> tuple[bool, bool]:
    """(control, anchor) from the run's own tag; for runs omibench wrote before it (they name their plugin
    class), the built-in controls by name, a third-party plugin's through ``legacy`` (called only then)."""
    tag = (run.tags.control or "").lower()
    if tag in {"anchor", "reference", "no"}:
        return tag != "no", tag == "anchor"
    name = run.tags.translator or ""
    source = run.tags.plugin_source or ""
    if tag in {"1", "true", "yes"} or (
        name in _BUILTIN_CONTROLS if source.startswith(_BUILTIN) else bool(source) and name in legacy()
    ):
        return True, name not in _NEVER_ANCHOR
    return False, False


def _jobs(store: Store | None, summary: Run) -> list[Run]:
    if store is None:
        return [summary]
    children = store.search(summary.experiment_id, status=RunStatus.FINISHED, parent_id=summary.run_id)
    return [c for c in children if c.tags.level not in _NOT_JOBS] or [summary]


def _number(run: Run, summary: Run, name: str) -> float | None:
    text = run.params.get(name, summary.params.get(name))
    try:
        return float(text) if text is not None else None
    except ValueError:
        return None


def _sizes(job: Run, summary: Run) -> tuple[float, float] | None:
    """(n_fit, n_test) of a job: its own params, else (older stores) the summary's training size."""
    n_test = _number(job, summary, "n_test")
    # runs written before n_fit: fitted on the training part (refit: none, the default)
    n_fit = _number(job, summary, "n_fit") or _number(job, summary, "n_train")
    if not n_fit or not n_test or math.isnan(n_fit + n_test):
        return None
    return n_fit, n_test


def _result(store: Store | None, summary: Run, control: tuple[bool, bool]) -> TranslatorResult:
    res = TranslatorResult(
        label=summary.label,
        run_id=summary.run_id,
        translator=summary.tags.translator,
        control=control[0],
        anchor=control[0] and control[1],
        tuned=bool(summary.tags.tuned_from),
        config_hash=summary.tags.config_hash,
        split_hash=summary.tags.split_hash,
        downstream_note=summary.tags.downstream_note,
    )
    for job in _jobs(store, summary):
        split = job.tags.split_hash or summary.tags.split_hash or "split"
        if job.tags.seed is not None:
            res.seeds.add(job.tags.seed)
        for key, value in catalogue.result_metrics(job.metrics).items():
            if key.startswith(catalogue.VAL):
                continue
            res.seed_values.setdefault(catalogue.short_name(key), {}).setdefault(split, []).append(float(value))
        sizes = _sizes(job, summary)
        if sizes is not None:
            res.sizes.setdefault(split, sizes)
    res.values = {m: {s: float(np.mean(v)) for s, v in per.items()} for m, per in res.seed_values.items()}
    return res


def current(summaries: Sequence[Run]) -> dict[str, list[Run]]:
    """The rule for "the current result", used by every reader and by the MLflow page: per label (in
    the order of ``summaries``, newest first), its newest summary; older summaries of the same label
    are added only while every summary involved covers one outer split and brings a split not yet
    covered (stores where each outer split had its own summary)."""
    chosen: dict[str, list[Run]] = {}
    covered: dict[str, set[str]] = {}
    for run in summaries:
        split = run.tags.split_hash or ""
        n = run.tags.n_splits or 1
        if run.label not in chosen:
            chosen[run.label], covered[run.label] = [run], {split}
            continue
        first = chosen[run.label][0]
        if (first.tags.n_splits or 1) > 1 or n > 1 or split in covered[run.label]:
            continue
        chosen[run.label].append(run)
        covered[run.label].add(split)
    return chosen


def _merge(parts: list[TranslatorResult]) -> TranslatorResult:
    head = parts[0]
    for older in parts[1:]:
        for metric, per in older.values.items():
            for split, value in per.items():
                head.values.setdefault(metric, {}).setdefault(split, value)
                head.seed_values.setdefault(metric, {}).setdefault(split, older.seed_values[metric][split])
        for split, sizes in older.sizes.items():
            head.sizes.setdefault(split, sizes)
        head.seeds |= older.seeds
    return head


def from_summaries(
    store: Store | None,
    summaries: Sequence[Run],
    experiment: str = "",
    *,
    latest_only: bool = True,
    legacy_controls: Callable[[], frozenset[str]] | None = None,
) -> ResultSet:
    """A :class:`ResultSet` of FINISHED summary runs (newest first). Without ``store`` every summary is
    its own single job (its logged means). ``latest_only=False``: every summary is its own row."""
    legacy = functools.cache(legacy_controls or frozenset)
    decided = {run.run_id: _control(run, legacy) for run in summaries}
    if latest_only:
        groups = list(current(summaries).values())
    else:
        groups = [[run] for run in summaries]
    results = [_merge([_result(store, run, decided[run.run_id]) for run in group]) for group in groups]
    return ResultSet(experiment, results)


def load(
    store: Store,
    experiment: str,
    *,
    split_hash: str | None = None,
    dataset_hash: str | None = None,
    latest_only: bool = True,
    legacy_controls: Callable[[], frozenset[str]] | None = None,
) -> ResultSet:
    """The current results of ``experiment`` in ``store`` (empty when it has no finished summary run);
    optionally only the summaries on one split and dataset."""
    runs = store.summaries(experiment, split_hash, dataset_hash)
    out = from_summaries(store, runs, experiment, latest_only=latest_only, legacy_controls=legacy_controls)
    if runs:
        reference = store.reference_run(runs[0].experiment_id, split_hash or runs[0].tags.split_hash)
        if reference is not None:
            out.reference = catalogue.result_metrics(reference.metrics)
            out.reference_run = reference.run_id
            out.reference_label = reference.label
    return out


def available_metrics(
    store: Store, experiment: str, split_hash: str | None = None, dataset_hash: str | None = None
) -> list[str]:
    """Short names of the result metrics logged by the summaries of ``experiment`` and the jobs of its
    newest one: cheap enough to check a ``--sort`` / ``--columns`` before every job is read."""
    runs = store.summaries(experiment, split_hash, dataset_hash)
    if not runs:
        return []
    newest = store.search(runs[0].experiment_id, parent_id=runs[0].run_id)
    return catalogue.ordered(
        catalogue.short_name(k)
        for run in [*runs, *newest]
        for k in catalogue.result_metrics(run.metrics)
        if not k.startswith(catalogue.VAL)
    )
