"""Experiment configuration: the YAML schema, ``--set`` overrides and canonical hashing (YAML is read
by :mod:`omibench.config_yaml`, whose ``safe_yaml`` and ``safe_yaml_text`` are re-exported here)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from omibench.config_yaml import safe_yaml, safe_yaml_text
from omibench.errors import ConfigError

__all__ = [
    "DEFAULT_CONTROLS",
    "MAX_SEED",
    "PathField",
    "REVERSE_SUFFIX",
    "Seed",
    "DownstreamConfig",
    "ExperimentConfig",
    "TranslatorEntry",
    "load_config",
    "apply_overrides",
    "canonical_hash",
    "safe_yaml",
    "safe_yaml_text",
    "validate_config",
]


# ``direction: both``: the name (and MLflow experiment) of the reverse experiment is the forward's plus this
REVERSE_SUFFIX = "_reverse"

# the control translators (omibench_plugins) every experiment runs unless listed or turned off
DEFAULT_CONTROLS: tuple[str, ...] = ("train_mean", "random_profile", "class_mean")


# every seed is handed to numpy (``default_rng``, ``RandomState``: 0 .. 2**32 - 1) and torch
MAX_SEED = 2**32 - 1
Seed = Annotated[int, Field(ge=0, le=MAX_SEED)]
# a name becomes an MLflow experiment name (256 characters in its database), maybe with REVERSE_SUFFIX
_NAME_LENGTH = 200
_MAX_OUTER_SPLITS = 10_000  # repeats x folds: each outer split is one job per translator and seed


def _path_text(value: Any) -> Any:
    """A path field's value: not empty (``Path("")`` would be the current folder) and without a NUL
    byte (which every file function refuses with a ValueError)."""
    if isinstance(value, str) and not value.strip():
        raise ValueError("empty path: give a file or folder name")
    if isinstance(value, (str, Path)) and "\x00" in str(value):
        raise ValueError("a path cannot contain a NUL character")
    return value


PathField = Annotated[Path, BeforeValidator(_path_text)]


class _Strict(BaseModel):
    """Every section: unknown fields refused, and no float field takes ``inf`` or ``nan``."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class TranslatorEntry(_Strict):
    """One translator of the experiment: a registered ``name``, parameters, an optional label."""

    name: str = Field(min_length=1)
    label: str | None = Field(default=None, min_length=1, max_length=_NAME_LENGTH)
    params: dict[str, Any] = Field(default_factory=dict)

    @property
    def display(self) -> str:
        return self.label or self.name


class SplitConfig(_Strict):
    """Fractions are of all samples. ``test_ids`` (a file, one id per line) fixes the test part.

    ``scheme`` draws the outer splits (see omibench.data.resampling): ``holdout`` one split (the
    paper's protocol), ``repeated_holdout`` ``repeats`` independent splits, ``kfold`` ``folds`` x
    ``repeats`` splits whose test parts partition the samples in each repeat. A given test list
    (``test_ids`` / ``given``) is always the only outer split. ``group_by: patient`` keeps the
    samples of one TCGA patient on one side of every split; ``auto`` (the default) does so where every
    sample id is a TCGA barcode and some patient has several samples, and otherwise draws exactly the
    ungrouped split; ``none`` turns grouping off."""

    scheme: Literal["holdout", "repeated_holdout", "kfold"] = "holdout"
    repeats: int = Field(default=1, ge=1, le=1000)
    folds: int = Field(default=5, ge=2, le=1000)
    group_by: Literal["auto", "patient", "none"] | None = "auto"
    seed: Seed = 0
    val_fraction: float = Field(default=0.1, ge=0, lt=1)
    test_fraction: float = Field(default=0.2, ge=0, lt=1)
    test_ids: PathField | None = None
    given: bool = False  # use the test samples the data source defines (e.g. MOGONET's *_te files)
    stratify: bool = True

    @model_validator(mode="after")
    def _room_for_training(self) -> SplitConfig:
        if self.test_ids is None and not self.given and self.val_fraction + self.test_fraction >= 1:
            raise ValueError(
                f"val_fraction {self.val_fraction} + test_fraction {self.test_fraction} leave no training "
                "samples: their sum must be below 1"
            )
        if self.scheme == "kfold" and self.repeats * self.folds > _MAX_OUTER_SPLITS:
            raise ValueError(
                f"{self.repeats} repeats x {self.folds} folds are more than {_MAX_OUTER_SPLITS:,} outer splits "
                "(each one job per translator and seed): lower split.repeats or split.folds"
            )
        return self


