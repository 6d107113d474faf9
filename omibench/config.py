"""Experiment configuration: the YAML schema, ``--set`` overrides and canonical hashing."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from omibench.errors import ConfigError, one_line

__all__ = [
    "DEFAULT_CONTROLS",
    "REVERSE_SUFFIX",
    "DownstreamConfig",
    "ExperimentConfig",
    "TranslatorEntry",
    "load_config",
    "apply_overrides",
    "canonical_hash",
    "safe_yaml",
]


# ``direction: both``: the name (and MLflow experiment) of the reverse experiment is the forward's plus this
REVERSE_SUFFIX = "_reverse"

# the control translators (omibench_plugins) every experiment runs unless listed or turned off
DEFAULT_CONTROLS: tuple[str, ...] = ("train_mean", "random_profile", "class_mean")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TranslatorEntry(_Strict):
    """One translator of the experiment: a registered ``name``, parameters, an optional label."""

    name: str
    label: str | None = None
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
    repeats: int = Field(default=1, ge=1)
    folds: int = Field(default=5, ge=2)
    group_by: Literal["auto", "patient", "none"] | None = "auto"
    seed: int = 0
    val_fraction: float = Field(default=0.1, ge=0, lt=1)
    test_fraction: float = Field(default=0.2, ge=0, lt=1)
    test_ids: Path | None = None
    given: bool = False  # use the test samples the data source defines (e.g. MOGONET's *_te files)
    stratify: bool = True


class PreprocessConfig(_Strict):
    """Feature steps per omics (fitted on training rows; see omibench.data.steps), then imputation."""

    impute: Literal["none", "mean"] = "none"
    b: list[dict[str, Any]] = Field(default_factory=list)
    a: list[dict[str, Any]] = Field(default_factory=list)


class TrackingConfig(_Strict):
    """``store`` holds ``mlflow.db`` and the artifacts; ``uri`` (e.g. an MLflow server) overrides it."""

    store: Path = Path("mlruns")
    uri: str | None = None
    experiment: str | None = None


class ExecutorConfig(_Strict):
    """Where jobs run. ``gpus`` / ``cpu_workers`` for ``local`` (GPUs detected when unset);
    ``address`` of an existing cluster for ``ray``."""

    kind: Literal["process", "inline", "local", "ray"] = "process"
    gpus: int | None = Field(default=None, ge=0)
    cpu_workers: int | None = Field(default=None, ge=1)
    address: str | None = None


class DownstreamConfig(_Strict):
    """The Table 3 judge: an OmiEmbed classifier trained on the real training expression and labels,
    applied to real and translated test expression (see omibench.downstream.classifier). ``enabled: null``
    turns it on when the training split has labels of at least two classes."""

    enabled: bool | None = None
    epochs: list[int] = Field(default_factory=lambda: [50, 50, 100], min_length=3, max_length=3)
    decay_epochs: int = Field(default=50, ge=0)
    latent: int = Field(default=128, ge=2)
    batch_size: int = Field(default=32, ge=2)
    lr: float = Field(default=1e-4, gt=0)
    scaling: Literal["minmax", "none"] = "minmax"
    seed: int = 0
    tsne: bool = False  # the Fig. 8 embedding of every run (~15 s each): opt in with --set downstream.tsne=true
    top_genes: int = Field(default=6, ge=0)  # genes in the real-vs-predicted scatter (supplementary Fig. 5)

    @field_validator("epochs")
    @classmethod
    def _positive(cls, value: list[int]) -> list[int]:
        if any(e < 0 for e in value) or sum(value) == 0:
            raise ValueError("downstream.epochs are the three phases' lengths, e.g. [50, 50, 100]")
        return value


class ExperimentConfig(_Strict):
    """A benchmark: data + split + preprocessing + translators, run for each seed."""

    name: str = Field(min_length=1)
    description: str = ""
    seeds: list[int] = Field(default_factory=lambda: [0], min_length=1)
    n_jobs: int | None = Field(None, ge=1)
    plugins_dir: Path | None = None
    data: dict[str, Any] = Field(default_factory=lambda: {"source": "synthetic"})
    source_data: dict[str, Any] | None = None  # optional other cohort(s) for transfer learning
    split: SplitConfig = Field(default_factory=SplitConfig)
    preprocess: PreprocessConfig = Field(default_factory=PreprocessConfig)
    translators: list[TranslatorEntry] = Field(min_length=1)
    downstream: DownstreamConfig = Field(default_factory=DownstreamConfig)
    tracking: TrackingConfig = Field(default_factory=TrackingConfig)
    executor: ExecutorConfig = Field(default_factory=ExecutorConfig)
    timeout_s: float | None = Field(None, gt=0)  # per translator job (fit, predict, scoring); a longer one FAILS
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

    @property
    def experiment_name(self) -> str:
        return self.tracking.experiment or self.name

    def semantic_dict(self) -> dict[str, Any]:
        """The fields that change results (not where results go, nor the worker count)."""
        out = self.model_dump(
            mode="json",
            exclude={"tracking", "plugins_dir", "description", "n_jobs", "executor", "timeout_s", "controls"},
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
    try:
        raw = safe_yaml(path)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or one_line(exc, with_type=False)
        raise ConfigError(f"{path}: invalid YAML{where}: {problem}") from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of fields (name, data, translators, ...)")
    raw = apply_overrides(raw, overrides)
    try:
        return ExperimentConfig(**raw)
    except ValidationError as exc:
        # a misspelt field also makes the real one "missing": report the misspelling first
        err = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")[0]
        where = ".".join(str(x) for x in err["loc"]) or "(top level)"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown field" + _suggest(err["loc"]) + "; see the YAML reference in the README"
        raise ConfigError(f"{path}: field {where}: {msg}") from None


_MAX_YAML_BYTES = 1_000_000
_MAX_YAML_NODES = 100_000


def safe_yaml(path: Path) -> Any:
    """``yaml.safe_load`` of a UTF-8 file of at most 1 MB whose aliases expand to at most 100,000
    nodes (a "billion laughs" alias bomb is refused before anything expands it)."""
    try:
        if path.stat().st_size > _MAX_YAML_BYTES:
            raise ConfigError(f"{path}: {path.stat().st_size} bytes is too large for an experiment file (limit 1 MB)")
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start}): save the file as UTF-8") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    node = yaml.compose(text, Loader=yaml.SafeLoader)
    if node is None:
        return None
    if _expanded_size(node, {}) > _MAX_YAML_NODES:
        raise ConfigError(
            f"{path}: its aliases (*name) expand to more than {_MAX_YAML_NODES:,} values: "
            "an alias bomb? write the values out or use fewer nested aliases"
        )
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _expanded_size(node: yaml.Node, memo: dict[int, int]) -> int:
    """Nodes after alias expansion, each shared node counted once per use (memoised: linear time)."""
    key = id(node)
    if key in memo:
        return memo[key]
    memo[key] = 1  # a recursive alias counts as one until resolved
    size = 1
    if isinstance(node, yaml.SequenceNode):
        size += sum(_expanded_size(child, memo) for child in node.value)
    elif isinstance(node, yaml.MappingNode):
        size += sum(_expanded_size(k, memo) + _expanded_size(v, memo) for k, v in node.value)
    memo[key] = min(size, _MAX_YAML_NODES + 1)
    return memo[key]


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
    raw = json.loads(json.dumps(raw, default=str))  # deep copy with plain types
    for item in overrides:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--set {item!r}: expected key=value, e.g. --set seeds=[0,1,2]")
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError:
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
