"""Preparation: config -> translators resolved -> data loaded -> split drawn -> preprocessing fitted.

Everything that can be wrong with the user's input (config, plugins, data, split) is checked in
``prepare`` before the tracking store is touched, so bad input never leaves half-written runs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from omibench.config import ExperimentConfig, TranslatorEntry, canonical_hash
from omibench.contract.registry import Registry
from omibench.contract.translator import Translator, validate_params
from omibench.data.cache import load_cached, prepared_key, read_prepared, write_prepared
from omibench.data.ids import listed_keys, read_id_list
from omibench.data.paired import PairedData
from omibench.data.paths import resolve
from omibench.data.preprocess import Preprocessor
from omibench.data.resampling import outer_splits, patient_leak, resolve_group_by, tcga_patient_groups
from omibench.data.roles import swapped
from omibench.data.sources import DataSource, FilesSource, build_source
from omibench.data.splits import Split, make_split
from omibench.data.steps import build_steps
from omibench.data.xena import Streamed, can_stream, prepare_streamed
from omibench.errors import ConfigError, DataError, PluginError
from omibench.run.code_identity import code_identity
from omibench.store import layout

__all__ = ["Prepared", "PlannedTranslator", "for_split", "prepare", "with_params"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PlannedTranslator:
    entry: TranslatorEntry
    cls: type[Translator]
    params: dict[str, Any]
    key: str  # identifies the result: same key, same result (used to skip finished work)
    tuned_from: str = ""  # the tuning study whose best parameters were merged in, if any
    split_keys: tuple[str, ...] = ()  # the key on each outer split; one split: (key,)

    def jobs(self, seeds: list[int], n_splits: int) -> list[tuple[int, int]]:
        """(outer split, seed) of every job: a seed-independent translator is fitted once per split."""
        used = seeds if self.cls.seed_dependent else seeds[:1]
        return [(i, seed) for i in range(n_splits) for seed in used]


@dataclass(frozen=True)
class Prepared:
    """Everything a job needs, validated: the three preprocessed parts and the plan."""

    config: ExperimentConfig
    train: PairedData
    val: PairedData
    test: PairedData
    source: PairedData | None  # source_data restricted to the target's features, for transfer
    split: Split
    dataset_hash: str
    config_hash: str
    translators: list[PlannedTranslator]
    preprocessor: Preprocessor | None = None  # fitted on the training rows; saved beside each model
    # outer resampling: every outer split (``split`` is ``outer[outer_index]``) and the whole loaded
    # dataset they are drawn from; the parts of another split are built on demand (:func:`for_split`)
    outer: tuple[Split, ...] = ()
    raw: PairedData | None = None
    outer_index: int = 0
    # the controls added by ``config.controls`` (run like the translators), and those left out, with why
    controls: tuple[str, ...] = ()
    controls_left_out: tuple[str, ...] = ()
    grouped_by: str | None = None  # the grouping the split was drawn with (``group_by: auto`` resolved)
    # TCGA barcodes: the (first) split's test samples that share a patient with a training/validation sample
    leaky_test_samples: tuple[str, ...] | None = None
    cache_dir: Path | None = None  # the data cache it was prepared through, if any

    @property
    def splits(self) -> tuple[Split, ...]:
        return self.outer or (self.split,)

    def save_splits(self, store: Path) -> list[Path]:
        """Write every outer split into the store folder ``store``; their files, in order."""
        return [s.save(layout.split_file(store, s.hash)) for s in self.splits]


def for_split(prepared: Prepared, index: int) -> Prepared:
    """``prepared`` on outer split ``index``: its parts cut from the whole dataset and preprocessing
    fitted on that split's training rows only. Built when asked, so only the splits in use are held."""
    if index == prepared.outer_index:
        return prepared
    if prepared.raw is None or not 0 <= index < len(prepared.outer):
        raise DataError(f"outer split {index} is not available in this preparation")
    split = prepared.outer[index]
    parts, pre = _fit_parts(prepared.config, prepared.raw, split)
    return replace(
        prepared,
        train=parts["train"],
        val=parts["val"],
        test=parts["test"],
        split=split,
        preprocessor=pre,
        outer_index=index,
    )


def split_index(prepared: Prepared, split_hash: str) -> int:
    """The position of the outer split with hash ``split_hash``."""
    for i, split in enumerate(prepared.splits):
        if split.hash == split_hash:
            return i
    raise DataError(f"split {split_hash} is not one of this experiment's outer splits: the data or config differ")


