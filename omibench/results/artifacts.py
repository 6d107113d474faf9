"""The files of a finished run, read back: its test predictions, and any artifact's bytes (figures,
per-gene R² tables) for the report. Only paths come from here; reading goes through the store."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import IO

import pandas as pd

from omibench.store import Store

__all__ = ["artifact", "first_job", "read_predictions"]


def read_predictions(source: str | Path | IO[bytes]) -> pd.DataFrame:
    """A run's ``predictions_test.parquet`` (path or file object) as samples x genes (the file holds
    genes in rows and samples in columns, as the Xena and OmiTrans files: a first column ``gene``, or
    earlier the index; the first runs wrote the transpose)."""
    frame = pd.read_parquet(source)
    if isinstance(frame.index, pd.RangeIndex) and len(frame.columns) and frame.columns[0] == "gene":
        frame = frame.set_index("gene")
    if frame.index.name == "gene":
        frame = frame.T
        frame.index.name = None
        frame.columns.name = "gene"
    return frame


def first_job(store: Store, run_id: str) -> str:
    """The run holding a summary's per-job files (its first seed's run; the summary itself when single)."""
    children = store.seed_runs(run_id)
    return children[0].run_id if children else run_id


def artifact(store: Store, run_id: str, path: str) -> bytes | None:
    """The bytes of one artifact of a run; None when the run has no such file."""
    with tempfile.TemporaryDirectory() as tmp:
        try:
            return store.download(run_id, path, tmp).read_bytes()
        except (FileNotFoundError, OSError):
            return None
