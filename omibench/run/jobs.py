"""One unit of work, one translator fitted with one seed, runnable in any process.

:class:`JobWork` is what the runner hands to every executor: ``here`` runs a job on the driver's
prepared data (the ``process`` executor's forked child, or ``inline``); a fresh process (``python
-m omibench.run.jobs SPEC.json``, the ``local`` executor) or a Ray task rebuilds the data from the
resolved config in the spec, checks the dataset and split hashes against the driver's, then runs
the same :func:`execute_job`. The driver alone writes the store.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from omibench.contract.translator import FitContext, Translator, resolve_device
from omibench.data.paired import PairedData
from omibench.run import interrupts as _interrupts
from omibench.run.artifacts import write_run_artifacts
from omibench.run.executors.spec import FAILED, FINISHED, JobResult, JobSpec, Reporter
from omibench.run.faults import fault_point
from omibench.run.fitting import FitScore, fit_and_score
from omibench.run.translate import save_preprocessing
from omibench.store import layout

if TYPE_CHECKING:
    from omibench.run.preparation import PlannedTranslator, Prepared

__all__ = ["JobResult", "JobSpec", "JobWork", "execute_job", "run_spec"]


def execute_job(
    spec: JobSpec, prepared: Prepared, reporter: Reporter | None = None, show_progress: bool = False
) -> JobResult:
    """Fit ``spec``'s translator on ``prepared``, score it, write artifacts to ``spec.out_dir``.

    With ``reporter`` per-epoch values are sent live; otherwise they come back in
    ``JobResult.reports``. Anything the translator raises, ``sys.exit`` and ``KeyboardInterrupt``
    included, becomes a FAILED result with its traceback; a real Ctrl-C still interrupts.
    """
    from omibench.run.preparation import for_split, split_index

    index = split_index(prepared, spec.split_hash)
    prepared = for_split(prepared, index)
    plan = _plan(prepared, spec.label)
    device = resolve_device(plan.cls.resources)
    context = FitContext(
        seed=spec.seed,
        device=device,
        n_jobs=spec.n_jobs,
        reporter=reporter,
        show_progress=show_progress,
        source=prepared.source,
    )
    try:
        with _interrupts.watching():
            fault_point("fit")
            fitted = fit_and_score(plan.cls, spec.params, prepared.train, prepared.val, context, prepared.test)
            chosen = dict(fitted.model.chosen())
            if prepared.config.refit == "train+val":
                fitted, chosen = _refit(plan.cls, spec.params, fitted.model, prepared, context, chosen)
            out = Path(spec.out_dir)
            (out / layout.RESULTS).mkdir(parents=True, exist_ok=True)
            (out / layout.CHOSEN).write_text(json.dumps(chosen, default=str))
            fitted.metrics.update(chosen_metrics(chosen))
            assert fitted.test is not None and fitted.test_pred is not None
            # pictures of the first outer split only (the one the report and the UI show): drawing them
            # costs more than fitting most translators, and ten copies of a histogram add nothing
            write_run_artifacts(
                out / layout.RESULTS,
                prepared.test,
                fitted.test_pred,
                fitted.test,
                prepared.config.downstream.top_genes,
                figures=index == 0,
            )
            fitted.model.save(out / layout.MODEL)
            if prepared.preprocessor is not None:
                save_preprocessing(
                    out / layout.MODEL, prepared.preprocessor, prepared.train.b_features, prepared.train.a_features
                )
    except KeyboardInterrupt as exc:
        if _interrupts.real():
            raise
        return _failed(spec, exc, context, reporter, "the translator raised KeyboardInterrupt")
    except SystemExit as exc:
        return _failed(spec, exc, context, reporter, f"the translator called sys.exit({exc.code!r})")
    except Exception as exc:  # the job fails alone; the driver records it
        return _failed(spec, exc, context, reporter)
    return JobResult(
        spec.run_id,
        FINISHED,
        fitted.metrics,
        [] if reporter else context.reported,
        out_dir=spec.out_dir,
        device=device,
        note="; ".join(fitted.notes),
    )


def chosen_metrics(chosen: Mapping[str, Any]) -> dict[str, float]:
    """The numeric chosen settings as metrics ``chosen.<name>`` (strings stay params only)."""
    return {
        f"chosen.{k}": float(v)
        for k, v in chosen.items()
        if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
    }


def _refit(
    cls: type[Translator],
    params: Mapping[str, Any],
    model: Translator,
    prepared: Prepared,
    context: FitContext,
    chosen: dict[str, Any],
) -> tuple[FitScore, dict[str, Any]]:
    """Refit after selection: ``model``'s choices pinned (``refit_params``), fitted again on the
    training + validation rows, scored on the test rows (which it never sees, as before)."""
    pins = model.refit_params()
    if pins is None:
        raise RuntimeError(f"translator {cls.name} cannot refit (refit_params() is None)")
    both = PairedData.concat(prepared.train, prepared.val)
    refitted = fit_and_score(cls, {**params, **pins}, both, prepared.val, context, prepared.test)
    return refitted, {**chosen, **{f"refit.{k}": _flat(v) for k, v in pins.items()}}


def _flat(value: Any) -> str | float:
    return (
        float(value)
        if isinstance(value, (int, float)) and not isinstance(value, bool)
        else json.dumps(value, default=str)
    )


def _failed(
    spec: JobSpec, exc: BaseException, context: FitContext, reporter: Reporter | None, what: str = ""
) -> JobResult:
    from omibench.run.failures import failure_kind

    error = what or f"{type(exc).__name__}: {exc}"
    kind = failure_kind(f"{type(exc).__name__}: {exc}", None, False)
    return JobResult(
        spec.run_id,
        FAILED,
        reports=[] if reporter else context.reported,
        error=error,
        traceback="".join(traceback.format_exception(exc)),
        failure_kind=kind,
    )


def run_spec(spec: JobSpec, reporter: Reporter | None = None) -> JobResult:
    """Rebuild the data from the spec in this process (a worker), then execute the job."""
    from omibench.config import ExperimentConfig
    from omibench.contract.registry import load_registry
    from omibench.run.preparation import prepare

    os.chdir(spec.cwd)
    try:
        cache = Path(spec.cache_dir) if spec.cache_dir and Path(spec.cache_dir).is_dir() else None
        prepared = prepare(ExperimentConfig(**spec.config), load_registry(spec.plugin_dirs), cache)
        hashes = [s.hash for s in prepared.splits]
        if prepared.dataset_hash != spec.dataset_hash or spec.split_hash not in hashes:
            raise RuntimeError(
                f"this worker sees dataset {prepared.dataset_hash} / splits {', '.join(hashes)}, the driver "
                f"{spec.dataset_hash} / {spec.split_hash}: the data differ between machines"
            )
    except Exception as exc:
        return JobResult.failed(spec, f"{type(exc).__name__}: {exc}", "".join(traceback.format_exception(exc)))
    return execute_job(spec, prepared, reporter)


def _collecting(on_report: Callable[[], None]) -> tuple[Reporter, list[tuple[int, dict[str, float]]]]:
    """A reporter that keeps every per-epoch value (they come back in the result) and calls
    ``on_report()`` at each: the stall watch's sign of life."""
    reports: list[tuple[int, dict[str, float]]] = []

    def report(step: int, values: Mapping[str, float]) -> None:
        reports.append((step, dict(values)))
        on_report()

    return report, reports


