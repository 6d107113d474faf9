"""Streaming a features-in-rows matrix (the UCSC Xena layout) in row chunks.

A header is one line; the matrix below it is read with pyarrow's streaming CSV reader, only the
chosen sample columns, straight to float32. Per-feature steps that decide on a feature from its own
values (``keep_features`` / ``drop_features``, ``max_missing``, ``variance: {min}``, ``transform``)
are fitted on the *training* columns of each chunk as it passes, and only the rows that pass are
kept, so the full matrix never exists in memory. The decisions equal those of fitting the same steps
on the training rows of the whole matrix (same float64 ``nanvar`` over the same values, same layout).
"""

from __future__ import annotations

import gzip
import hashlib
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from omibench.data.ids import check_unique
from omibench.data.steps import FeatureList, MaxMissing, Step, Transform, Variance
from omibench.errors import DataError

__all__ = [
    "Header",
    "StreamResult",
    "first_ids",
    "gather",
    "is_text_matrix",
    "iter_chunks",
    "read_header",
    "stream_matrix",
    "streamable_prefix",
]

NULLS = ["NA", "", "NaN", "nan", "NAN", "null", "NULL", "N/A", "na", "None"]
_BLOCK = 64 << 20  # bytes of text per parsed block (about 1,000 rows of 9,000 samples)


@dataclass(frozen=True)
class Header:
    """The first line of a text matrix: ``first`` (the feature-id column's name) and the other cells."""

    path: Path
    sep: str
    first: str
    columns: list[str]


def is_text_matrix(path: Path) -> bool:
    return path.name.lower().removesuffix(".gz").endswith((".csv", ".tsv", ".txt", ".tab"))


def read_header(path: str | Path, *, unique: bool = True) -> Header:
    """The header line only (duplicates refused here, before any value is parsed, unless ``unique`` is
    False: a look at a header that may hold features, e.g. to decide the sample axis)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found; check the path (see the README on how paths resolve)")
    sep = "," if path.name.lower().removesuffix(".gz").endswith(".csv") else "\t"
    cells = header_cells(path, sep)
    if len(cells) < 2 or not any(cells[1:]):
        raise DataError(f"{path}: the file is empty or has no header line of sample ids")
    if unique:
        check_unique(cells[1:], path, "sample")
    return Header(path, sep, cells[0], cells[1:])


def header_cells(path: Path, sep: str) -> list[str]:
    """The cells of a text matrix's first line as written (no renaming of repeats, unlike pandas)."""
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8", newline="") as fh:
            line = fh.readline()
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text (byte {exc.start}): save it as UTF-8") from None
    except (OSError, EOFError, zlib.error):
        raise DataError(
            f"{path}: cannot be read (a truncated or corrupt compressed file?): download it again"
        ) from None
    return [c.strip().strip('"') for c in line.rstrip("\r\n").split(sep)]


def first_ids(header: Header, n: int) -> list[str]:
    """The first-column ids of the first ``n`` rows (cheap: no value is parsed)."""
    opener = gzip.open if header.path.name.lower().endswith(".gz") else open
    out: list[str] = []
    try:
        with opener(header.path, "rt", encoding="utf-8", newline="") as fh:
            fh.readline()
            for line in fh:
                out.append(line.split(header.sep, 1)[0].strip().strip('"'))
                if len(out) >= n:
                    break
    except (UnicodeDecodeError, OSError, EOFError, zlib.error):
        pass  # the full read names the problem
    return out


def streamable_prefix(steps: list[Step]) -> int:
    """How many leading steps can be fitted chunk by chunk (a feature's fate from its own values)."""
    n = 0
    for step in steps:
        per_feature = isinstance(step, (FeatureList, MaxMissing, Transform))
        if per_feature or (isinstance(step, Variance) and step.top_k is None):
            n += 1
        else:
            break
    return n


