"""Outer resampling: disjoint k-fold test parts, stratification, patient-safe groups, seeds."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from omibench.data.paired import PairedData
from omibench.data.resampling import (
    is_tcga_barcodes,
    leaky_test_samples,
    outer_splits,
    tcga_patient_groups,
)
from omibench.data.splits import Split, make_split
from omibench.errors import ConfigError, DataError


def _data(ids: list[str], labels: list[str | None] | None = None) -> PairedData:
    n = len(ids)
    rng = np.random.default_rng(0)
    return PairedData(
        b=rng.random((n, 3)).astype(np.float32),
        a=rng.random((n, 2)).astype(np.float32),
        sample_ids=np.array(ids, dtype=object),
        b_features=np.array(["b0", "b1", "b2"], dtype=object),
        a_features=np.array(["a0", "a1"], dtype=object),
        labels=None if labels is None else np.array(labels, dtype=object),
    )


def _labelled(n: int = 103) -> PairedData:
    # unequal classes plus unlabelled samples: 50 / 30 / 13 / 10 unlabelled
    labels: list[str | None] = ["LumA"] * 50 + ["Basal"] * 30 + ["Her2"] * 13 + [None] * (n - 93)
    perm = np.random.default_rng(1).permutation(n)
    return _data([f"s{i:03d}" for i in range(n)], [labels[j] for j in perm])


def _tcga(n_patients: int = 60) -> PairedData:
    """Each patient has a tumour (-01A); every third also a normal (-11A); every fifth a second vial."""
    ids: list[str] = []
    labels: list[str] = []
    for p in range(n_patients):
        pid = f"TCGA-A{p % 7}-{p:04d}"
        sub = ("LumA", "Basal", "Her2")[p % 3]
        ids.append(f"{pid}-01A")
        labels.append(sub)
        if p % 3 == 0:
            ids.append(f"{pid}-11A")
            labels.append("Normal")
        if p % 5 == 0:
            ids.append(f"{pid}-01B")
            labels.append(sub)
    return _data(ids, labels)


def _counts(ids: tuple[str, ...], data: PairedData) -> Counter:
    assert data.labels is not None
    lab = dict(zip(data.sample_ids.tolist(), data.labels.tolist()))
    return Counter(lab[s] for s in ids)


def test_kfold_test_parts_disjoint_and_cover_every_sample_once_per_repeat():
    data = _labelled()
    splits = outer_splits(data, "kfold", folds=5, repeats=3, val_fraction=0.1, seed=7)
    assert len(splits) == 15
    for r in range(3):
        tests = [s for sp in splits[5 * r : 5 * r + 5] for s in sp.test]
        assert sorted(tests) == sorted(data.sample_ids.tolist())  # each sample tested exactly once
    for sp in splits:
        parts = [set(sp.train), set(sp.val), set(sp.test)]
        assert sum(map(len, parts)) == data.n_samples and len(set().union(*parts)) == data.n_samples
        assert len(sp.val) == round(0.1 * data.n_samples)
    # the three repeats shuffle differently
    assert splits[0].test != splits[5].test


def test_kfold_and_holdout_are_stratified_within_one_sample_per_class():
    data = _labelled()
    total = _counts(tuple(data.sample_ids.tolist()), data)
    for sp in outer_splits(data, "kfold", folds=4, repeats=2, seed=3):
        for part, frac in (("test", len(sp.test) / data.n_samples), ("val", len(sp.val) / data.n_samples)):
            got = _counts(getattr(sp, part), data)
            for cls, n_cls in total.items():
                assert abs(got[cls] - n_cls * frac) <= 1, (part, cls, got[cls], n_cls * frac)
    for sp in outer_splits(data, "repeated_holdout", repeats=5, test_fraction=0.25, val_fraction=0.15, seed=3):
        for part, frac in (("test", 0.25), ("val", 0.15)):
            got = _counts(getattr(sp, part), data)
            for cls, n_cls in total.items():
                assert abs(got[cls] - n_cls * frac) <= 1, (part, cls)


def test_seeds_reproduce_and_differ():
    data = _labelled()
    for scheme in ("kfold", "repeated_holdout"):
        a = outer_splits(data, scheme, repeats=3, seed=11)
        b = outer_splits(data, scheme, repeats=3, seed=11)
        c = outer_splits(data, scheme, repeats=3, seed=12)
        assert [s.hash for s in a] == [s.hash for s in b]
        assert [s.hash for s in a] != [s.hash for s in c]
        assert len({hash(s) for s in a}) == len(a)  # Split stays hashable; outer splits are distinct


def test_first_holdout_split_is_todays_single_split():
    data = _labelled()
    splits = outer_splits(data, "repeated_holdout", repeats=4, seed=5, test_fraction=0.2, val_fraction=0.1)
    assert splits[0] == make_split(data, seed=5, val_fraction=0.1, test_fraction=0.2)
    assert len({s.test for s in splits}) == 4


def test_given_test_list_is_the_only_split():
    data = _labelled()
    given = data.sample_ids[:20].tolist()
    for groups in (None, [f"g{i // 2}" for i in range(data.n_samples)]):
        splits = outer_splits(data, "kfold", folds=5, repeats=3, test_ids=given, groups=groups)
        assert len(splits) == 1
        assert set(splits[0].test) == set(given)
        assert not set(splits[0].val) & set(given)
    with pytest.raises(DataError, match="not samples"):
        outer_splits(data, test_ids=["nope"], groups=list(data.sample_ids))


def test_tcga_patient_groups():
    ids = ["TCGA-A1-A0SH-01A", "TCGA-A1-A0SH-11A", "TCGA.AB.2803.03A", "TCGA-AB-2803"]
    assert tcga_patient_groups(ids).tolist() == ["TCGA-A1-A0SH", "TCGA-A1-A0SH", "TCGA-AB-2803", "TCGA-AB-2803"]
    assert is_tcga_barcodes(ids)
    assert not is_tcga_barcodes(ids + ["sample7"])
    with pytest.raises(DataError, match="sample7"):
        tcga_patient_groups(ids + ["sample7"])
    assert tcga_patient_groups(["sample7"], strict=False).tolist() == ["sample7"]


@pytest.mark.parametrize("scheme", ["kfold", "repeated_holdout"])
def test_grouped_splits_keep_each_patient_on_one_side(scheme):
    data = _tcga()
    groups = tcga_patient_groups(data.sample_ids)
    assert len(set(groups)) < data.n_samples  # the fixture does hold patients with several samples
    patient = dict(zip(data.sample_ids.tolist(), groups.tolist()))
    splits = outer_splits(data, scheme, folds=5, repeats=2, seed=0, groups=groups, val_fraction=0.15)
    assert splits
    for sp in splits:
        sides = [{patient[s] for s in part} for part in (sp.train, sp.val, sp.test)]
        assert not sides[0] & sides[1] and not sides[0] & sides[2] and not sides[1] & sides[2]
        assert leaky_test_samples(sp, patient) == ()
        assert len(sp.train) + len(sp.val) + len(sp.test) == data.n_samples
        assert abs(len(sp.val) - 0.15 * data.n_samples) <= 3  # whole patients: close, not exact
    if scheme == "kfold":
        for r in range(2):
            tests = [s for sp in splits[5 * r : 5 * r + 5] for s in sp.test]
            assert sorted(tests) == sorted(data.sample_ids.tolist())
    # an ungrouped split of the same data does put some patient's tumour and normal on two sides
    leaks = [len(leaky_test_samples(sp, patient)) for sp in outer_splits(data, scheme, repeats=5, seed=0)]
    assert max(leaks) > 0


def test_leaky_test_samples_counts_a_given_list():
    sp = Split(
        train=("TCGA-A1-0001-01A", "TCGA-A1-0002-01A"),
        val=("TCGA-A1-0003-01A",),
        test=("TCGA-A1-0001-11A", "TCGA-A1-0003-11A", "TCGA-A1-0004-01A"),
    )
    groups = dict(zip([*sp.train, *sp.val, *sp.test], tcga_patient_groups([*sp.train, *sp.val, *sp.test]).tolist()))
    assert leaky_test_samples(sp, groups) == ("TCGA-A1-0001-11A", "TCGA-A1-0003-11A")


def test_bad_settings_are_user_errors():
    data = _labelled(20 + 10)
    with pytest.raises(ConfigError, match="scheme"):
        outer_splits(data, "bootstrap")
    with pytest.raises(ConfigError, match="folds"):
        outer_splits(data, "kfold", folds=1)
    with pytest.raises(ConfigError, match="repeats"):
        outer_splits(data, repeats=0)
    with pytest.raises(DataError, match="folds"):
        outer_splits(data, "kfold", folds=5, groups=["a", "b"] * 15)
    with pytest.raises(DataError, match="group ids"):
        outer_splits(data, groups=["a"])
    with pytest.raises(ConfigError, match="test_fraction"):
        outer_splits(data, test_fraction=0.02)
    with pytest.raises(DataError, match="under 2"):
        outer_splits(data, "kfold", folds=20)


def test_published_omitrans_split_leaks_patients_and_grouped_kfold_does_not():
    from tests.conftest import SHARED_DATA

    root = SHARED_DATA / "omitrans_split"
    if not (root / "sample_id_all.tsv").is_file():
        pytest.skip("../shared/data/omitrans_split is not present")
    all_ids = [line.split()[0] for line in (root / "sample_id_all.tsv").read_text().splitlines() if line.strip()]
    test = {line.split()[0] for line in (root / "sample_id_testset.tsv").read_text().splitlines() if line.strip()}
    groups = tcga_patient_groups(all_ids)
    patient = dict(zip(all_ids, groups.tolist()))
    published = Split(tuple(s for s in all_ids if s not in test), (), tuple(sorted(test)))
    assert len(leaky_test_samples(published, patient)) > 0  # tumour and normal of one patient on both sides
    data = _data(all_ids)
    for sp in outer_splits(data, "kfold", folds=5, groups=groups, val_fraction=0.1):
        assert leaky_test_samples(sp, patient) == ()
        assert {patient[s] for s in sp.train}.isdisjoint({patient[s] for s in sp.val})
