import gzip

import numpy as np
import pandas as pd
import pytest

from omibench import DataError
from omibench.data import Preprocessor, make_split, make_synthetic
from omibench.data.sources import read_labels
from omibench.data.tabular import read_paired_files


def test_synthetic_is_deterministic_and_methylation_like():
    d1 = make_synthetic(n_samples=50, n_cpgs=40, n_genes=30, seed=3)
    d2 = make_synthetic(n_samples=50, n_cpgs=40, n_genes=30, seed=3)
    assert d1.fingerprint() == d2.fingerprint()
    assert d1.fingerprint() != make_synthetic(n_samples=50, n_cpgs=40, n_genes=30, seed=4).fingerprint()
    assert d1.b.dtype == np.float32 and d1.a.dtype == np.float32
    assert d1.b.min() >= 0 and d1.b.max() <= 1
    hist, _ = np.histogram(d1.b, bins=5, range=(0, 1))
    assert hist[0] > hist[2] and hist[4] > hist[2]  # bimodal: betas pile up near 0 and 1
    assert d1.a.min() >= 0 and d1.a.max() < 30  # log-scale expression


def test_synthetic_classes_shift_both_omics():
    d = make_synthetic(n_samples=400, n_cpgs=50, n_genes=50, n_classes=2, seed=0)
    is0 = d.labels == "class0"
    assert np.abs(d.a[is0].mean(0) - d.a[~is0].mean(0)).max() > 0.3
    assert np.abs(d.b[is0].mean(0) - d.b[~is0].mean(0)).max() > 0.05


def _write(df: pd.DataFrame, path, sep=","):
    if str(path).endswith(".gz"):
        with gzip.open(path, "wt") as fh:
            df.to_csv(fh, sep=sep)
    elif str(path).endswith(".parquet"):
        df.to_parquet(path)
    else:
        df.to_csv(path, sep=sep)


@pytest.fixture
def frames():
    rng = np.random.default_rng(0)
    samples = [f"TCGA-{i:02d}" for i in range(8)]
    b = pd.DataFrame(rng.random((8, 5)), index=pd.Index(samples, name="sample"), columns=[f"cg{i}" for i in range(5)])
    a = pd.DataFrame(
        rng.normal(size=(8, 4)), index=pd.Index(samples, name="sample"), columns=[f"g{i}" for i in range(4)]
    )
    return b, a


def test_xena_layout_gz_tsv_and_parquet_pair_by_sample(tmp_path, frames):
    b, a = frames
    _write(b.T, tmp_path / "B.tsv.gz", sep="\t")  # Xena: features x samples
    _write(a.iloc[::-1], tmp_path / "A.parquet")  # samples x features, other order
    d = read_paired_files(tmp_path / "B.tsv.gz", tmp_path / "A.parquet")
    assert list(d.sample_ids) == list(a.index[::-1])
    np.testing.assert_allclose(d.b, b.loc[d.sample_ids].to_numpy(), rtol=1e-6)
    np.testing.assert_allclose(d.a, a.loc[d.sample_ids].to_numpy(), rtol=1e-6)


def test_unpaired_samples_dropped_or_rejected(tmp_path, frames, caplog):
    b, a = frames
    _write(b.iloc[:6], tmp_path / "B.csv")
    _write(a.iloc[2:], tmp_path / "A.csv")
    d = read_paired_files(tmp_path / "B.csv", tmp_path / "A.csv")
    assert d.n_samples == 4
    assert "2 samples have no match" in caplog.text
    with pytest.raises(DataError, match="strict"):
        read_paired_files(tmp_path / "B.csv", tmp_path / "A.csv", strict=True)


def test_non_numeric_cell_names_sample_and_feature(tmp_path, frames):
    b, a = frames
    b = b.astype(object)
    b.loc["TCGA-03", "cg2"] = "high"
    _write(b, tmp_path / "B.csv")
    _write(a, tmp_path / "A.csv")
    with pytest.raises(DataError, match=r"B.csv: non-numeric value 'high' for sample 'TCGA-03', feature 'cg2'"):
        read_paired_files(tmp_path / "B.csv", tmp_path / "A.csv")


def test_infinite_value_is_rejected(tmp_path, frames):
    b, a = frames
    a.loc["TCGA-05", "g1"] = np.inf
    _write(b, tmp_path / "B.csv")
    _write(a, tmp_path / "A.csv")
    with pytest.raises(DataError, match=r"A.csv: infinite value for sample 'TCGA-05', feature 'g1'"):
        read_paired_files(tmp_path / "B.csv", tmp_path / "A.csv")


