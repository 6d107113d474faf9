"""Reading paired matrices from CSV / TSV (optionally gzipped) and parquet files.

Either orientation is accepted: samples in rows (one column of sample ids first) or samples in
columns (UCSC Xena layout: features in rows, feature id in the first column, sample barcodes in the
header). With ``orientation="auto"`` the sample axis of each file is the one whose ids the two
files share.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from .._errors import DataError
from .paired import PairedData

__all__ = ["read_table", "read_paired_files", "read_id_list", "Orientation"]

log = logging.getLogger(__name__)
Orientation = Literal["auto", "samples_in_rows", "samples_in_columns"]


def read_table(path: str | Path, numeric: bool = False) -> pd.DataFrame:
    """A matrix file as a DataFrame indexed by its first column (ids as strings, cells as read).

    ``numeric=True`` parses the cells straight to float32 (a 9,081 x 60,483 matrix never exists as
    float64); a file with a non-numeric cell is then read as text instead, so that the caller can
    name the cell."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found; check the path (relative paths are from the current directory)")
    name = path.name.lower().removesuffix(".gz")
    try:
        if name.endswith(".parquet") or name.endswith(".pq"):
            df = pd.read_parquet(path)
            if isinstance(df.index, pd.RangeIndex) and len(df.columns) and df.dtypes.iloc[0] == object:
                df = df.set_index(df.columns[0])
        elif name.endswith((".csv", ".tsv", ".txt", ".tab")):
            sep = "," if name.endswith(".csv") else "\t"
            df = _read_float32(path, sep) if numeric else None
            if df is None:
                df = pd.read_csv(path, sep=sep, index_col=0, low_memory=False)
        else:
            raise DataError(f"{path}: unknown file type; use .csv, .tsv, .txt (tab-separated), optionally .gz, or .parquet")
    except (pd.errors.ParserError, UnicodeDecodeError, OSError, ValueError) as exc:
        raise DataError(f"{path}: cannot be read as a table ({str(exc).splitlines()[0]})") from None
    if df.shape[0] == 0 or df.shape[1] == 0:
        raise DataError(f"{path}: the table is empty (shape {df.shape})")
    df.index = df.index.map(str)
    df.columns = df.columns.map(str)
    return df


def _read_float32(path: Path, sep: str) -> pd.DataFrame | None:
    header = pd.read_csv(path, sep=sep, index_col=0, nrows=0).columns
    try:
        return pd.read_csv(path, sep=sep, index_col=0, dtype={c: np.float32 for c in header})
    except (ValueError, TypeError):  # a non-numeric cell: the caller reads it as text and names it
        return None


