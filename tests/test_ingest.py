"""Real-data ingestion: Xena-layout fixtures, TCGA barcodes, feature steps, location order, caches."""

import gzip

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from omibench import ConfigError, DataError
from omibench.cli import cli
from omibench.config import load_config
from omibench.contract.registry import load_registry
from omibench.data import Preprocessor, make_synthetic
from omibench.data.annotation import location_order
from omibench.data.steps import build_steps
from omibench.data.tabular import read_paired_files
from omibench.run.preparation import prepare

from .conftest import REPO, SHARED_DATA, small_experiment

ANNOTATION = SHARED_DATA / "annotation"


def _xena(df: pd.DataFrame, path):
    """Write samples x features as a gzipped Xena matrix: features x samples, NA for missing."""
    with gzip.open(path, "wt") as fh:
        df.T.to_csv(fh, sep="\t", na_rep="NA", index_label="sample")


@pytest.fixture
def xena(tmp_path):
    rng = np.random.default_rng(0)
    barcodes = [f"TCGA-AB-{i:04d}-01A" for i in range(12)]
    b = pd.DataFrame(rng.random((12, 6)), index=barcodes, columns=[f"cg{i:08d}" for i in range(6)])
    a = pd.DataFrame(rng.normal(5, 1, (12, 4)), index=barcodes, columns=[f"ENSG{i:011d}.3" for i in range(4)])
    b.iloc[2, 1] = np.nan
    b_ids = barcodes[:10] + ["TCGA-AB-0099-01A"]  # two A samples missing in B, one extra in B
    b = pd.concat([b.iloc[:10], pd.DataFrame(rng.random((1, 6)), index=["TCGA-AB-0099-01A"], columns=b.columns)])
    a.index = [f"{s}-11R-A00Z-07" for s in a.index]  # aliquot barcodes on the expression side
    a = pd.concat([a, a.iloc[[0]].rename(index={a.index[0]: "TCGA-AB-0000-01B-22R-A00Z-07"})])  # a second vial
    _xena(b, tmp_path / "B.tsv.gz")
    _xena(a, tmp_path / "A.tsv.gz")
    return tmp_path, b_ids


def test_xena_fixture_pairs_on_sample_barcodes(xena, caplog):
    root, _ = xena
    data = read_paired_files(root / "B.tsv.gz", root / "A.tsv.gz", match="tcga_sample")
    assert data.n_samples == 10
    assert data.sample_ids[0] == "TCGA-AB-0000-01"
    assert np.isnan(data.b).sum() == 1  # the NA cell survives for imputation
    text = caplog.text
    assert "share a barcode with an earlier one" in text  # the second vial
    assert "1 samples have no match" in text and "2 samples have no match" in text
    with pytest.raises(DataError, match="share no sample ids"):
        read_paired_files(root / "B.tsv.gz", root / "A.tsv.gz")  # raw aliquot ids do not pair


def test_steps_fit_on_training_rows_only():
    rng = np.random.default_rng(1)
    train = rng.normal(size=(20, 5)).astype(np.float32)
    train[:, 0] *= 0.01  # low variance in training
    train[:3, 1] = np.nan  # 15% missing in training
    ids = np.array([f"f{i}" for i in range(5)], dtype=object)
    steps = build_steps([{"max_missing": 0.1}, {"variance": {"min": 0.05}}], "b")
    x, kept = train, ids
    for s in steps:
        x, kept = s.fit(x, kept).apply(x, kept)
    assert list(kept) == ["f2", "f3", "f4"]
    test = rng.normal(size=(4, 5)).astype(np.float32) * 100  # test rows never change the choice
    test_ids = ids
    for s in steps:
        test, test_ids = s.apply(test, test_ids)
    assert list(test_ids) == ["f2", "f3", "f4"]
    top = build_steps([{"variance": {"top_k": 2}}], "a")[0].fit(np.nan_to_num(train), ids)
    assert sorted(ids[top.keep_]) == sorted(ids[np.argsort(-np.nanvar(np.nan_to_num(train), axis=0))[:2]])


