"""Table 3 in the run loop: the classifier of each outer split, and scoring a job's (or an
earlier run's) logged test predictions with it."""

from __future__ import annotations

import io
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from omibench.downstream.scoring import Downstream, setup_downstream
from omibench.errors import one_line
from omibench.metrics import catalogue
from omibench.run.executors import JobResult
from omibench.run.faults import fault_point
from omibench.run.preparation import Prepared, for_split
from omibench.store import RunStatus, Store, Tags, layout

__all__ = ["Judges", "backfill_run", "score_downstream"]

Echo = Callable[[str], None]


class Judges:
    """Table 3's classifier per outer split (it is trained on that split's training rows), built
    when first asked; ``None`` where Table 3 is off."""

    def __init__(self, prepared: Prepared, store: Store, exp_id: str, echo: Echo) -> None:
        self.prepared, self.store, self.exp_id, self.echo = prepared, store, exp_id, echo
        self.built: dict[int, Downstream | None] = {}

    def get(self, index: int) -> Downstream | None:
        if index not in self.built:
            self.built[index] = setup_downstream(for_split(self.prepared, index), self.store, self.exp_id, self.echo)
        return self.built[index]

    def first(self) -> Downstream | None:
        return self.get(0)


def score_downstream(
    judge: Downstream, result: JobResult, title: str, echo: Echo, predictions: Path | None = None
) -> tuple[Path, str] | None:
    """Table 3 for one finished job: classify its test predictions (from the job, or the file
    ``predictions``); the metrics go into ``result.metrics``; return the figures' folder and a note."""
    if result.status != RunStatus.FINISHED.value:
        return None
    from omibench.run.artifacts import read_predictions

    fault_point("downstream")
    rel = layout.PREDICTIONS
    try:
        if predictions is not None:
            source: Any = predictions
        else:
            source = io.BytesIO(result.files[rel]) if rel in result.files else Path(result.out_dir) / rel
        prediction = read_predictions(source).to_numpy(dtype=np.float32)
        out = Path(tempfile.mkdtemp(prefix="omibench-downstream-"))
        metrics, note = judge.score(prediction, out / layout.DOWNSTREAM, title)
    except Exception as exc:  # Table 3 failing must not lose the translator's results
        echo(f"warning: {title}: downstream scoring failed: {one_line(exc)}")
        return None
    result.metrics.update(metrics)
    return out, note


def backfill_run(judge: Downstream, store: Store, run_id: str, title: str, echo: Echo) -> dict[str, float] | None:
    """Score Table 3 for one finished run from its logged test predictions; log and return the metrics."""
    with tempfile.TemporaryDirectory() as tmp:
        try:
            path = store.download(run_id, layout.PREDICTIONS, tmp)
        except FileNotFoundError:
            echo(f"warning: {title}: run {run_id} has no logged test predictions; Table 3 skipped")
            return None
        result = JobResult(run_id, RunStatus.FINISHED.value)
        extra = score_downstream(judge, result, title, echo, predictions=path)
        if extra is None:
            return None
        store.log_metrics(run_id, result.metrics)
        store.log_artifacts(run_id, extra[0])
        if extra[1]:
            store.set_tags(run_id, Tags(downstream_note=extra[1]))
        shutil.rmtree(extra[0], ignore_errors=True)
    accuracy = result.metrics[catalogue.DOWNSTREAM + "accuracy"]
    echo(f"    {title}: Table 3 added to its finished run, downstream accuracy {accuracy:.4f}")
    return result.metrics
