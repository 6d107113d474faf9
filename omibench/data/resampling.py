"""Outer resampling: several train / validation / test splits of one dataset, for intervals over splits.

One :class:`~omibench.data.splits.Split` per outer split. Every translator of an experiment sees the
same list, so differences between translators can be paired split by split (see :mod:`omibench.stats`).

Schemes:
  - ``repeated_holdout``: ``repeats`` independent draws of a test part (``test_fraction`` of all samples)
    and a validation part (``val_fraction`` of all samples); test parts of two repeats may overlap.
  - ``kfold``: ``folds`` x ``repeats`` splits; within a repeat the test parts are the folds (disjoint,
    every sample tested exactly once) and validation (``val_fraction`` of all samples) is carved from the
    remaining training part of each fold.
  - a given ``test_ids`` list (a published split) overrides the scheme: exactly one split.

Stratification is by label where the data have labels (unlabelled samples form their own stratum),
proportional within each part. With ``groups`` (e.g. the TCGA patient of each sample) no group has
samples in two parts of a split (scikit-learn's ``StratifiedGroupKFold`` / ``GroupShuffleSplit``
semantics); the parts' sizes then follow the group sizes and are close to, not exactly, the fractions.
"""

from __future__ import annotations

import re
import warnings
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np

from omibench.data.memory import require_memory
from omibench.data.paired import PairedData
from omibench.data.splits import Split, make_split
from omibench.errors import ConfigError, DataError

__all__ = [
    "SCHEMES",
    "Scheme",
    "is_tcga_barcodes",
    "leaky_test_samples",
    "outer_splits",
    "patient_leak",
    "resolve_group_by",
    "tcga_patient_groups",
]

Scheme = Literal["repeated_holdout", "kfold"]
SCHEMES: tuple[str, ...] = ("repeated_holdout", "kfold")

# TCGA-<TSS>-<participant>[-<sample type+vial>...]; some exports (R, Xena) use dots for dashes.
_TCGA = re.compile(r"^TCGA[-.]([A-Za-z0-9]{2})[-.]([A-Za-z0-9]{4})(?:[-.].*)?$")


def is_tcga_barcodes(sample_ids: Sequence[str] | np.ndarray) -> bool:
    """True when every id is a TCGA barcode (at least the 12-character patient part)."""
    ids = [str(s) for s in sample_ids]
    return bool(ids) and all(_TCGA.match(s) for s in ids)


def tcga_patient_groups(sample_ids: Sequence[str] | np.ndarray, *, strict: bool = True) -> np.ndarray:
    """The patient of each TCGA barcode: its first 12 characters, as ``TCGA-XX-XXXX``.

    ``TCGA-A1-A0SH-01A`` (primary tumour) and ``TCGA-A1-A0SH-11A`` (solid normal) share the patient
    ``TCGA-A1-A0SH``. Dotted barcodes (``TCGA.A1.A0SH.01A``) map to the same dashed patient id.
    An id that is not a barcode raises :class:`DataError` when ``strict``, else is its own group.
    Returns an object array aligned with ``sample_ids``.
    """
    out = np.empty(len(sample_ids), dtype=object)
    for i, sid in enumerate(sample_ids):
        m = _TCGA.match(str(sid))
        if m is None:
            if strict:
                raise DataError(
                    f"sample {sid!r}: not a TCGA barcode (TCGA-XX-XXXX...), so its patient is unknown: "
                    "group by a sample-sheet column instead, or turn grouping off"
                )
            out[i] = str(sid)
        else:
            out[i] = f"TCGA-{m.group(1)}-{m.group(2)}".upper()
    return out


def leaky_test_samples(split: Split, groups: Mapping[str, str]) -> tuple[str, ...]:
    """Test samples whose group (e.g. patient) also has a sample in the training or validation part.

    ``groups`` maps sample id -> group; ids it lacks are their own group. With a given test list
    (a published split) this counts the leak that a group-aware split would have avoided.
    """
    seen = {groups.get(s, s) for s in (*split.train, *split.val)}
    return tuple(s for s in split.test if groups.get(s, s) in seen)


def patient_leak(split: Split) -> tuple[str, ...] | None:
    """Test samples whose TCGA patient also has a training or validation sample (None unless every id
    is a TCGA barcode): the leak a group-aware split avoids and a given test list may carry."""
    ids = (*split.train, *split.val, *split.test)
    if not is_tcga_barcodes(ids):
        return None
    return leaky_test_samples(split, dict(zip(ids, tcga_patient_groups(ids).tolist())))


def resolve_group_by(group_by: str | None, sample_ids: np.ndarray) -> str | None:
    """``group_by`` with ``auto`` resolved: ``patient`` where every id is a TCGA barcode and some patient
    has more than one sample (only then can a split put one patient on both sides), else ``None``."""
    if group_by in (None, "none"):
        return None
    if group_by == "auto":
        if not is_tcga_barcodes(sample_ids):
            return None
        patients = tcga_patient_groups(sample_ids)
        return "patient" if len(set(patients.tolist())) < len(patients) else None
    return group_by