def test_transforms_and_bad_steps():
    (log1p,) = build_steps([{"transform": "log1p"}], "a")
    x, _ = log1p.apply(np.array([[0.0, np.e - 1]]), np.array(["a", "b"]))
    np.testing.assert_allclose(x, [[0.0, 1.0]], rtol=1e-6)
    (to_m,) = build_steps([{"transform": "beta_to_m"}], "b")
    (to_b,) = build_steps([{"transform": "m_to_beta"}], "b")
    beta = np.array([[0.2, 0.5, 0.9]], dtype=np.float32)
    np.testing.assert_allclose(to_b.apply(*to_m.apply(beta, np.array(["x"] * 3)))[0], beta, rtol=1e-5)
    with pytest.raises(ConfigError, match="preprocess.b.0"):
        build_steps([{"variance": {"min": 0.1}, "transform": "log1p"}], "b")
    with pytest.raises(ConfigError, match="preprocess.a.0.transform"):
        build_steps([{"transform": "sqrt"}], "a")


@pytest.mark.skipif(not ANNOTATION.is_dir(), reason="../shared/data is not present")
def test_location_order_follows_the_annotation_tables():
    probes = pd.read_csv(ANNOTATION / "hm450_probe_locations_hg19.csv.gz", nrows=200_000)
    picked = probes.sample(60, random_state=0)
    ids = np.array(list(picked["probe"]) + ["not_a_probe"], dtype=object)
    located, missing = location_order(ids, str(ANNOTATION / "hm450_probe_locations_hg19.csv.gz"))
    assert list(ids[missing]) == ["not_a_probe"]
    rank = {c: i for i, c in enumerate([f"chr{i}" for i in range(1, 23)] + ["chrX", "chrY"])}
    keyed = picked.set_index("probe")
    order = [(rank[keyed.loc[p, "chr"]], keyed.loc[p, "pos"]) for p in ids[located]]
    assert order == sorted(order)
    genes = np.array(["ENSG00000141510.11", "TP53", "BRCA1", "ENSG00000012048", "XIST"], dtype=object)
    located, missing = location_order(genes, str(ANNOTATION / "gene_location_hg19.csv.gz"))
    # TP53 (chr17:7.57 Mb, by Ensembl id with a version, and by symbol), BRCA1 (chr17:41.2 Mb), XIST (chrX)
    assert list(genes[located]) == ["ENSG00000141510.11", "TP53", "BRCA1", "ENSG00000012048", "XIST"]
    assert len(missing) == 0


@pytest.mark.skipif(not (SHARED_DATA / "rosmap_mogonet").is_dir(), reason="../shared/data is not present")
def test_rosmap_uses_the_given_split():
    cfg = load_config(REPO / "experiments" / "rosmap.yaml", [f"data.root={SHARED_DATA / 'rosmap_mogonet'}"])
    p = prepare(cfg, load_registry())
    assert p.test.n_samples == 106 and p.train.n_samples + p.val.n_samples == 245
    assert all(s.startswith("te") for s in p.test.sample_ids)
    assert set(p.test.labels) == {"AD", "NC"}
    assert p.train.b.shape[1] == 200 and p.train.a.shape[1] == 200


def test_preprocessor_runs_steps_then_imputation(tiny):
    b = tiny.b.copy()
    b[:, 0] = np.nan  # never observed: dropped by max_missing
    b[0, 3] = np.nan
    data = type(tiny)(
        b=b,
        a=tiny.a,
        sample_ids=tiny.sample_ids,
        b_features=tiny.b_features,
        a_features=tiny.a_features,
        labels=tiny.labels,
        name="t",
    )
    pre = Preprocessor("mean", build_steps([{"max_missing": 0.5}], "b"), build_steps([{"transform": "log1p"}], "a"))
    out = pre.fit(data.subset(np.arange(60))).transform(data.subset(np.arange(60, 80)), "test")
    assert tiny.b_features[0] not in set(out.b_features) and out.b.shape[1] == b.shape[1] - 1
    np.testing.assert_allclose(out.a, np.log1p(tiny.a[60:80]), rtol=1e-6)


