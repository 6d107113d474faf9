"""What omibench writes into a tracking store: run levels, statuses and tags, defined once.

A run's omibench tags live under the ``omibench.`` prefix (``omibench.label``, ...); :class:`Tags`
has one field per tag so that no other module spells a tag name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from enum import Enum
from typing import Any

__all__ = [
    "BOARD_CURRENT",
    "BOARD_FILTER",
    "BOARD_SORT_TAG",
    "BOARD_SUPERSEDED",
    "GIT_COMMIT_TAG",
    "NOTE_TAG",
    "PARENT_TAG",
    "TAG",
    "VIEW_TAG",
    "Run",
    "RunLevel",
    "RunStatus",
    "Tags",
    "control_tag",
]

TAG = "omibench."
NOTE_TAG = "mlflow.note.content"  # MLflow's description of a run or an experiment (Markdown, shown on its page)
PARENT_TAG = "mlflow.parentRunId"  # MLflow's own nesting tag: the UI shows children under their parent
GIT_COMMIT_TAG = "mlflow.source.git.commit"  # MLflow's standard tag: the commit of the run's source
# the MLflow UI's saved runs-page views: experiment tag <prefix><key>, opened by ?viewStateShareKey=<key>
VIEW_TAG = "mlflow.sharedViewState."
BOARD_SORT_TAG = TAG + "board_sort"  # experiment tag: the metric the leaderboard page was last ranked by
# the ``board`` tag's values: the summary runs the leaderboard shows, and older reruns
BOARD_CURRENT = "current"
BOARD_SUPERSEDED = "superseded"
# what the leaderboard URL filters on: the newest finished summary run of each translator
BOARD_FILTER = f"tags.`{TAG}board` = '{BOARD_CURRENT}'"


def control_tag(is_control: bool, anchors: bool) -> str:
    """The ``omibench.control`` tag of a translator's runs: ``"anchor"`` for a control whose score
    anchors the skill score (``train_mean``, ``class_mean``), ``"reference"`` for a control that never
    does (``random_profile``), ``"no"`` for an ordinary translator (``anchors`` is then ignored)."""
    if not is_control:
        return "no"
    return "anchor" if anchors else "reference"


class RunLevel(str, Enum):
    """What a run stands for."""

    SUMMARY = "summary"  # one translator of an experiment (the mean over seeds when there are several)
    SEED = "seed"  # one seed of a multi-seed translator, a child of its summary
    REFERENCE = "reference"  # Table 3's "original data" row: the classifier on the real test data
    STUDY = "study"  # a tuning study (mirror of the Optuna study)
    TRIAL = "trial"  # one tuning trial, a child of its study
    REPORT = "report"  # a written report


class RunStatus(str, Enum):
    """MLflow's run statuses (the ones omibench uses)."""

    RUNNING = "RUNNING"
    FINISHED = "FINISHED"
    FAILED = "FAILED"
    KILLED = "KILLED"


