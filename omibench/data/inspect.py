"""``omibench data inspect``: what a matrix file looks like, before it is used."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from omibench.data.stream import first_ids, is_text_matrix, iter_chunks, read_header
from omibench.data.tabular import read_table
from omibench.errors import DataError

__all__ = ["inspect_matrix"]

_TCGA = re.compile(r"^TCGA-", re.IGNORECASE)
_FEATURE = re.compile(r"^(cg\d+|ch\.|ENSG\d+|rs\d+)", re.IGNORECASE)


def inspect_matrix(path: str | Path) -> dict[str, object]:
    """Shape, orientation guess, value range, missing values and a guess of the scale. Text files
    are streamed in row chunks (memory: one chunk), other files read whole."""
    if is_text_matrix(Path(path)):
        try:
            return _inspect_streamed(Path(path))
        except DataError as exc:
            if "non-numeric" not in str(exc) or Path(path).stat().st_size > 200 << 20:
                raise
            # small enough to read as text and count the non-numeric cells
    df = read_table(path)
    rows, cols = list(map(str, df.index[:200])), list(map(str, df.columns[:200]))
    score_rows = sum(bool(_TCGA.match(r)) for r in rows) - sum(bool(_FEATURE.match(r)) for r in rows)
    score_cols = sum(bool(_TCGA.match(c)) for c in cols) - sum(bool(_FEATURE.match(c)) for c in cols)
    if score_rows != score_cols:
        samples_in_rows = score_rows > score_cols
        why = "sample-like ids (TCGA barcodes) / feature-like ids (cg…, ENSG…)"
    else:
        samples_in_rows = df.shape[0] <= df.shape[1]
        why = "fewer rows than columns" if samples_in_rows else "fewer columns than rows"
    values = df.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
    non_numeric = int((pd.isna(values) & df.notna().to_numpy()).sum())
    finite = values[np.isfinite(values)]
    n_missing = int(np.isnan(values).sum()) - non_numeric
    return {
        "file": str(path),
        "shape": f"{df.shape[0]} rows x {df.shape[1]} columns",
        "orientation": ("samples in rows" if samples_in_rows else "samples in columns (Xena layout)")
        + f" (guessed from {why})",
        "samples": df.shape[0] if samples_in_rows else df.shape[1],
        "features": df.shape[1] if samples_in_rows else df.shape[0],
        "first ids": f"rows {rows[:2]}, columns {cols[:2]}",
        "value range": f"{finite.min():.4g} .. {finite.max():.4g}, mean {finite.mean():.4g}"
        if finite.size
        else "no numeric values",
        "missing values": f"{n_missing} ({100 * n_missing / max(values.size, 1):.2f}%)",
        "non-numeric cells": non_numeric,
        "infinite values": int(np.isinf(values).sum()),
        "scale guess": _scale(finite),
    }


def _inspect_streamed(path: Path) -> dict[str, object]:
    header = read_header(path)
    rows = first_ids(header, 200)
    cols = header.columns[:200]
    score_rows = sum(bool(_TCGA.match(r)) for r in rows) - sum(bool(_FEATURE.match(r)) for r in rows)
    score_cols = sum(bool(_TCGA.match(c)) for c in cols) - sum(bool(_FEATURE.match(c)) for c in cols)
    n_rows, n_missing, n_inf, n_finite = 0, 0, 0, 0
    lo, hi, total = np.inf, -np.inf, 0.0
    sample: list[np.ndarray] = []
    kept = 0
    for ids, x in iter_chunks(header):
        n_rows += len(ids)
        finite = x[np.isfinite(x)]
        n_missing += int(np.isnan(x).sum())
        n_inf += int(np.isinf(x).sum())
        if finite.size:
            n_finite += finite.size
            lo, hi = min(lo, float(finite.min())), max(hi, float(finite.max()))
            total += float(finite.sum(dtype=np.float64))
            if kept < 200_000:
                sample.append(finite[: 200_000 - kept])
                kept += len(sample[-1])
    n_cols = len(header.columns)
    if score_rows != score_cols:
        samples_in_rows = score_rows > score_cols
        why = "sample-like ids (TCGA barcodes) / feature-like ids (cg…, ENSG…)"
    else:
        samples_in_rows = n_rows <= n_cols
        why = "fewer rows than columns" if samples_in_rows else "fewer columns than rows"
    size = max(n_rows * n_cols, 1)
    values = np.concatenate(sample) if sample else np.zeros(0, dtype=np.float32)
    return {
        "file": str(path),
        "shape": f"{n_rows} rows x {n_cols} columns",
        "orientation": ("samples in rows" if samples_in_rows else "samples in columns (Xena layout)")
        + f" (guessed from {why})",
        "samples": n_rows if samples_in_rows else n_cols,
        "features": n_cols if samples_in_rows else n_rows,
        "first ids": f"rows {rows[:2]}, columns {cols[:2]}",
        "value range": f"{lo:.4g} .. {hi:.4g}, mean {total / n_finite:.4g}" if n_finite else "no numeric values",
        "missing values": f"{n_missing} ({100 * n_missing / size:.2f}%)",
        "non-numeric cells": 0,
        "infinite values": n_inf,
        "scale guess": _scale(values),
    }


def _scale(x: np.ndarray) -> str:
    if not x.size:
        return "unknown"
    lo, hi = float(x.min()), float(x.max())
    integers = bool(np.all(np.mod(x[:100_000], 1) == 0))
    if lo >= 0 and hi <= 1:
        edges = np.mean((x < 0.2) | (x > 0.8))
        if edges > 0.6:
            return "beta values (in [0, 1], piled up near 0 and 1): methylation"
        if (x == 0).sum() >= 1 and (x == 1).sum() >= 1:
            return "min-max scaled to [0, 1]"
        return "fractions in [0, 1] (beta values or min-max scaled)"
    if lo < 0:
        if lo > -20 and hi < 20 and abs(float(np.median(x))) < 1:
            return "centred values (e.g. log ratios or M-values): keep as is"
        return "signed values of a wide range: check the source"
    if hi > 100:
        return "raw counts or intensities" + (" (integers)" if integers else "") + ": consider transform: log1p"
    return "log-scale expression (e.g. log2(FPKM+1))"
