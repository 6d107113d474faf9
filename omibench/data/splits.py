"""Train / validation / test splits drawn once and shared by every translator and seed."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from omibench.data.paired import PairedData
from omibench.errors import DataError

__all__ = ["Split", "make_split", "draw_split"]


@dataclass(frozen=True)
class Split:
    """Sample ids of the three parts. Training fits, validation selects, the test split only scores."""

    train: tuple[str, ...]
    val: tuple[str, ...]
    test: tuple[str, ...]
    # what the split's drawing found worth saying (e.g. a listed sample split across vials); not hashed
    notes: tuple[str, ...] = field(default=(), compare=False)

    @property
    def hash(self) -> str:
        """12 hex digits of sha256 over the three ordered id lists: equal hash, equal rows."""
        payload = json.dumps({"train": self.train, "val": self.val, "test": self.test}, separators=(",", ":"))
        return hashlib.sha256(payload.encode()).hexdigest()[:12]

    def rows(self, data: PairedData) -> dict[str, np.ndarray]:
        """Integer row positions of each part in ``data``."""
        where = {sid: i for i, sid in enumerate(data.sample_ids.tolist())}
        try:
            return {
                part: np.array([where[s] for s in getattr(self, part)], dtype=np.int64)
                for part in ("train", "val", "test")
            }
        except KeyError as exc:
            raise DataError(f"split names sample {exc.args[0]!r}, which is not in dataset {data.name!r}") from None

    def to_json(self) -> str:
        return json.dumps({"hash": self.hash, "train": self.train, "val": self.val, "test": self.test}, indent=1)

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.to_json())
        return path

    @classmethod
    def load(cls, path: str | Path) -> Split:
        raw = json.loads(Path(path).read_text())
        return cls(tuple(raw["train"]), tuple(raw["val"]), tuple(raw["test"]))


def make_split(
    data: PairedData,
    seed: int = 0,
    val_fraction: float = 0.1,
    test_fraction: float = 0.2,
    test_ids: Sequence[str] | None = None,
    stratify: bool = True,
    test_ids_source: str = "test_ids",
) -> Split:
    """Draw the split. Fractions are of all samples; stratified by label when labels exist.

    With ``test_ids`` (e.g. the paper's 1,816 published ids) the test part is exactly those samples
    and validation is drawn from the rest. Stratification is proportional allocation within each
    label (unlabelled samples form their own group), so every class keeps its share in each part.
    """
    labels = data.labels if data.has_labels else None
    return draw_split(data.sample_ids, labels, seed, val_fraction, test_fraction, test_ids, stratify, test_ids_source)


def draw_split(
    sample_ids: np.ndarray,
    labels: np.ndarray | None,
    seed: int = 0,
    val_fraction: float = 0.1,
    test_fraction: float = 0.2,
    test_ids: Sequence[str] | None = None,
    stratify: bool = True,
    test_ids_source: str = "test_ids",
) -> Split:
    """:func:`make_split` from the ids and labels alone (no values needed)."""
    n = len(sample_ids)
    if not (0 <= val_fraction < 1 and 0 <= test_fraction < 1 and val_fraction + test_fraction < 1):
        raise DataError(f"split fractions val={val_fraction}, test={test_fraction} must be in [0, 1) and sum below 1")
    rng = np.random.default_rng(seed)
    strata = _strata(labels, n) if stratify else np.zeros(n, dtype=np.int64)
    remaining = np.arange(n)
    if test_ids is not None:
        where = {sid: i for i, sid in enumerate(sample_ids.tolist())}
        unknown = [s for s in test_ids if s not in where]
        if unknown:
            raise DataError(
                f"{test_ids_source}: {len(unknown)} test ids are not samples of the data "
                f"(e.g. {', '.join(map(str, unknown[:3]))}): "
                "remove them or check the sample naming"
            )
        test = np.array(sorted({where[s] for s in test_ids}), dtype=np.int64)
        remaining = np.setdiff1d(remaining, test)
    else:
        test, remaining = _draw(remaining, strata, round(test_fraction * n), rng)
    val, train = _draw(remaining, strata, round(val_fraction * n), rng)
    if len(train) < 2:
        raise DataError(f"split leaves {len(train)} training samples of {n}: lower val_fraction / test_fraction")
    ids = sample_ids
    return Split(tuple(ids[np.sort(train)]), tuple(ids[np.sort(val)]), tuple(ids[np.sort(test)]))


def _strata(labels: np.ndarray | None, n: int) -> np.ndarray:
    if labels is None or all(lab is None for lab in labels):
        return np.zeros(n, dtype=np.int64)
    names = ["\x00none" if lab is None else str(lab) for lab in labels]
    _, codes = np.unique(np.array(names, dtype=object), return_inverse=True)
    return codes.astype(np.int64)


def _draw(pool: np.ndarray, strata: np.ndarray, k: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Pick ``k`` of ``pool`` with proportional allocation per stratum; return (picked, rest)."""
    if k <= 0:
        return np.array([], dtype=np.int64), pool
    shuffled = pool[rng.permutation(len(pool))]
    ordered = shuffled[np.argsort(strata[shuffled], kind="stable")]
    # systematic sampling over the stratum-sorted order picks round(k * share) from each stratum
    frac = k / len(ordered)
    i = np.arange(len(ordered))
    offset = rng.random()
    picked_mask = np.floor((i + 1) * frac + offset) > np.floor(i * frac + offset)
    picked = ordered[picked_mask]
    return np.sort(picked), np.sort(ordered[~picked_mask])