@dataclass(frozen=True)
class Tags:
    """The ``omibench.*`` tags of a run; ``None`` = not set. ``to_dict`` / ``from_dict`` map them to
    the store's string tags."""

    level: RunLevel | None = None
    label: str | None = None  # the experiment entry (translator label)
    translator: str | None = None  # the registered translator name
    dataset: str | None = None
    dataset_hash: str | None = None
    split_hash: str | None = None
    config_hash: str | None = None
    job_key: str | None = None  # same key, same result: what resume looks up
    seed: int | None = None
    # provenance (omibench/run/provenance.py): the git commit of the experiment YAML's folder
    # (``+dirty`` with local changes; ``unknown`` outside a repository), the same commit under MLflow's
    # standard tag (GIT_COMMIT_TAG, only inside a repository), the versions of the packages that
    # shape results (JSON), omibench's own version and, installed from a checkout, its source commit
    git_commit: str | None = None
    source_git_commit: str | None = None
    versions: str | None = None
    omibench_version: str | None = None
    omibench_commit: str | None = None
    plugin_source: str | None = None
    tuned_from: str | None = None  # the study whose best parameters were merged in
    error: str | None = None  # why a run FAILED (first line first)
    downstream_note: str | None = None
    owner: str | None = None  # host:pid:start of the driver that opened the run
    device: str | None = None  # where a job ran (cpu, cuda, ray-gpu, ray-cpu)
    study: str | None = None
    trial: int | None = None
    trial_state: str | None = None
    pruned_by: str | None = None
    tune_metric: str | None = None
    best_trial: int | None = None
    outer_split: int | None = None  # a job's outer split (0-based index into the experiment's splits)
    n_splits: int | None = None  # how many outer splits the summary aggregates
    seeds_fitted: str | None = None  # the seeds actually fitted ("0" for a seed-independent translator)
    pyfunc: str | None = None  # the MLflow model URI of the run's pyfunc model, once logged
    board: str | None = None  # BOARD_CURRENT on the summary runs the leaderboard shows, else BOARD_SUPERSEDED
    failure_kind: str | None = None  # out-of-memory | time-out | stalled | not-applicable | error (a FAILED run)
    split_notes: str | None = None  # e.g. samples whose vials a given test list puts on both sides
    fit_note: str | None = None  # e.g. classes skipped by the within-type R²
    # TCGA barcodes: test samples sharing a patient with a training/validation sample (a given test list's leak)
    split_leaky_test_samples: int | None = None
    # "anchor" (a control whose score anchors the skill score), "reference" (a control that never
    # does, e.g. random_profile) or "no" (an ordinary translator): see control_tag
    control: str | None = None
    # a summary run on a shared store is the claim on its job (omibench/run/claims.py): its owner
    # rewrites ``heartbeat`` (its Unix time) while the job runs; a claim that lost, or that another
    # machine took over, names the run that holds the job in ``superseded_by``; the claim that won
    # is tagged ``won`` (the Unix time it won) right after its second look
    heartbeat: str | None = None
    superseded_by: str | None = None
    won: str | None = None

    _LONG = ("error", "downstream_note", "split_notes", "fit_note")  # free text, truncated to what MLflow stores
    _STANDARD = {"source_git_commit": GIT_COMMIT_TAG}  # fields stored under MLflow's own tag names

    @classmethod
    def tag_name(cls, field_name: str) -> str:
        """The store's name of field ``field_name``'s tag: ``omibench.<field>`` or MLflow's own name."""
        return cls._STANDARD.get(field_name, TAG + field_name)

    def to_dict(self) -> dict[str, str]:
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None:
                continue
            text = value.value if isinstance(value, Enum) else str(value)
            out[self.tag_name(f.name)] = text[:5000] if f.name in self._LONG else text
        return out

    @classmethod
    def from_dict(cls, tags: Mapping[str, str]) -> Tags:
        kinds = {f.name: f.type for f in fields(cls)}
        standard = {tag: name for name, tag in cls._STANDARD.items()}
        values: dict[str, Any] = {}
        for key, text in tags.items():
            name = key[len(TAG) :] if key.startswith(TAG) else standard.get(key)
            if name not in kinds:
                continue
            kind = str(kinds[name])
            try:
                if "RunLevel" in kind:
                    values[name] = RunLevel(text)
                elif kind.startswith("int"):
                    values[name] = int(text)
                else:
                    values[name] = text
            except ValueError:
                continue  # a tag written by something else: ignore it rather than fail the read
        return cls(**values)

    def with_(self, **changes: Any) -> Tags:
        return replace(self, **changes)

    def merged(self, other: Tags) -> Tags:
        """These tags with every field ``other`` sets."""
        return replace(self, **{k: v for k, v in asdict(other).items() if v is not None})


@dataclass
class Run:
    """One run as read back from a store."""

    run_id: str
    experiment_id: str
    name: str
    status: RunStatus
    start_time: int  # milliseconds since the epoch
    tags: Tags
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)  # latest value of each
    parent_id: str | None = None
    other_tags: dict[str, str] = field(default_factory=dict)  # tags outside omibench's (e.g. best.alpha)

    @property
    def label(self) -> str:
        return self.tags.label or self.name
