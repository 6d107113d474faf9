"""Sample ids as people have them: one matching rule for data columns, id lists and label tables.

``match`` says how a raw id becomes the key that pairs files: ``id`` (as written), ``tcga_sample``
(a TCGA barcode cut to ``TCGA-XX-YYYY-NN``: vial and aliquot ignored) or ``tcga_patient`` (cut to
``TCGA-XX-YYYY``). Each id is cut by its own form: an id that is not a TCGA barcode (``TARGET-...``,
``S001``) is kept as written, whatever its neighbours look like. Everything here works on ids only,
so every check and refusal happens before a single matrix value is parsed.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from omibench.errors import DataError, one_line

__all__ = ["Match", "Pairing", "cut", "check_unique", "pair_ids", "read_id_list", "listed_keys", "read_labels"]

log = logging.getLogger(__name__)

Match = Literal["id", "tcga_sample", "tcga_patient"]
_TCGA = re.compile(r"^TCGA-[A-Z0-9]{2}-[A-Z0-9]{4}(-\d{2}[A-Z]?)?", re.IGNORECASE)


def cut(sample: str, match: str) -> str:
    """The part of ``sample`` that pairing uses: a TCGA barcode cut to the sample or patient; any
    other id (and every id under ``match="id"``) unchanged."""
    if match == "id" or _TCGA.match(sample) is None:
        return sample
    parts = sample.split("-")
    return "-".join(parts[:3]).upper() if match == "tcga_patient" else "-".join(parts[:4])[:15].upper()


def is_tcga(sample: str) -> bool:
    return _TCGA.match(sample) is not None


def check_unique(ids: Sequence[str], where: str | Path, what: str) -> None:
    """Refuse ids written twice (``what``: "sample" or "feature"), naming up to three of them."""
    seen: set[str] = set()
    dupes: list[str] = []
    for i in ids:
        if i in seen:
            dupes.append(i)
        seen.add(i)
    if dupes:
        names = ", ".join(repr(d) for d in list(dict.fromkeys(dupes))[:3])
        raise DataError(f"{where}: duplicate {what} id {names} ({len(dupes)} duplicate(s)): make ids unique")


@dataclass(frozen=True)
class Pairing:
    """Which column of each file holds each paired sample.

    ``keys``: paired sample keys in the A file's order; ``b_index`` / ``a_index``: the position of the
    chosen raw id (the first of its key) in each file's id list; ``parts``: every raw id of each
    paired key in either file (second vials, other aliquots); ``notes``: what was dropped, in words.
    """

    keys: list[str]
    b_index: np.ndarray
    a_index: np.ndarray
    parts: dict[str, list[str]]
    notes: list[str] = field(default_factory=list)


def pair_ids(
    b_ids: Sequence[str], a_ids: Sequence[str], match: str, b_name: str | Path, a_name: str | Path, strict: bool = False
) -> Pairing:
    """Pair two files' raw sample ids under ``match`` in linear time. Raw duplicates are refused;
    ids sharing a key within one file (second vials) keep the first; unpaired ids are counted
    (refused when ``strict``)."""
    check_unique(b_ids, b_name, "sample")
    check_unique(a_ids, a_name, "sample")
    firsts: list[dict[str, int]] = []
    parts: dict[str, list[str]] = {}
    notes: list[str] = []
    for ids, name in ((b_ids, b_name), (a_ids, a_name)):
        first: dict[str, int] = {}
        shadowed = []
        for i, raw in enumerate(ids):
            key = cut(raw, match)
            parts.setdefault(key, []).append(raw)
            if key in first:
                shadowed.append(raw)
            else:
                first[key] = i
        if shadowed:
            notes.append(
                f"{name}: {len(shadowed)} samples share a barcode with an earlier one (e.g. {shadowed[0]}: "
                "another vial or aliquot); the first is kept"
            )
        firsts.append(first)
    b_first, a_first = firsts
    keys = [k for k in a_first if k in b_first]
    if not keys:
        raise DataError(
            f"{b_name} and {a_name} share no sample ids (e.g. {b_ids[0]!r} vs {a_ids[0]!r}): check that "
            "both files use the same sample naming (and data.match, e.g. tcga_sample)"
        )
    for first, name, other in ((b_first, b_name, a_name), (a_first, a_name, b_name)):
        only = [k for k in first if k not in (a_first if first is b_first else b_first)]
        if only:
            non_tcga = sum(not is_tcga(k) for k in only)
            msg = (
                f"{name}: {len(only)} samples have no match in {other} (e.g. {', '.join(only[:3])}"
                + (f"; {non_tcga} of them are not TCGA barcodes" if non_tcga and match != "id" else "")
                + ")"
            )
            if strict:
                raise DataError(msg + "; strict pairing is on: remove them or set strict: false")
            notes.append(msg + "; they are dropped")
    for note in notes:
        log.warning(note)
    return Pairing(
        keys,
        np.array([b_first[k] for k in keys], dtype=np.int64),
        np.array([a_first[k] for k in keys], dtype=np.int64),
        {k: parts[k] for k in keys},
        notes,
    )


def read_id_list(path: str | Path, match: str = "id", known: set[str] | None = None) -> list[str]:
    """Raw ids of an id list, one per line (first tab- or comma-separated field), CRLF or LF, with
    or without a final line break, with or without a header line. The first line is a header when
    it does not name a sample of the data (``known``, keys under ``match``) while the next one does,
    or when it is not a TCGA barcode and the next one is."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: id list not found; check the path (see the README on how paths resolve)")
    text = _text(path)
    ids = [line.strip().split("\t")[0].split(",")[0].strip().strip('"') for line in text.splitlines()]
    ids = [i for i in ids if i]
    if not ids:
        raise DataError(f"{path}: the id list is empty: write one sample id per line")
    if len(ids) > 1:
        first, second = ids[0], ids[1]
        if known is not None:
            header = cut(first, match) not in known and cut(second, match) in known
        else:
            header = not is_tcga(first) and is_tcga(second)
        if header:
            ids = ids[1:]
    return ids


