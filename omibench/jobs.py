"""One unit of work, one translator fitted with one seed, runnable in any process.

A :class:`JobSpec` is plain data (JSON-able): a worker process or a Ray task rebuilds the prepared
data from the resolved config inside it, checks that the dataset and split hashes match the
driver's, fits, scores, writes the artifacts and returns a :class:`JobResult`. The driver alone
writes MLflow. ``python -m omibench.jobs SPEC.json`` is the worker entry point of the local
executor.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from ._faults import fault_point
from .artifacts import write_run_artifacts
from .translate import save_preprocessing
from .metrics import score
from .translator import FitContext, resolve_device

if TYPE_CHECKING:
    from .preparation import PlannedTranslator, Prepared

__all__ = ["JobSpec", "JobResult", "execute_job", "run_spec"]


@dataclass
class JobSpec:
    run_id: str  # the MLflow run the driver logs this job's results into
    label: str  # the experiment entry (translator label)
    params: dict[str, Any]  # final translator parameters (tuned ones merged in)
    seed: int
    gpus: int  # GPUs the translator wants (0 or 1)
    out_dir: str  # where the job writes its artifacts (on the machine that runs it)
    config: dict[str, Any]  # the resolved experiment config, to rebuild the data in a worker
    plugin_dirs: list[str]
    cwd: str  # relative data paths in the config are taken from here
    dataset_hash: str
    split_hash: str
    n_jobs: int = 1
    cache_dir: str | None = None  # the driver's data cache, when this machine shares its disk

    def to_json(self) -> str:
        return json.dumps(asdict(self), default=str)

    @classmethod
    def from_json(cls, text: str) -> "JobSpec":
        return cls(**json.loads(text))


@dataclass
class JobResult:
    run_id: str
    status: str  # FINISHED | FAILED
    metrics: dict[str, float] = field(default_factory=dict)
    reports: list[tuple[int, dict[str, float]]] = field(default_factory=list)  # per-epoch values not yet logged
    error: str = ""
    traceback: str = ""
    out_dir: str = ""  # artifacts on the driver's machine, or ""
    files: dict[str, bytes] = field(default_factory=dict)  # artifacts shipped back from another machine

    def to_json(self) -> str:
        return json.dumps({k: v for k, v in asdict(self).items() if k != "files"})


def execute_job(spec: JobSpec, prepared: "Prepared", reporter: Callable[[int, dict[str, float]], None] | None = None,
                show_progress: bool = False) -> JobResult:
    """Fit ``spec``'s translator on ``prepared``, score it, write artifacts to ``spec.out_dir``.

    With ``reporter`` (the inline executor) per-epoch values are logged live; otherwise they come
    back in ``JobResult.reports``. Any exception becomes a FAILED result with its traceback.
    """
    import random

    plan = _plan(prepared, spec.label)
    context = FitContext(seed=spec.seed, device=resolve_device(plan.cls.resources), n_jobs=spec.n_jobs,
                         reporter=reporter, show_progress=show_progress, source=prepared.source)
    try:
        random.seed(spec.seed)
        np.random.seed(spec.seed)
        if "torch" in sys.modules:  # only when a translator already uses torch: keep CPU-only runs light
            sys.modules["torch"].manual_seed(spec.seed)
        model = plan.cls(**spec.params)
        fault_point("fit")
        start = time.perf_counter()
        model.fit(prepared.train, prepared.val, context)
        fit_time = time.perf_counter() - start
        start = time.perf_counter()
        test_pred = _checked_predict(model, prepared.test.b, prepared.test.a.shape)
        predict_time = time.perf_counter() - start
        test_scores = score(prepared.test.a, test_pred)
        metrics = {f"test/{k}": v for k, v in test_scores.summary.items()}
        if prepared.val.n_samples >= 2:
            val_pred = _checked_predict(model, prepared.val.b, prepared.val.a.shape)
            metrics.update({f"val/{k}": v for k, v in score(prepared.val.a, val_pred).summary.items()})
        metrics.update(fit_time_s=fit_time, predict_time_s=predict_time)
        out = Path(spec.out_dir)
        write_run_artifacts(out / "results", prepared.test, test_pred, test_scores, prepared.config.downstream.top_genes)
        model.save(out / "model")
        if prepared.preprocessor is not None:
            save_preprocessing(out / "model", prepared.preprocessor, prepared.train.b_features, prepared.train.a_features)
    except Exception as exc:  # noqa: BLE001 - the job fails alone; the driver records it
        return JobResult(spec.run_id, "FAILED", reports=[] if reporter else context.reported,
                         error=f"{type(exc).__name__}: {exc}", traceback="".join(traceback.format_exception(exc)))
    return JobResult(spec.run_id, "FINISHED", metrics, [] if reporter else context.reported, out_dir=spec.out_dir)


def run_spec(spec: JobSpec) -> JobResult:
    """Rebuild the data from the spec in this process (a worker), then execute the job."""
    from .config import ExperimentConfig
    from .plugins import load_registry
    from .preparation import prepare

    os.chdir(spec.cwd)
    try:
        cache = Path(spec.cache_dir) if spec.cache_dir and Path(spec.cache_dir).is_dir() else None
        prepared = prepare(ExperimentConfig(**spec.config), load_registry(spec.plugin_dirs), cache)
        if (prepared.dataset_hash, prepared.split.hash) != (spec.dataset_hash, spec.split_hash):
            raise RuntimeError(f"this worker sees dataset {prepared.dataset_hash} / split {prepared.split.hash}, the driver "
                               f"{spec.dataset_hash} / {spec.split_hash}: the data differ between machines")
    except Exception as exc:  # noqa: BLE001
        return JobResult(spec.run_id, "FAILED", error=f"{type(exc).__name__}: {exc}",
                         traceback="".join(traceback.format_exception(exc)))
    return execute_job(spec, prepared)


def _plan(prepared: "Prepared", label: str) -> "PlannedTranslator":
    return next(p for p in prepared.translators if p.entry.display == label)


def _checked_predict(model: Any, b: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    pred = np.asarray(model.predict(b), dtype=np.float32)
    if pred.shape != shape:
        raise ValueError(f"{model.name} predicted shape {pred.shape}, expected {shape}")
    if not np.isfinite(pred).all():
        raise FloatingPointError(f"{model.name} predicted {int((~np.isfinite(pred)).sum())} NaN/inf values (diverged?)")
    return pred


def main(argv: list[str] | None = None) -> int:
    """Worker entry point: run the spec file, write result.json beside its artifacts."""
    args = sys.argv[1:] if argv is None else argv
    spec = JobSpec.from_json(Path(args[0]).read_text())
    result = run_spec(spec)
    Path(spec.out_dir).mkdir(parents=True, exist_ok=True)
    (Path(spec.out_dir) / "result.json").write_text(result.to_json())
    return 0


if __name__ == "__main__":
    sys.exit(main())