def prepare(config: ExperimentConfig, registry: Registry, cache_dir: Path | None = None) -> Prepared:
    """Resolve translators, load data (through the cache in ``cache_dir``), draw the split and fit
    preprocessing on the training rows."""
    planned = [(entry, registry.translator(entry.name)) for entry in config.translators]
    resolved = [(entry, cls, validate_params(cls, entry.params)) for entry, cls in planned]
    controls = _control_entries(config, registry)

    data_source = build_source(registry.dataset(config.data["source"]), _fields(config.data))
    write_cache: Callable[[], None]
    resampled = config.split.scheme != "holdout" or config.split.group_by == "patient"
    splits: list[Split] = []
    raw: PairedData | None = None
    if resampled and config.source_data is not None:
        raise ConfigError("split.scheme: outer resampling with source_data is not supported yet: use scheme: holdout")
    if config.reverse and (config.source_data is not None or can_stream(data_source)):
        raise ConfigError(
            "direction: the reverse direction (a_to_b, both) needs the in-memory data path without source_data; "
            "this files source is streamed (or source_data is set): use direction: b_to_a"
        )
    if can_stream(data_source) and resampled:
        raise ConfigError(
            "split.scheme: outer resampling (and group_by) needs the in-memory data path; this "
            "files source is streamed: use scheme: holdout, or a given test list"
        )
    if can_stream(data_source):  # headers first, then the matrices streamed (omibench.data.xena)
        assert isinstance(data_source, FilesSource)
        cache_entry = None
        if cache_dir is not None:
            cache_entry = Path(cache_dir) / prepared_key(data_source, config, _step_files(config))
        streamed = read_prepared(cache_entry) if cache_entry is not None else None
        if streamed is None:
            streamed = prepare_streamed(data_source, config)
            for stage, (seconds, peak) in streamed.stages.items():
                log.info("data: %s: %.1f s (peak memory so far %.2f GiB)", stage, seconds, peak)
        parts, split, pre, dataset_hash = streamed.parts, streamed.split, streamed.preprocessor, streamed.dataset_hash
        write_cache = _writer(cache_entry, streamed)
        grouped_by = None
    else:
        parts, splits, pre, dataset_hash, write_cache, raw, grouped_by = _prepare_in_memory(
            config, data_source, cache_dir
        )
        split = splits[0]
    leaky = patient_leak(split)
    if leaky:
        given = "of the given test list " if config.split.test_ids or config.split.given else ""
        note = (
            f"{len(leaky)} of {len(split.test)} test samples {given}share a TCGA patient with a training or "
            f"validation sample (e.g. {', '.join(leaky[:2])}): their scores may be optimistic"
        )
        log.warning("split: %s", note)
        split = replace(split, notes=(*split.notes, note))
        splits = [split, *splits[1:]] if splits else []
    if parts["test"].n_samples < 2:
        raise DataError(
            f"the test split has {parts['test'].n_samples} samples; featurewise R² needs at least 2: "
            "raise split.test_fraction"
        )

    if (
        config.downstream.enabled
        and len({str(x) for x in (parts["train"].labels if parts["train"].labels is not None else []) if x is not None})
        < 2
    ):
        raise DataError(
            "downstream.enabled: the training split has labels of fewer than two classes; the classifier "
            "needs at least two: give data.labels (and label_column), or set downstream.enabled: false"
        )

    for entry, cls, params in resolved:  # like benchopt's skip(): refused here, not a FAILED run later
        reason = cls.skip_reason(params, parts["train"], parts["val"])
        if reason:
            raise ConfigError(f"translators: {entry.display!r} cannot run on this data: {reason}")
        if config.refit != "none" and not cls.can_refit():
            raise ConfigError(
                f"refit: translator {entry.display!r} ({cls.name}) cannot pin its choices for a refit: "
                "set refit: none, or leave it out of this experiment"
            )

    left_out: list[str] = []
    added: list[str] = []
    for entry, cls, params in controls:  # an added control that cannot run here is left out, not refused
        reason = cls.skip_reason(params, parts["train"], parts["val"])
        if not reason and config.refit != "none" and not cls.can_refit():
            reason = "it cannot refit (refit: train+val)"
        if reason:
            log.info("controls: %s left out: %s", entry.name, reason)
            left_out.append(f"{entry.name}: {reason}")
        else:
            resolved.append((entry, cls, params))
            added.append(entry.name)

    source = None
    if config.source_data is not None:
        source = _align_source(_load(config.source_data, registry, cache_dir), split, pre)

    semantic = config.semantic_dict()
    base = {
        "data": semantic["data"],
        "dataset_hash": dataset_hash,
        "preprocess": semantic["preprocess"],
        "seeds": semantic["seeds"],
    }
    if source is not None:
        base["source_hash"] = source.fingerprint()
    if "refit" in semantic:
        base["refit"] = semantic["refit"]
    all_splits = splits or [split]
    translators = []
    for entry, cls, params in resolved:
        code = {"code": code_identity(cls)}  # editing the plugin's file reruns its jobs
        keys = tuple(
            canonical_hash({**base, **code, "split_hash": s.hash, "translator": cls.name, "params": params})
            for s in all_splits
        )
        translators.append(PlannedTranslator(entry, cls, params, _summary_key(keys), split_keys=keys))
    write_cache()  # only now: every check on the input has passed
    return Prepared(
        config,
        parts["train"],
        parts["val"],
        parts["test"],
        source,
        split,
        dataset_hash,
        canonical_hash(semantic),
        translators,
        pre,
        outer=tuple(splits) if len(splits) > 1 else (),
        raw=raw if len(splits) > 1 else None,
        controls=tuple(added),
        controls_left_out=tuple(left_out),
        grouped_by=grouped_by,
        leaky_test_samples=leaky,
        cache_dir=Path(cache_dir) if cache_dir is not None else None,
    )


