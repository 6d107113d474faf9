"""Log the leaderboard's translators as MLflow pyfunc models (``mlflow models predict``, the registry).

Runs after ``omibench run`` on the current summary runs that have no pyfunc model yet; a
multi-seed summary gets its first seed's model (as ``omibench translate RUN_ID`` does).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterable
from importlib import metadata
from pathlib import Path

from omibench.store import Run, Store, Tags

__all__ = ["log_pyfunc_models", "requirements"]


def requirements() -> list[str]:
    """omibench's runtime requirements pinned to the installed versions (MLflow infers them by
    running the model otherwise, ~15 s per model)."""
    import re

    pins = []
    for req in metadata.requires("omibench") or []:
        if "extra ==" in req:
            continue
        name = re.split(r"[<>=!~;\[ ]", req, maxsplit=1)[0]
        try:
            pins.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            pins.append(req.split(";")[0].strip())
    return [f"omibench=={metadata.version('omibench')}", *pins]


def log_pyfunc_models(store: Store, runs: Iterable[Run], echo: Callable[[str], None] = lambda _: None) -> float:
    """Log each run's model as a pyfunc model (skipping runs that have one); return the seconds spent."""
    log = getattr(store, "log_pyfunc", None)
    if log is None:  # a store without MLflow models (the in-memory test store)
        return 0.0
    start = time.perf_counter()
    reqs = requirements()
    for run in runs:
        if run.tags.pyfunc:
            continue
        source = (store.seed_runs(run.run_id) or [run])[0]
        with tempfile.TemporaryDirectory(prefix="omibench-pyfunc-") as tmp:
            try:
                folder = store.download(source.run_id, "model", Path(tmp))
            except FileNotFoundError:
                continue
            uri = log(run.run_id, folder, reqs)
        store.set_tags(run.run_id, Tags(pyfunc=uri))
        echo(f"omibench: {run.label}: MLflow model {uri}")
    return time.perf_counter() - start