def test_cache_is_reused_and_keyed_on_the_files(tmp_path, write_config, caplog):
    rng = np.random.default_rng(0)
    ids = [f"s{i}" for i in range(30)]
    pd.DataFrame(rng.random((30, 6)), index=pd.Index(ids, name="id")).to_csv(tmp_path / "B.csv")
    pd.DataFrame(rng.normal(size=(30, 4)), index=pd.Index(ids, name="id")).to_csv(tmp_path / "A.csv")
    cfg = load_config(
        write_config(small_experiment(data={"source": "files", "root": str(tmp_path), "b": "B.csv", "a": "A.csv"}))
    )
    cache = tmp_path / "cache"
    first = prepare(cfg, load_registry(), cache)
    assert len(list(cache.iterdir())) == 1
    caplog.set_level("INFO")
    second = prepare(cfg, load_registry(), cache)
    assert "cache hit" in caplog.text
    assert second.dataset_hash == first.dataset_hash and second.split.hash == first.split.hash
    np.testing.assert_array_equal(second.test.a, first.test.a)
    pd.DataFrame(rng.normal(size=(30, 4)), index=pd.Index(ids, name="id")).to_csv(tmp_path / "A.csv")  # new content
    third = prepare(cfg, load_registry(), cache)
    assert third.dataset_hash != first.dataset_hash and len(list(cache.iterdir())) == 2


def test_anndata_and_mudata_sources(tmp_path, write_config):
    anndata = pytest.importorskip("anndata")
    mudata = pytest.importorskip("mudata")
    d = make_synthetic(n_samples=40, n_cpgs=12, n_genes=8, seed=0)
    obs = pd.DataFrame({"cls": d.labels}, index=d.sample_ids.astype(str))
    meth = anndata.AnnData(d.b, obs=obs, var=pd.DataFrame(index=d.b_features.astype(str)))
    rna = anndata.AnnData(d.a[::-1].copy(), obs=obs.iloc[::-1], var=pd.DataFrame(index=d.a_features.astype(str)))
    meth.write_h5ad(tmp_path / "meth.h5ad")
    rna.write_h5ad(tmp_path / "rna.h5ad")
    mudata.MuData({"methylation": meth, "rna": rna}).write(tmp_path / "both.h5mu")
    for block in ({"b": "meth.h5ad", "a": "rna.h5ad"}, {"mudata": "both.h5mu"}):
        cfg = load_config(
            write_config(
                small_experiment(data={"source": "anndata", "root": str(tmp_path), "label_column": "cls", **block})
            )
        )
        p = prepare(cfg, load_registry())
        assert p.train.n_samples + p.val.n_samples + p.test.n_samples == 40
        row = list(d.sample_ids).index(p.test.sample_ids[0])
        np.testing.assert_allclose(p.test.a[0], d.a[row])
        np.testing.assert_allclose(p.test.b[0], d.b[row])
        assert p.test.labels[0] == d.labels[row]


def test_data_inspect_cli(xena):
    root, _ = xena
    out = CliRunner().invoke(cli, ["data", "inspect", str(root / "B.tsv.gz")])
    assert out.exit_code == 0
    assert "samples in columns (Xena layout)" in out.output and "missing values: 1" in out.output
    assert "11 rows" not in out.output  # 6 feature rows x 11 sample columns


def test_numeric_tables_are_parsed_straight_to_float32(tmp_path):
    import pandas as pd

    from omibench.data.tabular import read_table

    frame = pd.DataFrame(
        np.random.default_rng(0).random((5, 4)), index=[f"s{i}" for i in range(5)], columns=[f"cg{i}" for i in range(4)]
    )
    frame.iloc[1, 2] = np.nan
    frame.to_csv(tmp_path / "m.csv")
    parsed = read_table(tmp_path / "m.csv", numeric=True)
    assert set(parsed.dtypes) == {np.dtype("float32")} and parsed.isna().sum().sum() == 1
    frame.astype(object).assign(cg0=["x", 1, 2, 3, 4]).to_csv(tmp_path / "bad.csv")
    text = read_table(tmp_path / "bad.csv", numeric=True)["cg0"]  # read as text, then named by the caller
    assert not pd.api.types.is_numeric_dtype(text)  # object under pandas 2, str under pandas 3
