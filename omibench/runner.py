"""The benchmark loop: config -> data -> split -> preprocessing -> one job per translator and seed.

Everything that can be wrong with the user's input (config, plugins, data, split) is checked in
``prepare`` before the tracking store is touched, so bad input never leaves half-written runs.
"""

from __future__ import annotations

import logging
import os
import random
import statistics
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

import numpy as np
import yaml

from ._errors import DataError
from ._provenance import git_commit, package_versions
from .artifacts import write_run_artifacts
from .config import ExperimentConfig, TranslatorEntry, canonical_hash
from .data.paired import PairedData
from .data.preprocess import Preprocessor
from .data.sources import build_source
from .data.splits import Split, make_split
from .data.tabular import read_id_list
from .metrics import score
from .plugins import Registry
from .tracking import LEVEL_SEED, LEVEL_SUMMARY, TAG, Tracker
from .translator import FitContext, Translator, resolve_device, validate_params

__all__ = ["Prepared", "PlannedTranslator", "Outcome", "prepare", "run_experiment", "with_params"]

Echo = Callable[[str], None]
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PlannedTranslator:
    entry: TranslatorEntry
    cls: type[Translator]
    params: dict[str, Any]
    key: str  # identifies the result: same key, same result (used to skip finished work)
    tuned_from: str = ""  # the tuning study whose best parameters were merged in, if any


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


@dataclass
class Outcome:
    label: str
    status: str  # FINISHED | FAILED | SKIPPED
    run_id: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    error: str = ""


def prepare(config: ExperimentConfig, registry: Registry) -> Prepared:
    """Resolve translators, load data, draw the split and fit preprocessing on the training rows."""
    planned = [(entry, registry.translator(entry.name)) for entry in config.translators]
    resolved = [(entry, cls, validate_params(cls, entry.params)) for entry, cls in planned]

    data = _load(config.data, registry)
    test_ids = read_id_list(config.split.test_ids) if config.split.test_ids else None
    split = make_split(
        data, seed=config.split.seed, val_fraction=config.split.val_fraction, test_fraction=config.split.test_fraction,
        test_ids=test_ids, stratify=config.split.stratify, test_ids_source=str(config.split.test_ids),
    )
    rows = split.rows(data)
    parts = {k: data.subset(v) for k, v in rows.items()}
    pre = Preprocessor(impute=config.preprocess.impute).fit(parts["train"])
    parts = {k: pre.transform(v, k) for k, v in parts.items()}
    if parts["test"].n_samples < 2:
        raise DataError(f"the test split has {parts['test'].n_samples} samples; featurewise R² needs at least 2: "
                        "raise split.test_fraction")

    source = None
    if config.source_data is not None:
        source = _align_source(_load(config.source_data, registry), split, pre)

    dataset_hash = data.fingerprint()
    semantic = config.semantic_dict()
    base = {"data": semantic["data"], "dataset_hash": dataset_hash, "split_hash": split.hash,
            "preprocess": semantic["preprocess"], "seeds": semantic["seeds"]}
    if source is not None:
        base["source_hash"] = source.fingerprint()
    translators = [
        PlannedTranslator(entry, cls, params, canonical_hash({**base, "translator": cls.name, "params": params}))
        for entry, cls, params in resolved
    ]
    return Prepared(config, parts["train"], parts["val"], parts["test"], source, split, dataset_hash,
                    canonical_hash(semantic), translators)


def with_params(prepared: Prepared, label: str, params: dict[str, Any], origin: str) -> Prepared:
    """``prepared`` with the translator ``label`` run on ``params`` merged over its own (e.g. the
    best trial of a tuning study, named by ``origin``); its job key changes accordingly."""
    plans = []
    for plan in prepared.translators:
        if plan.entry.display == label:
            merged = validate_params(plan.cls, {**plan.params, **params})
            plan = PlannedTranslator(plan.entry, plan.cls, merged, canonical_hash({"base": plan.key, "tuned": params}), origin)
        plans.append(plan)
    return replace(prepared, translators=plans)


def _load(block: dict[str, Any], registry: Registry) -> PairedData:
    fields = {k: v for k, v in block.items() if k != "source"}
    return build_source(registry.dataset(block["source"]), fields).load()