def outer_splits(
    data: PairedData,
    scheme: str = "repeated_holdout",
    *,
    repeats: int = 1,
    folds: int = 5,
    test_fraction: float = 0.2,
    val_fraction: float = 0.1,
    seed: int = 0,
    stratify: bool = True,
    groups: Sequence[str] | np.ndarray | None = None,
    test_ids: Sequence[str] | None = None,
) -> list[Split]:
    """The outer splits of ``data``; deterministic for a ``seed``.

    ``groups`` (aligned with ``data.sample_ids``) keeps every group on one side of each split.
    Fractions are of all samples. ``test_fraction`` is unused by ``kfold`` (a fold is 1/``folds``).
    Without groups, the first repeated-holdout split is ``make_split(data, seed, ...)``, the single
    split every experiment drew before resampling existed, so its hash (and its finished runs) carry over.
    """
    if scheme not in SCHEMES:
        raise ConfigError(f"split.scheme: unknown scheme {scheme!r}: use one of {', '.join(SCHEMES)}")
    if repeats < 1:
        raise ConfigError(f"split.repeats: {repeats} must be at least 1")
    if scheme == "kfold" and folds < 2:
        raise ConfigError(f"split.folds: {folds} must be at least 2")
    if not (0 <= val_fraction < 1 and 0 <= test_fraction < 1 and val_fraction + test_fraction < 1):
        raise ConfigError(f"split fractions val={val_fraction}, test={test_fraction} must be in [0, 1) and sum below 1")
    n = data.n_samples
    n_splits = 1 if test_ids is not None else repeats * (folds if scheme == "kfold" else 1)
    # each split holds every sample id once (train + val + test) and its positions: sized before drawing
    require_memory(
        n_splits * n * 24,
        f"split: {n_splits:,} outer splits of {n:,} samples",
        "lower split.repeats or split.folds",
    )
    strata = _strata(data) if stratify else np.zeros(n, dtype=np.int64)
    group_arr = None if groups is None else _group_codes(groups, n)

    if test_ids is not None:
        if group_arr is None:
            return [make_split(data, seed, val_fraction=val_fraction, test_ids=test_ids, stratify=stratify)]
        where = {sid: i for i, sid in enumerate(data.sample_ids.tolist())}
        unknown = [s for s in test_ids if s not in where]
        if unknown:
            raise DataError(
                f"test_ids: {len(unknown)} test ids are not samples of the data "
                f"(e.g. {', '.join(map(str, unknown[:3]))}): "
                "remove them or check the sample naming"
            )
        test = np.array(sorted({where[s] for s in test_ids}), dtype=np.int64)
        rest = np.setdiff1d(np.arange(n), test)
        rng = np.random.default_rng(seed)
        return [_finish(data, test, rest, strata, group_arr, round(val_fraction * n), rng)]

    if scheme == "repeated_holdout":
        if round(test_fraction * n) < 2:
            raise ConfigError(
                f"split.test_fraction: {test_fraction} of {n} samples leaves {round(test_fraction * n)} test samples; "
                "featurewise R² needs at least 2: raise it"
            )
        out = []
        for r in range(repeats):
            s = _repeat_seed(seed, r)
            if group_arr is None:
                out.append(
                    make_split(data, s, val_fraction=val_fraction, test_fraction=test_fraction, stratify=stratify)
                )
            else:
                rng = np.random.default_rng(s)
                test, rest = _pick(np.arange(n), strata, group_arr, round(test_fraction * n), rng)
                out.append(_finish(data, test, rest, strata, group_arr, round(val_fraction * n), rng))
        return out
    return _kfold(data, folds, repeats, val_fraction, seed, strata, group_arr, stratify)


def _kfold(
    data: PairedData,
    folds: int,
    repeats: int,
    val_fraction: float,
    seed: int,
    strata: np.ndarray,
    group_arr: np.ndarray | None,
    stratify: bool,
) -> list[Split]:
    from sklearn.model_selection import GroupKFold, KFold, StratifiedGroupKFold, StratifiedKFold

    n = data.n_samples
    n_units = n if group_arr is None else len(np.unique(group_arr))
    if folds > n_units:
        what = "samples" if group_arr is None else "groups (patients)"
        raise DataError(
            f"{data.name}: {folds} folds need at least {folds} {what}, the data have {n_units}: lower split.folds"
        )
    if n // folds < 2:
        raise DataError(
            f"{data.name}: {folds} folds of {n} samples leave test parts under 2 samples: lower split.folds"
        )
    k_val = round(val_fraction * n)
    stratified = stratify and len(np.unique(strata)) > 1
    out: list[Split] = []
    for r in range(repeats):
        s = _repeat_seed(seed, r)
        rng = np.random.default_rng(s)
        state = int(rng.integers(2**31 - 1))
        x = np.zeros((n, 1))
        splitter: KFold | StratifiedKFold | StratifiedGroupKFold | GroupKFold
        if group_arr is None:
            splitter = (
                StratifiedKFold(folds, shuffle=True, random_state=state)
                if stratified
                else KFold(folds, shuffle=True, random_state=state)
            )
            parts = splitter.split(x, strata)
        elif stratified:
            splitter = StratifiedGroupKFold(folds, shuffle=True, random_state=state)
            parts = splitter.split(x, strata, group_arr)
        else:
            # GroupKFold does not shuffle before scikit-learn 1.6: permute the group labels instead
            uniq = np.unique(group_arr)
            relabel = dict(zip(uniq.tolist(), rng.permutation(len(uniq)).tolist()))
            splitter = GroupKFold(folds)
            parts = splitter.split(x, strata, np.array([relabel[g] for g in group_arr.tolist()]))
        with warnings.catch_warnings():
            # a class with fewer members than folds is still allocated as evenly as it can be
            warnings.filterwarnings("ignore", message=".*least populated class.*")
            parts = list(parts)
        for rest, test in parts:
            out.append(_finish(data, np.sort(test), np.sort(rest), strata, group_arr, k_val, rng))
    return out