def _control_entries(
    config: ExperimentConfig, registry: Registry
) -> list[tuple[TranslatorEntry, type[Translator], dict[str, Any]]]:
    """The controls ``config.controls`` adds (those not already listed), with default parameters.
    A default control missing from the registry is left out; one named in a ``controls`` list is required."""
    out = []
    for name in config.control_names:
        try:
            cls = registry.translator(name)
        except PluginError:
            if config.controls is not True:
                raise
            log.info("controls: %s is not registered; left out", name)
            continue
        if not getattr(cls, "control", False):
            raise ConfigError(
                f"controls: {name!r} is not a control (a translator class with control = True): "
                "list it under translators instead"
            )
        out.append((TranslatorEntry(name=name), cls, validate_params(cls, {})))
    return out


def _summary_key(split_keys: tuple[str, ...]) -> str:
    """One split: its key (as before resampling existed); several: a key over all of them."""
    return split_keys[0] if len(split_keys) == 1 else canonical_hash({"outer": list(split_keys)})


def _prepare_in_memory(
    config: ExperimentConfig, data_source: DataSource, cache_dir: Path | None
) -> tuple[dict[str, PairedData], list[Split], Preprocessor, str, Callable[[], None], PairedData, str | None]:
    """Sources that are not streamed: load the whole dataset, draw the outer splits, cut the first
    one's parts and fit preprocessing on its training rows. Also returns the grouping used."""
    data, write_cache = load_cached(data_source, config.data, cache_dir)
    if config.reverse:  # A is the input, B the target: same samples and labels, so the same splits
        data = swapped(data)
    root = config.data.get("root")
    test_ids: list[str] | None = None
    notes: list[str] = []
    if config.split.test_ids:
        match = str(config.data.get("match", "id"))
        path = resolve(config.split.test_ids, root)
        known = set(data.sample_ids.tolist())
        test_ids, notes = listed_keys(read_id_list(path, match, known), match, {k: [k] for k in known}, path)
    if config.split.given:
        if data.given_test_ids is None:
            raise DataError(f"split.given: data source {config.data['source']!r} defines no test samples")
        test_ids = list(data.given_test_ids)
    cfg = config.split
    group_by = resolve_group_by(cfg.group_by, data.sample_ids)
    if group_by is not None:
        log.info("split: grouped by %s (split.group_by: %s)", group_by, cfg.group_by)
    if cfg.scheme == "holdout" and group_by is None:
        splits = [
            make_split(
                data,
                seed=cfg.seed,
                val_fraction=cfg.val_fraction,
                test_fraction=cfg.test_fraction,
                test_ids=test_ids,
                stratify=cfg.stratify,
                test_ids_source=str(cfg.test_ids),
            )
        ]
    else:
        groups = tcga_patient_groups(data.sample_ids) if group_by == "patient" else None
        scheme = "repeated_holdout" if cfg.scheme == "holdout" else cfg.scheme
        splits = outer_splits(
            data,
            scheme,
            repeats=cfg.repeats if cfg.scheme != "holdout" else 1,
            folds=cfg.folds,
            test_fraction=cfg.test_fraction,
            val_fraction=cfg.val_fraction,
            seed=cfg.seed,
            stratify=cfg.stratify,
            groups=groups,
            test_ids=test_ids,
        )
    splits[0] = replace(splits[0], notes=tuple(notes))
    parts, pre = _fit_parts(config, data, splits[0])
    return parts, splits, pre, data.fingerprint(), write_cache, data, group_by