def test_duplicate_sample_ids_rejected(tmp_path, frames):
    b, a = frames
    b.index = list(b.index[:-1]) + [b.index[0]]
    _write(b, tmp_path / "B.csv")
    _write(a, tmp_path / "A.csv")
    with pytest.raises(DataError, match="duplicate (row|sample) id 'TCGA-00'"):
        read_paired_files(tmp_path / "B.csv", tmp_path / "A.csv", orientation="samples_in_rows")


def test_no_shared_samples(tmp_path, frames):
    b, a = frames
    a.index = [f"X{i}" for i in range(len(a))]
    _write(b, tmp_path / "B.csv")
    _write(a, tmp_path / "A.csv")
    with pytest.raises(DataError, match="share no sample ids"):
        read_paired_files(tmp_path / "B.csv", tmp_path / "A.csv")


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="nope.csv: file not found"):
        read_paired_files(tmp_path / "nope.csv", tmp_path / "A.csv")


def test_labels_for_unknown_samples_ignored_and_counted(tmp_path, caplog):
    caplog.set_level("INFO")
    pd.DataFrame({"sample": ["a", "b", "zz"], "y": [1, 2, 1]}).to_csv(tmp_path / "labels.csv", index=False)
    labels = read_labels(tmp_path / "labels.csv", "y", np.array(["a", "b", "c"], dtype=object))
    assert list(labels) == ["1", "2", None]
    assert "1 label rows name samples outside the paired data" in caplog.text
    pd.DataFrame({"sample": ["a", "b"], "y": ["L", None]}).to_csv(tmp_path / "ok.csv", index=False)
    labels = read_labels(tmp_path / "ok.csv", None, np.array(["a", "b", "c"], dtype=object))
    assert list(labels) == ["L", None, None]


def test_nan_needs_imputation_and_imputation_uses_training_rows_only(tiny):
    b = tiny.b.copy()
    b[5, 2] = np.nan
    b[70, 2] = np.nan
    data = type(tiny)(
        b=b,
        a=tiny.a,
        sample_ids=tiny.sample_ids,
        b_features=tiny.b_features,
        a_features=tiny.a_features,
        labels=tiny.labels,
        name="t",
    )
    train, test = data.subset(np.arange(60)), data.subset(np.arange(60, 80))
    with pytest.raises(DataError, match="missing values in B .*impute: mean"):
        Preprocessor("none").fit(train).transform(train, "train")
    # a huge value in the test rows must not leak into the fill value
    test.b[0, 2] = 1000.0
    pre = Preprocessor("mean").fit(train)
    filled = pre.transform(test, "test")
    expected = np.nanmean(train.b[:, 2])
    assert filled.b[10, 2] == pytest.approx(expected)
    assert not np.isnan(pre.transform(train, "train").b).any()


def test_split_is_deterministic_disjoint_and_stratified(tiny):
    s1 = make_split(tiny, seed=0, val_fraction=0.2, test_fraction=0.25)
    s2 = make_split(tiny, seed=0, val_fraction=0.2, test_fraction=0.25)
    assert s1 == s2 and s1.hash == s2.hash
    assert make_split(tiny, seed=1, val_fraction=0.2, test_fraction=0.25).hash != s1.hash
    parts = [set(s1.train), set(s1.val), set(s1.test)]
    assert sum(map(len, parts)) == tiny.n_samples and set.union(*parts) == set(tiny.sample_ids)
    assert len(s1.test) == 20 and len(s1.val) == 16
    labels = dict(zip(tiny.sample_ids, tiny.labels))
    for cls in set(tiny.labels):
        share = np.mean(tiny.labels == cls)
        test_share = np.mean([labels[s] == cls for s in s1.test])
        assert abs(test_share - share) <= 1 / len(s1.test) + 1e-9


def test_split_from_test_ids(tiny):
    ids = list(tiny.sample_ids[:10])
    s = make_split(tiny, seed=0, val_fraction=0.1, test_fraction=0.5, test_ids=ids)
    assert set(s.test) == set(ids)
    with pytest.raises(DataError, match="2 test ids are not samples of the data"):
        make_split(tiny, test_ids=ids + ["nope1", "nope2"])
