"""Headers first, then values: preparing a ``files`` source whose matrices have samples in columns
(the UCSC Xena layout, e.g. ``GDC-PANCAN.methylation450.tsv.gz``) without holding a raw matrix.

Order, as the protocol allows: (1) both header lines: raw sample ids, duplicates refused, pairing under
``match``; (2) labels and the test-id list, matched by the same rule; (3) the split, drawn from ids and
labels; (4) each matrix streamed in row chunks (:mod:`omibench.data.stream`), the per-feature steps
fitted on the training columns, only passing rows kept as float32; (5) the remaining steps (e.g.
``order_by_location``, ``variance: {top_k}``) and imputation fitted on the training rows in memory.
Every check on ids (1-3) happens before a single value is parsed.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from omibench.data.ids import cut, listed_keys, pair_ids, read_id_list, read_labels
from omibench.data.paired import PairedData
from omibench.data.paths import resolve
from omibench.data.preprocess import Preprocessor
from omibench.data.sources import FilesSource
from omibench.data.splits import Split, draw_split
from omibench.data.steps import build_steps
from omibench.data.stream import first_ids, gather, is_text_matrix, read_header, stream_matrix, streamable_prefix
from omibench.errors import DataError

__all__ = ["can_stream", "prepare_streamed", "Streamed"]

log = logging.getLogger(__name__)


@dataclass
class Streamed:
    """The three preprocessed parts, the split, the fitted preprocessing and the dataset hash."""

    parts: dict[str, PairedData]
    split: Split
    preprocessor: Preprocessor
    dataset_hash: str
    # per stage: (seconds, peak resident memory of the process so far in GiB), for docs/scale.md
    stages: dict[str, tuple[float, float]] = field(default_factory=dict)


def can_stream(source: Any) -> bool:
    """Both matrices are text files and have (or, with ``orientation: auto``, their headers show)
    samples in columns."""
    if not isinstance(source, FilesSource):
        return False
    b_path, a_path, _ = source.paths()
    if not (is_text_matrix(b_path) and is_text_matrix(a_path) and b_path.is_file() and a_path.is_file()):
        return False
    p = source.settings
    if p.orientation == "samples_in_columns":
        return True
    if p.orientation == "samples_in_rows":
        return False
    # auto: the sample axis is the one whose ids the two files share (the first rows stand for the rows)
    hb, ha = read_header(b_path, unique=False), read_header(a_path, unique=False)
    in_columns = len({cut(c, p.match) for c in hb.columns} & {cut(c, p.match) for c in ha.columns})
    in_rows = len({cut(r, p.match) for r in first_ids(hb, 500)} & {cut(r, p.match) for r in first_ids(ha, 500)})
    return in_columns > in_rows


def prepare_streamed(source: FilesSource, config: Any) -> Streamed:
    """Prepare ``config`` (an ExperimentConfig whose data block built ``source``) headers first."""
    p = source.settings
    root = p.root
    stages: dict[str, tuple[float, float]] = {}
    t0 = time.perf_counter()
    b_path, a_path, labels_path = source.paths()
    for path in (b_path, a_path, labels_path):
        if path is not None and not path.is_file():
            raise DataError(f"{path}: file not found. {p.missing_hint or 'check the path (see the README on paths)'}")
    hb, ha = read_header(b_path, unique=False), read_header(a_path, unique=False)
    pairing = pair_ids(hb.columns, ha.columns, p.match, b_path, a_path, p.strict)
    keys = np.array(pairing.keys, dtype=object)
    labels = None
    if labels_path is not None:
        labels = read_labels(labels_path, p.label_column, keys, p.match, p.label_id_column)
    test_ids, notes = None, list(pairing.notes)
    if config.split.given:
        raise DataError(f"split.given: data source {source.name!r} defines no test samples")
    if config.split.test_ids:
        ids_path = resolve(config.split.test_ids, root)
        test_ids, listed_notes = listed_keys(
            read_id_list(ids_path, p.match, set(pairing.keys)), p.match, pairing.parts, ids_path
        )
        notes += listed_notes
    split = draw_split(
        keys,
        labels if labels is not None and any(x is not None for x in labels) else None,
        seed=config.split.seed,
        val_fraction=config.split.val_fraction,
        test_fraction=config.split.test_fraction,
        test_ids=test_ids,
        stratify=config.split.stratify,
        test_ids_source=str(config.split.test_ids),
    )
    split = Split(split.train, split.val, split.test, tuple(notes))
    where = {k: i for i, k in enumerate(pairing.keys)}
    rows = {
        part: np.array([where[s] for s in getattr(split, part)], dtype=np.int64) for part in ("train", "val", "test")
    }
    b_steps = build_steps(config.preprocess.b, "b", root)
    a_steps = build_steps(config.preprocess.a, "a", root)
    stages["headers, ids, labels, split"] = (time.perf_counter() - t0, _peak_gib())

    streamed = {}
    for omics, header, index, steps in (("b", hb, pairing.b_index, b_steps), ("a", ha, pairing.a_index, a_steps)):
        t0 = time.perf_counter()
        k = streamable_prefix(steps)
        res = stream_matrix(header, index, rows["train"], steps[:k], omics)
        if not len(res.features):
            raise DataError(f"{header.path}: the preprocessing steps left no features (preprocess.{omics})")
        streamed[omics] = (res, steps[k:])
        stages[f"read + filter {omics.upper()} ({res.n_rows} rows -> {len(res.features)})"] = (
            time.perf_counter() - t0,
            _peak_gib(),
        )

    t0 = time.perf_counter()
    (rb, b_rest), (ra, a_rest) = streamed["b"], streamed["a"]
    name = str(root)
    b_parts = gather(rb.chunks, {k: rb.position[r] for k, r in rows.items()}, len(rb.features))
    a_parts = gather(ra.chunks, {k: ra.position[r] for k, r in rows.items()}, len(ra.features))
    parts = {}
    for part in ("train", "val", "test"):
        r = rows[part]
        parts[part] = PairedData(
            b=b_parts.pop(part),
            a=a_parts.pop(part),
            sample_ids=keys[r],
            b_features=rb.features,
            a_features=ra.features,
            labels=None if labels is None else labels[r],
            name=name,
        )
    pre = Preprocessor(config.preprocess.impute, b_rest, a_rest, rb.steps, ra.steps)
    pre.b_features_in_, pre.a_features_in_ = rb.features_in, ra.features_in
    pre.fit(parts["train"])
    for part in ("train", "val", "test"):
        parts[part] = pre.transform(parts[part], part)
    stages["split parts, remaining steps, imputation"] = (time.perf_counter() - t0, _peak_gib())

    h = hashlib.blake2b(digest_size=8)
    for text in (
        rb.digest,
        ra.digest,
        "\x1f".join(pairing.keys),
        "\x1f".join(map(str, rb.features_in)),
        "\x1f".join(map(str, ra.features_in)),
        "" if labels is None else "\x1f".join(map(str, labels)),
    ):
        h.update(text.encode())
        h.update(b"\x1e")
    return Streamed(parts, split, pre, h.hexdigest(), stages)


def _peak_gib() -> float:
    """Peak resident memory of this process so far (Linux reports KiB), in GiB."""
    try:
        import resource
    except ImportError:  # not on Windows
        return float("nan")
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