def _align_source(source: PairedData, split: Split, pre: Preprocessor) -> PairedData:
    """The source cohort on the target's features, without any target validation / test sample
    (which would leak), preprocessed exactly like the target (training-row statistics)."""
    held_out = set(split.val) | set(split.test)
    rows = np.array([i for i, s in enumerate(source.sample_ids.tolist()) if s not in held_out], dtype=np.int64)
    if len(rows) < source.n_samples:
        log.warning("source_data: %d samples are in the target's validation/test split and are left out",
                    source.n_samples - len(rows))
    b_pos = {f: i for i, f in enumerate(source.b_features.tolist())}
    a_pos = {f: i for i, f in enumerate(source.a_features.tolist())}
    missing = [f for f in pre.b_features_in_.tolist() if f not in b_pos] + [f for f in pre.a_features_in_.tolist() if f not in a_pos]
    if missing:
        raise DataError(f"source_data lacks {len(missing)} features of the target data (e.g. {', '.join(missing[:3])}): "
                        "translators need the same features in both")
    aligned = PairedData(
        b=source.b[np.ix_(rows, [b_pos[f] for f in pre.b_features_in_.tolist()])],
        a=source.a[np.ix_(rows, [a_pos[f] for f in pre.a_features_in_.tolist()])],
        sample_ids=source.sample_ids[rows], b_features=pre.b_features_in_, a_features=pre.a_features_in_,
        labels=None if source.labels is None else source.labels[rows], name=f"{source.name} (source)",
    )
    return pre.transform(aligned, "source")


def run_experiment(prepared: Prepared, registry: Registry, tracker: Tracker, force: bool = False,
                   show_progress: bool = False, echo: Echo = lambda _: None) -> list[Outcome]:
    """Run every planned translator for every seed; return one outcome per translator."""
    config = prepared.config
    exp_id = tracker.experiment_id(config.experiment_name)
    assert exp_id is not None
    split_file = prepared.split.save(tracker.store / "splits" / f"{prepared.split.hash}.json")
    outcomes = []
    for i, plan in enumerate(prepared.translators, 1):
        label = plan.entry.display
        finished = tracker.find_runs(exp_id, plan.key, "FINISHED")
        if finished and not force:
            echo(f"[{i}/{len(prepared.translators)}] {label}: finished run {finished[0]} exists, skipped (--force reruns)")
            outcomes.append(Outcome(label, "SKIPPED", finished[0]))
            continue
        for stale in tracker.find_runs(exp_id, plan.key, "RUNNING"):
            tracker.end_run(stale, "FAILED")  # left RUNNING by a killed process
        echo(f"[{i}/{len(prepared.translators)}] {label}: fitting on {prepared.train.n_samples} samples, seeds {config.seeds}")
        outcomes.append(_run_translator(prepared, plan, tracker, exp_id, split_file, show_progress, echo))
    return outcomes


def _run_translator(prepared: Prepared, plan: PlannedTranslator, tracker: Tracker, exp_id: str,
                    split_file: Path, show_progress: bool, echo: Echo) -> Outcome:
    seeds = prepared.config.seeds
    label = plan.entry.display
    tags = _tags(prepared, plan)
    parent = tracker.start_run(exp_id, label, {**tags, f"{TAG}level": LEVEL_SUMMARY})
    tracker.log_params(parent, {**plan.params, "translator": plan.cls.name, "seeds": seeds,
                                "n_train": prepared.train.n_samples, "n_val": prepared.val.n_samples,
                                "n_test": prepared.test.n_samples, "n_b_features": prepared.train.b.shape[1],
                                "n_a_features": prepared.train.a.shape[1]})
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "config.yaml").write_text(yaml.safe_dump(prepared.config.model_dump(mode="json"), sort_keys=False))
        tracker.log_artifacts(parent, tmp)
    tracker.client.log_artifact(parent, str(split_file), "split")

    per_seed: list[dict[str, float]] = []
    try:
        for seed in seeds:
            run_id = parent
            if len(seeds) > 1:
                run_id = tracker.start_run(exp_id, f"{label} seed {seed}", {**tags, f"{TAG}level": LEVEL_SEED,
                                                                           f"{TAG}seed": str(seed)}, parent_id=parent)
                tracker.log_params(run_id, {**plan.params, "translator": plan.cls.name, "seed": seed})
            else:
                tracker.set_tags(parent, {f"{TAG}seed": str(seed)})
            try:
                metrics = _fit_and_score(prepared, plan, seed, tracker, run_id, show_progress)
            except BaseException as exc:
                _record_failure(tracker, run_id, exc)
                if run_id != parent:
                    _record_failure(tracker, parent, exc)
                raise
            if run_id != parent:
                tracker.end_run(run_id)
            per_seed.append(metrics)
            echo(f"    seed {seed}: median featurewise R² {metrics['test/median_r2_featurewise']:.4f}, "
                 f"MSE {metrics['test/mse']:.4f}, fit {metrics['fit_time_s']:.1f}s")
    except Exception as exc:  # noqa: BLE001 - one translator failing must not stop the others
        echo(f"    FAILED: {type(exc).__name__}: {exc}".splitlines()[0])
        return Outcome(label, "FAILED", parent, error=f"{type(exc).__name__}: {exc}")

    summary = _aggregate(per_seed)
    tracker.log_metrics(parent, summary)
    tracker.end_run(parent)
    return Outcome(label, "FINISHED", parent, summary)


