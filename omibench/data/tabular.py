"""Reading paired matrices from CSV / TSV (optionally gzipped) and parquet files.

Either orientation is accepted: samples in rows (one column of sample ids first) or samples in
columns (UCSC Xena layout: features in rows, feature id in the first column, sample barcodes in the
header). With ``orientation="auto"`` the sample axis of each file is the one whose ids the two
files share.
"""

from __future__ import annotations

import logging
import zlib
from collections import Counter
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from omibench.data.ids import Match, check_unique, is_tcga, pair_ids
from omibench.data.ids import read_id_list as _read_id_list
from omibench.data.paired import PairedData
from omibench.data.stream import header_cells
from omibench.errors import DataError, one_line

__all__ = [
    "read_table",
    "read_paired_files",
    "read_id_list",
    "unique_feature_names",
    "Orientation",
    "DuplicateFeatures",
]

log = logging.getLogger(__name__)
Orientation = Literal["auto", "samples_in_rows", "samples_in_columns"]
DuplicateFeatures = Literal["refuse", "suffix"]


def read_table(path: str | Path, numeric: bool = False, *, unique: bool = True) -> pd.DataFrame:
    """A matrix file as a DataFrame indexed by its first column (ids as strings, cells as read).

    ``numeric=True`` parses the cells straight to float32 (a 9,081 x 60,483 matrix never exists as
    float64); a file with a non-numeric cell is then read as text instead, so that the caller can
    name the cell. ``unique`` refuses an id written twice in the header or the first column;
    without it repeats are kept as written, for a caller that judges them once it knows which axis
    holds the samples."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found; check the path (relative paths are from the current directory)")
    name = path.name.lower().removesuffix(".gz")
    header: list[str] | None = None
    try:
        if name.endswith(".parquet") or name.endswith(".pq"):
            df = pd.read_parquet(path)
            first_is_ids = len(df.columns) and not pd.api.types.is_numeric_dtype(df.dtypes.iloc[0])
            if isinstance(df.index, pd.RangeIndex) and first_is_ids:
                df = df.set_index(df.columns[0])
        elif name.endswith((".csv", ".tsv", ".txt", ".tab")):
            sep = "," if name.endswith(".csv") else "\t"
            header = header_cells(path, sep)
            if unique:
                check_unique(header[1:], path, "column")  # before any value is parsed
            df = _read_float32(path, sep) if numeric else None
            if df is None:
                df = pd.read_csv(path, sep=sep, index_col=0, low_memory=False)
            if len(header) - 1 == df.shape[1]:
                df.columns = pd.Index(header[1:])  # pandas renamed repeats ("S004.1"): keep them as written
        else:
            raise DataError(
                f"{path}: unknown file type; use .csv, .tsv, .txt (tab-separated), optionally .gz, or .parquet"
            )
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text (byte {exc.start}): save it as UTF-8") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, OSError, EOFError, ValueError, zlib.error) as exc:
        why = one_line(exc, with_type=False)
        if isinstance(exc, (EOFError, zlib.error)) or "compressed file ended" in why.lower():
            why = "the compressed file is truncated or corrupt; download it again"
        raise DataError(f"{path}: cannot be read as a table ({why})") from None
    if df.shape[0] == 0 or df.shape[1] == 0:
        raise DataError(f"{path}: the table is empty (shape {df.shape})")
    df.index = df.index.map(str)
    df.columns = df.columns.map(str)
    if unique:
        check_unique(list(df.index), path, "row")
    return df


def _read_float32(path: Path, sep: str) -> pd.DataFrame | None:
    header = pd.read_csv(path, sep=sep, index_col=0, nrows=0).columns
    try:
        return pd.read_csv(path, sep=sep, index_col=0, dtype={c: np.float32 for c in header})
    except (ValueError, TypeError):  # a non-numeric cell: the caller reads it as text and names it
        return None


def read_id_list(path: str | Path, match: str = "id") -> list[str]:
    """Sample ids, one per line (see :func:`omibench.data.ids.read_id_list`)."""
    return _read_id_list(path, match)


def read_paired_files(
    b_path: str | Path,
    a_path: str | Path,
    orientation: Orientation = "auto",
    strict: bool = False,
    name: str = "files",
    match: Match = "id",
    duplicate_features: DuplicateFeatures = "refuse",
) -> PairedData:
    """Read B and A, pair them by sample id, and return them as float32 (NaN kept for imputation).

    ``match`` pairs on the ids as written, or on TCGA barcodes cut to the sample
    (``TCGA-AB-1234-01``, vial and aliquot ignored) or the patient (``TCGA-AB-1234``). Samples
    present in only one file are dropped with a warning that counts them and names a few, or
    rejected when ``strict``. A repeated sample id is refused; repeated feature names are refused
    too, or with ``duplicate_features="suffix"`` kept as ``RAB4A.1`` with a warning. Non-numeric
    cells and infinite values are errors that name the file, sample and feature.
    """
    b_df, a_df = read_table(b_path, numeric=True, unique=False), read_table(a_path, numeric=True, unique=False)
    if match != "id":  # orient on the barcodes, so both layouts pair
        b_df, a_df = _tcga_axis(b_df), _tcga_axis(a_df)
    b_df, a_df = _orient(b_df, a_df, Path(b_path), Path(a_path), orientation, match)
    pairing = pair_ids([str(i) for i in b_df.index], [str(i) for i in a_df.index], match, b_path, a_path, strict)
    b_df.columns = pd.Index(unique_feature_names([str(c) for c in b_df.columns], b_path, duplicate_features))
    a_df.columns = pd.Index(unique_feature_names([str(c) for c in a_df.columns], a_path, duplicate_features))
    b = _to_float32(b_df.iloc[pairing.b_index], b_path)
    a = _to_float32(a_df.iloc[pairing.a_index], a_path)
    return PairedData(
        b=b,
        a=a,
        sample_ids=np.array(pairing.keys, dtype=object),
        b_features=np.array(b_df.columns, dtype=object),
        a_features=np.array(a_df.columns, dtype=object),
        name=name,
    )


def unique_feature_names(names: list[str], path: str | Path, duplicates: DuplicateFeatures = "refuse") -> list[str]:
    """``names`` when no name repeats. Otherwise refused (``duplicates="refuse"``: which column a
    user means is unknown), or, with ``"suffix"``, the repeats renamed ``RAB4A.1``, ``RAB4A.2`` with
    one warning that counts them (gene symbols repeat in real exports: two probes of one gene)."""
    if len(set(names)) == len(names):
        return names
    if duplicates == "refuse":
        dupes = [n for n, count in Counter(names).items() if count > 1]
        raise DataError(
            f"{path}: duplicate feature id {', '.join(repr(d) for d in dupes[:3])} ({len(dupes)} name(s) repeat): "
            "make feature ids unique, or set data.duplicate_features: suffix to keep the repeats as "
            f"{dupes[0]}.1 etc."
        )
    seen: dict[str, int] = {}
    out: list[str] = []
    repeats: list[str] = []
    taken = set(names)
    for name in names:
        if name not in seen:
            seen[name] = 0
            out.append(name)
            continue
        repeats.append(name)
        k = seen[name]
        while True:
            k += 1
            candidate = f"{name}.{k}"
            if candidate not in taken:
                break
        seen[name] = k
        taken.add(candidate)
        out.append(candidate)
    if repeats:
        first = repeats[0]
        log.warning(
            "%s: %d feature name(s) repeat (e.g. %r); the repeats are kept as %r etc.: rename them to choose",
            path,
            len(repeats),
            first,
            f"{first}.1",
        )
    return out


def _tcga_axis(df: pd.DataFrame) -> pd.DataFrame:
    """Samples in rows when the rows hold more TCGA barcodes than the columns (every id counted:
    other ids, e.g. ``TARGET-...`` columns first, do not decide)."""
    rows = sum(is_tcga(str(i)) for i in df.index)
    cols = sum(is_tcga(str(c)) for c in df.columns)
    return df.T if cols > rows else df


def _orient(
    b: pd.DataFrame, a: pd.DataFrame, b_path: Path, a_path: Path, orientation: Orientation, match: str = "id"
) -> tuple[pd.DataFrame, pd.DataFrame]:
    if match != "id":  # _tcga_axis put the barcodes in the rows already
        return b, a
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