def listed_keys(
    listed: Sequence[str], match: str, parts: dict[str, list[str]], source: str | Path
) -> tuple[list[str], list[str]]:
    """Keys of the listed ids (a listed id matching two vials takes the sample, so both, to the
    listed side) and notes: listed ids that are not samples of the data are refused; samples whose
    parts (vials, aliquots; or a patient's samples) are listed only in part are reported."""
    keys = list(dict.fromkeys(cut(i, match) for i in listed))
    unknown = [i for i in listed if cut(i, match) not in parts]
    if unknown:
        raise DataError(
            f"{source}: {len(unknown)} test ids are not samples of the paired data (e.g. "
            f"{', '.join(unknown[:3])}): remove them or check the sample naming (data.match)"
        )
    upper = [i.upper() for i in listed]
    by_key: dict[str, list[str]] = {}
    for raw, up in zip(listed, upper):
        by_key.setdefault(cut(raw, match), []).append(up)
    split_across = []
    for key, prefixes in by_key.items():
        raws = parts[key]
        covered = [r for r in raws if any(r.upper().startswith(p) for p in prefixes)]
        if 0 < len(covered) < len(raws):
            others = [r for r in raws if r not in covered]
            split_across.append(f"{key} (listed {covered[0]}, not {others[0]})")
    notes = []
    if split_across:
        notes.append(
            f"{source}: {len(split_across)} samples have parts on both sides of the listed split under "
            f"match: {match} (e.g. {'; '.join(split_across[:3])}); each is taken whole to the test side"
        )
        log.warning(notes[-1])
    return keys, notes


def read_labels(
    path: str | Path, column: str | None, sample_ids: np.ndarray, match: str = "id", id_column: str | None = None
) -> np.ndarray:
    """Class labels aligned to ``sample_ids`` (keys under ``match``); ``None`` for samples without one.

    Rows are matched by the same rule as the data. Rows of samples outside ``sample_ids`` are ignored
    and counted; rows that share a key (second vials, a header repeated) are merged when they agree
    and refused, naming the ids, when they do not."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: label file not found; check the path (see the README on how paths resolve)")
    sep = "," if path.name.lower().removesuffix(".gz").endswith(".csv") else "\t"
    try:
        table = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=True, encoding="utf-8")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError, EOFError, ValueError) as exc:
        why = one_line(exc, with_type=False)
        raise DataError(f"{path}: cannot be read as a label table ({why})") from None
    if table.shape[1] < 2:
        raise DataError(f"{path}: a label table needs a sample-id column and a label column")
    id_col = id_column if id_column is not None else str(table.columns[0])
    if id_col not in table.columns:
        names = ", ".join(map(str, table.columns[:10]))
        raise DataError(f"{path}: no sample-id column {id_col!r}; columns are {names}")
    if column is None:
        column = next(str(c) for c in table.columns if c != id_col)
    if column not in table.columns:
        raise DataError(f"{path}: no label column {column!r}; columns are {', '.join(map(str, table.columns[:10]))}")
    known = {str(s) for s in sample_ids.tolist()}
    values: dict[str, str | None] = {}
    raw_of: dict[str, str] = {}
    outside = 0
    for raw, value in zip(table[id_col].astype(str), table[column]):
        key = cut(raw.strip(), match)
        if key not in known:
            outside += 1
            continue
        value = None if pd.isna(value) or str(value).strip() == "" else str(value)
        if key in values and value is not None and values[key] is not None and values[key] != value:
            raise DataError(
                f"{path}: rows {raw_of[key]!r} and {raw!r} (sample {key}) disagree on {column!r} "
                f"({values[key]!r} vs {value!r}): keep one label per sample"
            )
        if values.get(key) is None:
            values[key], raw_of[key] = value, raw
    if outside:
        log.info("%s: %d label rows name samples outside the paired data and are ignored", path, outside)
    out = np.array([values.get(str(s)) for s in sample_ids.tolist()], dtype=object)
    missing = int(sum(v is None for v in out))
    if missing:
        log.info("%s: %d of %d samples have no %r label", path, missing, len(out), column)
    return out


def _text(path: Path) -> str:
    try:
        raw = path.read_bytes()
        if path.name.endswith(".gz"):
            import gzip

            raw = gzip.decompress(raw)
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text (byte {exc.start}): save it as UTF-8") from None
    except (OSError, EOFError) as exc:
        raise DataError(f"{path}: cannot be read ({exc}): is it a complete, uncompressed or .gz text file?") from None