def _fit_and_score(prepared: Prepared, plan: PlannedTranslator, seed: int, tracker: Tracker, run_id: str,
                   show_progress: bool) -> dict[str, float]:
    _seed_everything(seed)
    model = plan.cls(**plan.params)
    context = FitContext(
        seed=seed, device=resolve_device(plan.cls.resources), n_jobs=prepared.config.n_jobs or os.cpu_count() or 1,
        reporter=lambda step, values: tracker.log_metrics(run_id, values, step=step), show_progress=show_progress,
        source=prepared.source,
    )
    start = time.perf_counter()
    model.fit(prepared.train, prepared.val, context)
    fit_time = time.perf_counter() - start
    start = time.perf_counter()
    test_pred = _checked_predict(model, prepared.test)
    predict_time = time.perf_counter() - start
    test_scores = score(prepared.test.a, test_pred)
    metrics = {f"test/{k}": v for k, v in test_scores.summary.items()}
    if prepared.val.n_samples >= 2:
        val_scores = score(prepared.val.a, _checked_predict(model, prepared.val))
        metrics.update({f"val/{k}": v for k, v in val_scores.summary.items()})
    metrics.update(fit_time_s=fit_time, predict_time_s=predict_time)
    tracker.log_metrics(run_id, metrics)
    with tempfile.TemporaryDirectory() as tmp:
        write_run_artifacts(Path(tmp) / "results", prepared.test, test_pred, test_scores)
        model.save(Path(tmp) / "model")
        tracker.log_artifacts(run_id, tmp)
    return metrics


def _checked_predict(model: Translator, part: PairedData) -> np.ndarray:
    pred = np.asarray(model.predict(part.b), dtype=np.float32)
    if pred.shape != part.a.shape:
        raise ValueError(f"{model.name} predicted shape {pred.shape}, expected {part.a.shape}")
    if not np.isfinite(pred).all():
        raise FloatingPointError(f"{model.name} predicted {int((~np.isfinite(pred)).sum())} NaN/inf values (diverged?)")
    return pred


def _aggregate(per_seed: list[dict[str, float]]) -> dict[str, float]:
    """Mean over seeds under the plain names; standard deviation as ``<name>_std`` (0 for one seed)."""
    out = {}
    for key in per_seed[0]:
        values = [m[key] for m in per_seed if key in m]
        out[key] = float(np.mean(values))
        out[f"{key}_std"] = float(statistics.stdev(values)) if len(values) > 1 else 0.0
    return out


def _tags(prepared: Prepared, plan: PlannedTranslator) -> dict[str, str]:
    return {
        f"{TAG}translator": plan.cls.name,
        f"{TAG}label": plan.entry.display,
        f"{TAG}dataset": prepared.train.name,
        f"{TAG}dataset_hash": prepared.dataset_hash,
        f"{TAG}split_hash": prepared.split.hash,
        f"{TAG}config_hash": prepared.config_hash,
        f"{TAG}job_key": plan.key,
        f"{TAG}git_commit": git_commit(),
        f"{TAG}versions": package_versions(),
        f"{TAG}plugin_source": f"{plan.cls.__module__}.{plan.cls.__qualname__}",
        **({f"{TAG}tuned_from": plan.tuned_from} if plan.tuned_from else {}),
    }


def _record_failure(tracker: Tracker, run_id: str, exc: BaseException) -> None:
    status = "KILLED" if isinstance(exc, KeyboardInterrupt) else "FAILED"
    try:
        with tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / "traceback.txt").write_text("".join(traceback.format_exception(exc)))
            tracker.log_artifacts(run_id, tmp)
        tracker.set_tags(run_id, {f"{TAG}error": f"{type(exc).__name__}: {exc}"[:5000]})
    finally:
        tracker.end_run(run_id, status)


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    if "torch" in sys.modules:  # only when a translator already uses torch: keep CPU-only runs light
        sys.modules["torch"].manual_seed(seed)