@dataclass
class StreamResult:
    """Kept rows of one matrix: ``chunks`` of (n_columns, n_kept_features_in_block) float32, their
    feature ids, every feature id of the file, and the streamed steps, fitted."""

    chunks: list[np.ndarray]
    features: np.ndarray
    features_in: np.ndarray
    steps: list[Step]
    n_rows: int = 0
    text_bytes: int = 0
    digest: str = ""
    # chunk row of each requested column: columns are read in file order (pyarrow is about 2.5x
    # slower on columns requested out of order), so the i-th requested column is chunk row position[i]
    position: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    notes: list[str] = field(default_factory=list)


def iter_chunks(
    header: Header, columns: np.ndarray | None = None, block_size: int = _BLOCK
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(feature ids, values) per block of rows. ``values`` is (len(columns), rows) float32 (samples
    in rows, as arrow holds each column contiguously), NaN for missing cells; ``columns`` are
    positions in ``header.columns`` (default: all)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    path = header.path
    cols = np.arange(len(header.columns)) if columns is None else np.asarray(columns)
    names = ["f"] + [f"c{i}" for i in range(len(header.columns))]
    wanted = [f"c{i}" for i in cols.tolist()]
    read = pacsv.ReadOptions(column_names=names, skip_rows=1, block_size=block_size, use_threads=True)
    convert = pacsv.ConvertOptions(
        column_types={"f": pa.string(), **{w: pa.float32() for w in wanted}},
        include_columns=["f"] + wanted,
        null_values=NULLS,
        strings_can_be_null=False,
        quoted_strings_can_be_null=True,
    )
    try:
        reader = pacsv.open_csv(
            path, read_options=read, parse_options=pacsv.ParseOptions(delimiter=header.sep), convert_options=convert
        )
        for batch in reader:
            ids = np.asarray(batch.column(0).to_pylist(), dtype=object)
            out = np.empty((len(wanted), batch.num_rows), dtype=np.float32)
            for j in range(len(wanted)):
                out[j] = batch.column(j + 1).to_numpy(zero_copy_only=False)
            yield ids, out
    except (pa.ArrowInvalid, OSError, EOFError, zlib.error) as exc:
        raise DataError(f"{path}: {_why(str(exc), header)}") from None


def _why(message: str, header: Header) -> str:
    first = message.splitlines()[0] if message else "unreadable"
    m = re.search(r"CSV column #(\d+).*invalid value '(.*)'", first)
    if m:
        col = int(m.group(1))
        sample = header.columns[col - 1] if 0 < col <= len(header.columns) else f"#{col}"
        return (
            f"non-numeric value {m.group(2)!r} in sample column {sample!r}: fix the cell or write missing values as NA"
        )
    if re.search(r"gzip|zlib|inflate|compressed|end of (file|stream)|truncat", first, re.IGNORECASE):
        return "the compressed file is truncated or corrupt: download it again"
    if "Expected" in first and "columns" in first:
        return f"rows of unequal length ({first}): every row needs one value per header cell"
    return f"cannot be parsed ({first})"


def stream_matrix(
    header: Header, columns: np.ndarray, train: np.ndarray, steps: list[Step], omics: str, block_size: int = _BLOCK
) -> StreamResult:
    """Read the rows of ``header.path`` restricted to ``columns`` (file positions), fitting ``steps``
    (all streamable) on the ``train`` positions *within* ``columns``, and keep passing rows.

    Missing fractions and variances are those of the training columns only, computed exactly as the
    in-memory steps do (training rows x features, C order, float64 ``nanvar``). Non-numeric cells,
    infinite values and repeated feature ids are refused naming the file. The digest covers every
    value read (before any step), row by row: equal files, equal digests, whatever the block size."""
    listed = {id(s): _listed(s) for s in steps if isinstance(s, FeatureList)}
    masks: list[list[np.ndarray]] = [[] for _ in steps]
    kept_chunks: list[np.ndarray] = []
    kept_ids: list[np.ndarray] = []
    all_ids: list[np.ndarray] = []
    seen: set[str] = set()
    digest = hashlib.blake2b(digest_size=8)
    n_rows = 0
    columns = np.asarray(columns, dtype=np.int64)
    order = np.argsort(columns, kind="stable")
    position = np.argsort(order, kind="stable")
    train_rows = position[np.asarray(train, dtype=np.int64)]  # same samples, same order as the in-memory rows
    for ids, x in iter_chunks(header, columns[order], block_size):  # x: samples (file order) x features
        for i in ids.tolist():
            if i in seen:
                raise DataError(f"{header.path}: duplicate feature id {i!r}: make feature ids unique")
            seen.add(i)
        if np.isinf(x).any():
            c, r = np.argwhere(np.isinf(x))[0]
            sample = header.columns[columns[order[c]]]
            raise DataError(
                f"{header.path}: infinite value for feature {ids[r]!r}, sample {sample!r}: replace it, e.g. with NA"
            )
        digest.update(np.ascontiguousarray(x.T).data)  # row by row as in the file: independent of the blocks
        all_ids.append(ids)
        n_rows += len(ids)
        for k, step in enumerate(steps):
            if isinstance(step, Transform):
                x, ids = step.apply(x, ids)
                continue
            if isinstance(step, FeatureList):
                mask = np.array([(str(i) in listed[id(step)]) == step.keep for i in ids.tolist()], dtype=bool)
            else:
                part = x[train_rows]  # the in-memory layout: training rows x features, C order
                if isinstance(step, MaxMissing):
                    mask = np.isnan(part).mean(axis=0) <= step.fraction
                else:
                    assert isinstance(step, Variance) and step.minimum is not None
                    with np.errstate(invalid="ignore"):
                        var = np.nan_to_num(np.nanvar(part.astype(np.float64), axis=0), nan=-1.0)
                    mask = var >= step.minimum
                del part
            masks[k].append(mask)
            x, ids = (x[:, mask], ids[mask]) if not mask.all() else (x, ids)
        if len(ids):
            kept_chunks.append(np.ascontiguousarray(x, dtype=np.float32))
            kept_ids.append(ids)
    _release_arrow_memory()
    if not n_rows:
        raise DataError(f"{header.path}: the file has a header but no rows of values")
    for k, step in enumerate(steps):
        if not isinstance(step, Transform):
            step.keep_ = np.nonzero(np.concatenate(masks[k]) if masks[k] else np.zeros(0, bool))[0]
    features = np.concatenate(kept_ids) if kept_ids else np.array([], dtype=object)
    return StreamResult(
        kept_chunks,
        features.astype(object),
        np.concatenate(all_ids).astype(object),
        steps,
        n_rows,
        digest=digest.hexdigest(),
        position=position,
    )


def _release_arrow_memory() -> None:
    """Hand the reader's freed blocks back to the system (arrow's allocator keeps them otherwise)."""
    import pyarrow as pa

    pa.default_memory_pool().release_unused()


def _listed(step: FeatureList) -> set[str]:
    p = Path(step.path)
    if not p.is_file():
        raise DataError(f"{p}: feature list not found (preprocess.{step.omics})")
    return {line.strip().split("\t")[0].split(",")[0] for line in p.read_text().splitlines() if line.strip()}


def gather(chunks: list[np.ndarray], rows: dict[str, np.ndarray], n_features: int) -> dict[str, np.ndarray]:
    """Samples x features (C order, float32) of each part's sample positions in the kept chunks
    (each chunk: all samples x its kept features). Empties ``chunks`` as it goes, so the kept rows
    are held about once, not twice."""
    out = {part: np.empty((len(r), n_features), dtype=np.float32) for part, r in rows.items()}
    at = 0
    chunks.reverse()
    while chunks:
        chunk = chunks.pop()
        for part, r in rows.items():
            out[part][:, at : at + chunk.shape[1]] = chunk[r]
        at += chunk.shape[1]
    return out