def _fit_parts(config: ExperimentConfig, data: PairedData, split: Split) -> tuple[dict[str, PairedData], Preprocessor]:
    """The three parts of ``split``, preprocessed with statistics of its training rows only."""
    rows = split.rows(data)
    parts = {k: data.subset(v) for k, v in rows.items()}
    root = config.data.get("root")
    steps = {"b": config.preprocess.b, "a": config.preprocess.a}
    inp, out = ("a", "b") if config.reverse else ("b", "a")  # preprocess.b is data.b's steps in either direction
    pre = Preprocessor(
        config.preprocess.impute, build_steps(steps[inp], inp, root), build_steps(steps[out], out, root)
    ).fit(parts["train"])
    return {k: pre.transform(v, k) for k, v in parts.items()}, pre


def _writer(entry: Path | None, streamed: Streamed) -> Callable[[], None]:
    def write() -> None:
        if entry is not None and not (entry / "meta.json").is_file():
            write_prepared(entry, streamed)

    return write


def _fields(block: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in block.items() if k != "source"}


def _step_files(config: ExperimentConfig) -> list[Path]:
    """Files the experiment names outside the data block (for the prepared-data cache key)."""
    root = config.data.get("root")
    names = [config.split.test_ids] if config.split.test_ids else []
    for step in [*config.preprocess.b, *config.preprocess.a]:
        for kind in ("keep_features", "drop_features"):
            if isinstance(step, dict) and isinstance(step.get(kind), str):
                names.append(step[kind])
        if isinstance(step, dict) and isinstance(step.get("order_by_location"), dict):
            names.append(step["order_by_location"].get("table", ""))
    return [resolve(n, root) for n in names if n]


def with_params(prepared: Prepared, label: str, params: dict[str, Any], origin: str) -> Prepared:
    """``prepared`` with the translator ``label`` run on ``params`` merged over its own (e.g. the
    best trial of a tuning study, named by ``origin``); its job key changes accordingly."""
    plans = []
    for plan in prepared.translators:
        if plan.entry.display == label:
            merged = validate_params(plan.cls, {**plan.params, **params})
            keys = tuple(canonical_hash({"base": k, "tuned": params}) for k in plan.split_keys or (plan.key,))
            key = canonical_hash({"base": plan.key, "tuned": params}) if len(keys) == 1 else _summary_key(keys)
            plan = PlannedTranslator(plan.entry, plan.cls, merged, key, origin, split_keys=keys)
        plans.append(plan)
    return replace(prepared, translators=plans)


def _load(block: dict[str, Any], registry: Registry, cache_dir: Path | None) -> PairedData:
    data, write = load_cached(build_source(registry.dataset(block["source"]), _fields(block)), block, cache_dir)
    write()  # source_data: the target's checks have passed by now
    return data


def _align_source(source: PairedData, split: Split, pre: Preprocessor) -> PairedData:
    """The source cohort on the target's features, without any target validation / test sample
    (which would leak), preprocessed exactly like the target (training-row statistics)."""
    held_out = set(split.val) | set(split.test)
    rows = np.array([i for i, s in enumerate(source.sample_ids.tolist()) if s not in held_out], dtype=np.int64)
    if len(rows) < source.n_samples:
        log.warning(
            "source_data: %d samples are in the target's validation/test split and are left out",
            source.n_samples - len(rows),
        )
    b_pos = {f: i for i, f in enumerate(source.b_features.tolist())}
    a_pos = {f: i for i, f in enumerate(source.a_features.tolist())}
    missing = [f for f in pre.b_features_in_.tolist() if f not in b_pos] + [
        f for f in pre.a_features_in_.tolist() if f not in a_pos
    ]
    if missing:
        raise DataError(
            f"source_data lacks {len(missing)} features of the target data (e.g. {', '.join(missing[:3])}): "
            "translators need the same features in both"
        )
    aligned = PairedData(
        b=source.b[np.ix_(rows, np.asarray([b_pos[f] for f in pre.b_features_in_.tolist()], dtype=np.intp))],
        a=source.a[np.ix_(rows, np.asarray([a_pos[f] for f in pre.a_features_in_.tolist()], dtype=np.intp))],
        sample_ids=source.sample_ids[rows],
        b_features=pre.b_features_in_,
        a_features=pre.a_features_in_,
        labels=None if source.labels is None else source.labels[rows],
        name=f"{source.name} (source)",
    )
    return pre.transform_raw(aligned, "source")
