"""The paired dataset every translator sees: the same samples measured twice."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from omibench.errors import DataError

__all__ = ["PairedData"]


@dataclass(frozen=True, eq=False)
class PairedData:
    """B (input, e.g. methylation) and A (target, e.g. expression) for the same samples, row-aligned.

    Shapes and scales:
      - ``b``: (n_samples, n_b_features) float32, e.g. beta values in [0, 1].
      - ``a``: (n_samples, n_a_features) float32, on the scale metrics are reported on
        (e.g. log2(FPKM+1)); translators must predict on this scale.
      - ``sample_ids``: (n_samples,) str, unique; ``b_features`` / ``a_features``: str, unique.
      - ``labels``: (n_samples,) object array of class names, ``None`` where a sample has no
        label; the whole field is ``None`` when the dataset has no labels.
    NaN may appear only before imputation (see :mod:`omibench.data.preprocess`).
    """

    b: np.ndarray
    a: np.ndarray
    sample_ids: np.ndarray
    b_features: np.ndarray
    a_features: np.ndarray
    labels: np.ndarray | None = None
    name: str = "data"
    given_test_ids: tuple[str, ...] | None = None  # a split published with the data, if any
    _fingerprint: list[str] = field(default_factory=list, init=False, repr=False)  # fingerprint(), once known

    def __post_init__(self) -> None:
        n = len(self.sample_ids)
        if self.b.ndim != 2 or self.a.ndim != 2:
            raise DataError(f"{self.name}: B and A must be 2-D matrices, got {self.b.shape} and {self.a.shape}")
        if self.b.shape != (n, len(self.b_features)):
            raise DataError(f"{self.name}: B has shape {self.b.shape}, expected ({n}, {len(self.b_features)})")
        if self.a.shape != (n, len(self.a_features)):
            raise DataError(f"{self.name}: A has shape {self.a.shape}, expected ({n}, {len(self.a_features)})")
        if self.labels is not None and len(self.labels) != n:
            raise DataError(f"{self.name}: {len(self.labels)} labels for {n} samples")
        for what, ids in (("sample", self.sample_ids), ("B feature", self.b_features), ("A feature", self.a_features)):
            _require_unique(ids, f"{self.name}: duplicate {what} id")

    @property
    def n_samples(self) -> int:
        return len(self.sample_ids)

    @property
    def has_labels(self) -> bool:
        return self.labels is not None and any(lab is not None for lab in self.labels)

    @classmethod
    def with_fingerprint(cls, fingerprint: str, **fields: Any) -> PairedData:
        """``PairedData(**fields)`` whose :meth:`fingerprint` is already known (a cache entry read
        back: its memory-mapped matrices are not read again to hash them)."""
        data = cls(**fields)
        data._fingerprint.append(fingerprint)
        return data

    @classmethod
    def concat(cls, *parts: PairedData) -> PairedData:
        """Parts of one dataset stacked row-wise, in the order given (e.g. training + validation rows
        for a refit). The parts must share their features; labels are kept when every part has
        them; the name is the first part's."""
        if not parts:
            raise ValueError("PairedData.concat needs at least one part")
        first = parts[0]
        for part in parts[1:]:
            if not (
                np.array_equal(part.b_features, first.b_features) and np.array_equal(part.a_features, first.a_features)
            ):
                raise DataError(f"{first.name}: cannot stack parts with different features ({part.name})")
        labelled = all(p.labels is not None for p in parts)
        return cls(
            b=np.concatenate([p.b for p in parts]),
            a=np.concatenate([p.a for p in parts]),
            sample_ids=np.concatenate([p.sample_ids for p in parts]),
            b_features=first.b_features,
            a_features=first.a_features,
            labels=np.concatenate([p.labels for p in parts if p.labels is not None]) if labelled else None,
            name=first.name,
        )

    def subset(self, rows: Sequence[int] | np.ndarray) -> PairedData:
        """The same dataset restricted to ``rows`` (integer positions), in that order."""
        rows = np.asarray(rows, dtype=np.int64)
        return PairedData(
            b=self.b[rows],
            a=self.a[rows],
            sample_ids=self.sample_ids[rows],
            b_features=self.b_features,
            a_features=self.a_features,
            labels=None if self.labels is None else self.labels[rows],
            name=self.name,
        )  # given_test_ids belong to the whole dataset, not to a part

    def fingerprint(self) -> str:
        """A content hash of values, ids and labels (16 hex digits); computed once."""
        if not self._fingerprint:
            h = hashlib.blake2b(digest_size=8)
            for arr in (self.b, self.a):
                h.update(str(arr.shape).encode())
                h.update(np.ascontiguousarray(arr, dtype=np.float32).tobytes())
            for ids in (self.sample_ids, self.b_features, self.a_features):
                h.update("\x1f".join(map(str, ids)).encode())
            if self.labels is not None:
                h.update("\x1f".join(map(str, self.labels)).encode())
            self._fingerprint.append(h.hexdigest())
        return self._fingerprint[0]


def _require_unique(ids: np.ndarray, message: str) -> None:
    if len(set(ids.tolist())) == len(ids):
        return
    seen: set[str] = set()
    dupes = []
    for i in ids.tolist():
        if i in seen:
            dupes.append(i)
        seen.add(i)
    raise DataError(f"{message} {dupes[0]!r} ({len(dupes)} duplicates): make ids unique before loading")