def _finish(
    data: PairedData,
    test: np.ndarray,
    rest: np.ndarray,
    strata: np.ndarray,
    group_arr: np.ndarray | None,
    k_val: int,
    rng: np.random.Generator,
) -> Split:
    """Carve ``k_val`` validation rows from ``rest`` (stratified, group-aware) and build the Split."""
    groups = np.arange(data.n_samples) if group_arr is None else group_arr
    val, train = _pick(rest, strata, groups, k_val, rng)
    if len(train) < 2:
        raise DataError(
            f"{data.name}: a split leaves {len(train)} training samples of {data.n_samples}: "
            "lower split.val_fraction / split.test_fraction or use fewer folds"
        )
    ids = data.sample_ids
    return Split(tuple(ids[np.sort(train)]), tuple(ids[np.sort(val)]), tuple(ids[np.sort(test)]))


def _pick(
    pool: np.ndarray, strata: np.ndarray, groups: np.ndarray, k: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Pick about ``k`` rows of ``pool`` as whole groups, proportionally per stratum; return (picked, rest).

    A group's stratum is its most common label. Within each stratum the groups are shuffled and taken
    while taking the next one brings the stratum's count closer to its target round(k * share); with
    singleton groups this is exact proportional allocation.
    """
    if k <= 0 or len(pool) == 0:
        return np.array([], dtype=np.int64), np.sort(pool)
    members: dict[object, list[int]] = {}
    for row in pool.tolist():
        members.setdefault(groups[row], []).append(row)
    keys = list(members)
    group_stratum = {g: Counter(strata[members[g]].tolist()).most_common(1)[0][0] for g in keys}
    by_stratum: dict[int, list[object]] = {}
    for g in keys:
        by_stratum.setdefault(group_stratum[g], []).append(g)
    sizes = {st: sum(len(members[g]) for g in gs) for st, gs in by_stratum.items()}
    targets = _allocate(sizes, k, rng)
    picked: list[int] = []
    for st in sorted(by_stratum):
        gs = by_stratum[st]
        taken = 0
        for j in rng.permutation(len(gs)).tolist():
            size = len(members[gs[j]])
            if abs(taken + size - targets[st]) < abs(taken - targets[st]):
                picked.extend(members[gs[j]])
                taken += size
    picked_arr = np.sort(np.array(picked, dtype=np.int64))
    return picked_arr, np.setdiff1d(pool, picked_arr)


def _allocate(sizes: dict[int, int], k: int, rng: np.random.Generator) -> dict[int, int]:
    """Split ``k`` over strata proportionally to ``sizes`` (largest remainders, ties broken at random)."""
    total = sum(sizes.values())
    keys = sorted(sizes)
    exact = np.array([k * sizes[s] / total for s in keys])
    base = np.floor(exact).astype(int)
    left = k - int(base.sum())
    order = np.lexsort((rng.random(len(keys)), -(exact - base)))
    base[order[:left]] += 1
    return dict(zip(keys, base.tolist()))


def _strata(data: PairedData) -> np.ndarray:
    if not data.has_labels or data.labels is None:
        return np.zeros(data.n_samples, dtype=np.int64)
    names = np.array(["\x00none" if lab is None else str(lab) for lab in data.labels], dtype=object)
    return np.unique(names, return_inverse=True)[1].astype(np.int64)


def _group_codes(groups: Sequence[str] | np.ndarray, n: int) -> np.ndarray:
    if len(groups) != n:
        raise DataError(f"split groups: {len(groups)} group ids for {n} samples: give one group per sample")
    names = np.array([str(g) for g in groups], dtype=object)
    return np.unique(names, return_inverse=True)[1].astype(np.int64)


def _repeat_seed(seed: int, r: int) -> int:
    """Repeat 0 uses ``seed`` itself (today's single split); later repeats an independent stream."""
    if r == 0:
        return seed
    return int(np.random.SeedSequence([seed, r]).generate_state(1)[0])