def read_id_list(path: str | Path) -> list[str]:
    """Sample ids, one per line (a header line is allowed if it is not an id of the data)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: id list not found; check the path")
    ids = [line.strip().split("\t")[0].split(",")[0] for line in path.read_text().splitlines()]
    return [i for i in ids if i]


Match = Literal["id", "tcga_sample", "tcga_patient"]
_TCGA = re.compile(r"^TCGA-[A-Z0-9]{2}-[A-Z0-9]{4}(-\d{2}[A-Z]?)?", re.IGNORECASE)


def read_paired_files(
    b_path: str | Path,
    a_path: str | Path,
    orientation: Orientation = "auto",
    strict: bool = False,
    name: str = "files",
    match: Match = "id",
) -> PairedData:
    """Read B and A, pair them by sample id, and return them as float32 (NaN kept for imputation).

    ``match`` pairs on the ids as written, or on TCGA barcodes cut to the sample
    (``TCGA-AB-1234-01``, vial and aliquot ignored) or the patient (``TCGA-AB-1234``). Samples
    present in only one file are dropped with a warning that counts them and names a few, or
    rejected when ``strict``. Non-numeric cells and infinite values are errors that name the file,
    sample and feature.
    """
    b_df, a_df = read_table(b_path, numeric=True), read_table(a_path, numeric=True)
    if match != "id":  # orient on the normalised ids, so both layouts pair
        b_df = _normalise_axis(b_df, Path(b_path), match)
        a_df = _normalise_axis(a_df, Path(a_path), match)
    b_df, a_df = _orient(b_df, a_df, Path(b_path), Path(a_path), orientation)
    if match != "id":
        b_df, a_df = _dedupe(b_df, Path(b_path)), _dedupe(a_df, Path(a_path))
    for df, path in ((b_df, b_path), (a_df, a_path)):
        _check_unique(df.index, path, "sample")
        _check_unique(df.columns, path, "feature")

    shared = [s for s in a_df.index if s in set(b_df.index)]
    if not shared:
        raise DataError(
            f"{b_path} and {a_path} share no sample ids (e.g. {b_df.index[0]!r} vs {a_df.index[0]!r}): "
            "check that both files use the same sample naming"
        )
    for df, path, other in ((b_df, b_path, a_path), (a_df, a_path, b_path)):
        only = [s for s in df.index if s not in set(shared)]
        if only:
            msg = f"{path}: {len(only)} samples have no match in {other} (e.g. {', '.join(only[:3])})"
            if strict:
                raise DataError(msg + "; strict pairing is on: remove them or set strict: false")
            log.warning(msg + "; they are dropped")

    b = _to_float32(b_df.loc[shared], b_path)
    a = _to_float32(a_df.loc[shared], a_path)
    return PairedData(
        b=b,
        a=a,
        sample_ids=np.array(shared, dtype=object),
        b_features=np.array(b_df.columns, dtype=object),
        a_features=np.array(a_df.columns, dtype=object),
        name=name,
    )


def tcga_key(sample: str, match: Match) -> str:
    """The part of a TCGA barcode that pairing uses; other ids are returned unchanged."""
    m = _TCGA.match(sample)
    if m is None:
        return sample
    parts = sample.split("-")
    return "-".join(parts[:3]).upper() if match == "tcga_patient" else "-".join(parts[:4])[:15].upper()


def _normalise_axis(df: pd.DataFrame, path: Path, match: Match) -> pd.DataFrame:
    """Normalise whichever axis holds TCGA barcodes (the other holds feature ids)."""
    rows = sum(bool(_TCGA.match(str(i))) for i in df.index[:50])
    cols = sum(bool(_TCGA.match(str(c))) for c in df.columns[:50])
    if rows == cols == 0:
        log.warning("%s: no TCGA barcodes found; samples are matched on their ids as written", path)
        return df
    df = df.copy()
    if rows >= cols:
        df.index = [tcga_key(str(i), match) for i in df.index]
    else:
        df.columns = [tcga_key(str(c), match) for c in df.columns]
    return df


def _dedupe(df: pd.DataFrame, path: Path) -> pd.DataFrame:
    dupes = df.index.duplicated(keep="first")
    if dupes.any():
        log.warning("%s: %d samples share a barcode with an earlier one (e.g. %s: another vial or aliquot) and are "
                    "dropped; the first is kept", path, int(dupes.sum()), df.index[dupes][0])
    return df[~dupes]


def _orient(b: pd.DataFrame, a: pd.DataFrame, b_path: Path, a_path: Path, orientation: Orientation) -> tuple[pd.DataFrame, pd.DataFrame]:
    if orientation == "samples_in_rows":
        return b, a
    if orientation == "samples_in_columns":
        return b.T, a.T
    if orientation != "auto":
        raise DataError(f"orientation {orientation!r} is not one of auto, samples_in_rows, samples_in_columns")
    options = {
        (False, False): len(set(b.index) & set(a.index)),
        (True, True): len(set(b.columns) & set(a.columns)),
        (False, True): len(set(b.index) & set(a.columns)),
        (True, False): len(set(b.columns) & set(a.index)),
    }
    (flip_b, flip_a), overlap = max(options.items(), key=lambda kv: kv[1])
    if overlap == 0:
        raise DataError(
            f"{b_path} and {a_path} share no sample ids in rows or columns (e.g. {b.index[0]!r}, {b.columns[0]!r} vs "
            f"{a.index[0]!r}, {a.columns[0]!r}): check that both files use the same sample naming"
        )
    return (b.T if flip_b else b), (a.T if flip_a else a)


def _check_unique(ids: pd.Index, path: str | Path, what: str) -> None:
    dupes = ids[ids.duplicated()]
    if len(dupes):
        raise DataError(f"{path}: duplicate {what} id {dupes[0]!r} ({len(dupes)} duplicates): make ids unique")


def _to_float32(df: pd.DataFrame, path: str | Path) -> np.ndarray:
    """Cells as float32 (rows = samples); names the first non-numeric or infinite cell."""
    bad_cols = [c for c, t in df.dtypes.items() if not pd.api.types.is_numeric_dtype(t)]
    if bad_cols:
        for col in bad_cols:
            raw = df[col]
            num = pd.to_numeric(raw, errors="coerce")
            bad = raw[num.isna() & raw.notna()]
            if len(bad):
                raise DataError(
                    f"{path}: non-numeric value {bad.iloc[0]!r} for sample {bad.index[0]!r}, feature {col!r}: "
                    "fix the cell or write missing values as NA"
                )
        df = df.apply(pd.to_numeric, errors="coerce")
    values = df.to_numpy(dtype=np.float32)
    inf = np.isinf(values)
    if inf.any():
        r, c = np.argwhere(inf)[0]
        raise DataError(
            f"{path}: infinite value for sample {df.index[r]!r}, feature {df.columns[c]!r} "
            f"({int(inf.sum())} in all): replace them, e.g. with NA"
        )
    return values