def _run_collecting(spec: JobSpec, on_report: Callable[[], None]) -> JobResult:
    report, reports = _collecting(on_report)
    result = run_spec(spec, report)
    result.reports = result.reports or reports
    return result


def _no_report() -> None:
    return None


def run_remote(spec_json: str, board: Any = None) -> JobResult:
    """A Ray task: execute in a scratch directory and ship the artifacts back in the result. With a
    ``board`` (the stall watch's actor, :class:`omibench.run.executors.stall.Board`) the task tells
    it its node and worker pid at the start, and its report count as it goes."""
    from omibench.run.executors.stall import ReportBeat, sample_every

    spec = JobSpec.from_json(spec_json)
    on_report: Callable[[], None] = _no_report
    if board is not None and spec.stall_s is not None:
        import ray

        board.started.remote(spec.run_id, ray.get_runtime_context().get_node_id(), os.getpid())
        on_report = ReportBeat(lambda n: board.reported.remote(spec.run_id, n), sample_every(spec.stall_s))
    with tempfile.TemporaryDirectory() as tmp:
        spec.out_dir = tmp
        result = _run_collecting(spec, on_report)
        if result.status == FINISHED:
            root = Path(tmp)
            result.files = {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}
        result.out_dir = ""
    return result


@dataclass
class JobWork:
    """The work every executor carries (see :class:`omibench.run.executors.Work`)."""

    prepared: Prepared
    show_progress: bool = False
    module: str = "omibench.run.jobs"
    remote = staticmethod(run_remote)  # module-level: Ray pickles it by reference
    _last: Prepared | None = field(default=None, repr=False)

    def here(self, spec: JobSpec, reporter: Reporter | None) -> JobResult:
        """Run on the driver's data (in a fork of it, or inline). Another outer split's parts are
        built here, in the job's process, and the last one is kept for the next job (jobs come
        split by split): at most the whole dataset, the first split's parts and one more split's
        parts are held at once, never every split's."""
        from omibench.run.preparation import for_split, split_index

        index = split_index(self.prepared, spec.split_hash)
        if index == self.prepared.outer_index:
            prepared = self.prepared
        else:
            if self._last is None or self._last.outer_index != index:
                self._last = None  # release the previous split's parts before building the next
                self._last = for_split(self.prepared, index)
            prepared = self._last
        return execute_job(spec, prepared, reporter, self.show_progress)


def _plan(prepared: Prepared, label: str) -> PlannedTranslator:
    return next(p for p in prepared.translators if p.entry.display == label)


def main(argv: list[str] | None = None) -> int:
    """Worker entry point: run the spec file, write its result beside its artifacts. SIGTERM (the
    driver stopped the job, or died) removes the job's folder. At each per-epoch report the spec
    file is touched: its mtime tells the driver's stall watch that the job is alive."""
    from omibench.run.executors._children import remove_on_term

    args = sys.argv[1:] if argv is None else argv
    spec_file = Path(args[0])
    spec = JobSpec.from_json(spec_file.read_text())
    remove_on_term(spec.out_dir)

    def touch() -> None:
        try:
            os.utime(spec_file)
        except OSError:
            pass

    result = _run_collecting(spec, touch)
    Path(spec.out_dir).mkdir(parents=True, exist_ok=True)
    (Path(spec.out_dir) / layout.JOB_RESULT).write_text(result.to_json())
    return 0


if __name__ == "__main__":
    sys.exit(main())