class PreprocessConfig(_Strict):
    """Feature steps per omics (fitted on training rows; see omibench.data.steps), then imputation."""

    impute: Literal["none", "mean"] = "none"
    b: list[dict[str, Any]] = Field(default_factory=list)
    a: list[dict[str, Any]] = Field(default_factory=list)


class TrackingConfig(_Strict):
    """``store`` holds ``mlflow.db`` and the artifacts; ``uri`` (e.g. an MLflow server) overrides it."""

    store: PathField = Path("mlruns")
    uri: str | None = Field(default=None, min_length=1)
    experiment: str | None = Field(default=None, min_length=1, max_length=_NAME_LENGTH)


class ExecutorConfig(_Strict):
    """Where jobs run. ``gpus`` / ``cpu_workers`` for ``local`` (GPUs detected when unset);
    ``address`` of an existing cluster for ``ray``."""

    kind: Literal["process", "inline", "local", "ray"] = "process"
    gpus: int | None = Field(default=None, ge=0, le=1024)
    cpu_workers: int | None = Field(default=None, ge=1, le=4096)
    address: str | None = Field(default=None, min_length=1)


class DownstreamConfig(_Strict):
    """The Table 3 judge: an OmiEmbed classifier trained on the real training expression and labels,
    applied to real and translated test expression (see omibench.downstream.classifier). ``enabled: null``
    turns it on when the training split has labels of at least two classes."""

    enabled: bool | None = None
    epochs: list[int] = Field(default_factory=lambda: [50, 50, 100], min_length=3, max_length=3)
    decay_epochs: int = Field(default=50, ge=0, le=100_000)
    latent: int = Field(default=128, ge=2, le=65_536)
    batch_size: int = Field(default=32, ge=2, le=1_000_000)
    lr: float = Field(default=1e-4, gt=0, le=10)
    scaling: Literal["minmax", "none"] = "minmax"
    seed: Seed = 0
    tsne: bool = False  # the Fig. 8 embedding of every run (~15 s each): opt in with --set downstream.tsne=true
    top_genes: int = Field(default=6, ge=0, le=1000)  # genes in the real-vs-predicted scatter (supplementary Fig. 5)

    @field_validator("epochs")
    @classmethod
    def _positive(cls, value: list[int]) -> list[int]:
        if any(e < 0 or e > 100_000 for e in value) or sum(value) == 0:
            raise ValueError("downstream.epochs are the three phases' lengths, e.g. [50, 50, 100]")
        return value


class ExperimentConfig(_Strict):
    """A benchmark: data + split + preprocessing + translators, run for each seed."""

    name: str = Field(min_length=1, max_length=_NAME_LENGTH)
    description: str = ""
    seeds: list[Seed] = Field(default_factory=lambda: [0], min_length=1, max_length=1000)
    n_jobs: int | None = Field(None, ge=1, le=4096)
    plugins_dir: PathField | None = None
    data: dict[str, Any] = Field(default_factory=lambda: {"source": "synthetic"})
    source_data: dict[str, Any] | None = None  # optional other cohort(s) for transfer learning
    split: SplitConfig = Field(default_factory=SplitConfig)
    preprocess: PreprocessConfig = Field(default_factory=PreprocessConfig)
    translators: list[TranslatorEntry] = Field(min_length=1)
    downstream: DownstreamConfig = Field(default_factory=DownstreamConfig)
    tracking: TrackingConfig = Field(default_factory=TrackingConfig)
    executor: ExecutorConfig = Field(default_factory=ExecutorConfig)
    timeout_s: float | None = Field(None, gt=0)  # per translator job (fit, predict, scoring); a longer one FAILS
    # a job with no CPU progress and no per-epoch report for this long is stopped, FAILED "stalled"; null: off
    stall_s: float | None = Field(600.0, gt=0)
    # refit after selection: the choices made on validation, refitted on training + validation rows
    refit: Literal["none", "train+val"] = "none"
    # controls added to the translators unless already listed (by name or label): true = DEFAULT_CONTROLS,
    # a list names them, false = none. Each control is its own job with its own key, so adding or dropping
    # them changes no other translator's key, and the field is left out of the config hash.
    controls: bool | list[str] = True
    # b_to_a: predict omics A (data.a, expression) from B (data.b, methylation), the paper's direction;
    # a_to_b: the reverse (the matrices swap roles after loading; preprocess.b still names data.b's steps);
    # both: this experiment, then ``<name>_reverse`` (a_to_b) on the same outer splits (see omibench.api.run)
    direction: Literal["b_to_a", "a_to_b", "both"] = "b_to_a"

    @field_validator("seeds")
    @classmethod
    def _distinct_seeds(cls, value: list[int]) -> list[int]:
        dupes = sorted({s for s in value if value.count(s) > 1})
        if dupes:
            raise ValueError(f"seed {dupes[0]} is listed twice: each seed is one repetition, e.g. seeds: [0, 1, 2]")
        return value

    @field_validator("data", "source_data")
    @classmethod
    def _has_source(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is None:
            return None
        value = dict(value)
        value.setdefault("source", "synthetic")
        if not isinstance(value["source"], str):
            raise ValueError("data.source must be the name of a data source, e.g. synthetic or files")
        return value

    @field_validator("translators")
    @classmethod
    def _unique_labels(cls, value: list[TranslatorEntry]) -> list[TranslatorEntry]:
        seen: set[str] = set()
        for entry in value:
            if entry.display in seen:
                raise ValueError(f"translator {entry.display!r} appears twice: give one a distinct `label`")
            seen.add(entry.display)
        return value

    _source: Path | None = PrivateAttr(default=None)  # set by load_config; kept by model_copy

    @property
    def source_path(self) -> Path | None:
        """The YAML file this config was read from (absolute), None for one built in code: where
        provenance looks for the experiment's git commit. Not a field: never hashed nor dumped."""
        return self._source

    @property
    def experiment_name(self) -> str:
        return self.tracking.experiment or self.name

    def semantic_dict(self) -> dict[str, Any]:
        """The fields that change results (not where results go, nor the worker count)."""
        out = self.model_dump(
            mode="json",
            exclude={
                "tracking",
                "plugins_dir",
                "description",
                "n_jobs",
                "executor",
                "timeout_s",
                "stall_s",
                "controls",
            },
        )
        # fields added with resampling count only when set: a config without them keeps its hash
        for name, default in _NEW_SPLIT_DEFAULTS.items():
            if out["split"].get(name) == default:
                del out["split"][name]
        # no grouping, or grouping only where the data call for it: the split hash tells them apart
        if out["split"].get("group_by") in ("auto", "none"):
            del out["split"]["group_by"]
        if out.get("refit") == "none":
            del out["refit"]
        if out.get("direction") in ("b_to_a", "both"):  # both prepares (and hashes) as its forward half
            del out["direction"]
        # the t-SNE only draws a figure: pinned to its former default so config hashes carry over
        out["downstream"]["tsne"] = True
        return out

    @property
    def reverse(self) -> bool:
        """True when omics A is the input and B the target (``direction: a_to_b``)."""
        return self.direction == "a_to_b"

    def directions(self) -> list[ExperimentConfig]:
        """The experiments this config stands for: itself, or with ``direction: both`` the forward
        (B -> A, unchanged name) and the reverse (A -> B, named ``<name>_reverse``)."""
        if self.direction != "both":
            return [self]
        tracking = self.tracking
        if tracking.experiment:
            tracking = tracking.model_copy(update={"experiment": tracking.experiment + REVERSE_SUFFIX})
        return [
            self.model_copy(update={"direction": "b_to_a"}),
            self.model_copy(update={"direction": "a_to_b", "name": self.name + REVERSE_SUFFIX, "tracking": tracking}),
        ]

    @property
    def control_names(self) -> tuple[str, ...]:
        """The controls to add: those of ``controls`` that the translators do not already list."""
        wanted = DEFAULT_CONTROLS if self.controls is True else tuple(self.controls or ())
        listed = {t.name for t in self.translators} | {t.display for t in self.translators}
        return tuple(dict.fromkeys(n for n in wanted if n not in listed))


_NEW_SPLIT_DEFAULTS: dict[str, Any] = {"scheme": "holdout", "repeats": 1, "folds": 5, "group_by": None}


def canonical_hash(value: Any) -> str:
    """12 hex digits of sha256 over sorted-key JSON: independent of key order in the YAML."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def load_config(path: str | Path, overrides: Iterable[str] = ()) -> ExperimentConfig:
    """Read, override and validate an experiment YAML; every problem is a one-line ConfigError."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: experiment file not found")
    raw = safe_yaml(path)
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of fields (name, data, translators, ...)")
    raw = apply_overrides(raw, overrides)
    config = validate_config(raw, path)
    config._source = path.resolve()
    return config


def validate_config(raw: dict[str, Any], path: str | Path = "experiment") -> ExperimentConfig:
    """``raw`` (plain YAML values) as an :class:`ExperimentConfig`; the first problem is a one-line
    :class:`ConfigError` naming ``path`` and the field."""
    try:
        return ExperimentConfig.model_validate(_plain(raw))
    except ValidationError as exc:
        # a misspelt field also makes the real one "missing": report the misspelling first
        err = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")[0]
        where = ".".join(str(x) for x in err["loc"]) or "(top level)"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown field" + _suggest(err["loc"]) + "; see the YAML reference in the README"
        elif isinstance(err.get("input"), (int, float, str)) and len(str(err["input"])) <= 40:
            msg += f" (got {err['input']!r})"
        raise ConfigError(f"{path}: field {where}: {msg}") from None


def _plain(value: Any) -> Any:
    """``value`` with every mapping key a string (YAML allows numbers, dates, ... as keys); the
    depth is bounded by :func:`safe_yaml_text`."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _suggest(loc: tuple[Any, ...]) -> str:
    """' (did you mean X?)' for a misspelt field, looked up in the model at that depth."""
    import difflib

    model: Any = ExperimentConfig
    for part in loc[:-1]:
        field = getattr(model, "model_fields", {}).get(part)
        model = field.annotation if field is not None else None
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return ""
    close = difflib.get_close_matches(str(loc[-1]), list(model.model_fields), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def apply_overrides(raw: dict[str, Any], overrides: Iterable[str]) -> dict[str, Any]:
    """Apply ``key.sub=value`` strings (values parsed as YAML; list items by index, e.g.
    translators.0.params.alpha=0.1)."""
    raw = json.loads(json.dumps(_plain(raw), default=str))  # deep copy with plain types
    for item in overrides:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--set {item!r}: expected key=value, e.g. --set seeds=[0,1,2]")
        try:
            value = _plain(safe_yaml_text(text, f"--set {key}"))
        except ConfigError as exc:
            if "invalid YAML" not in str(exc):
                raise
            value = text
        node: Any = raw
        parts = key.split(".")
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if isinstance(node, list):
                if not part.isdigit() or int(part) >= len(node):
                    raise ConfigError(f"--set {key}: {part!r} is not an index of a {len(node)}-item list")
                if last:
                    node[int(part)] = value
                else:
                    node = node[int(part)]
            elif isinstance(node, dict):
                if last:
                    node[part] = value
                else:
                    node = node.setdefault(part, {})
            else:
                raise ConfigError(f"--set {key}: {'.'.join(parts[:i])} is a value, not a section")
    return raw
