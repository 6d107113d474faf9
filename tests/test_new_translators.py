"""svd_krr, local and the controls (random_profile, class_mean): contract, signal, persistence, hand checks."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
import pytest

from omibench import FitContext, PluginError
from omibench.data.paired import PairedData
from omibench.data.splits import make_split
from omibench.data.synthetic import make_synthetic

os.environ.setdefault("OMP_NUM_THREADS", "1")

REPO = Path(__file__).resolve().parents[1]
ANNOTATION = REPO.parent / "shared" / "data" / "annotation"


def _plugin(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"_test_plugin_{name}", REPO / "plugins" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


controls, svd_krr, local = _plugin("controls"), _plugin("svd_krr"), _plugin("local")
SVD_SMALL = {
    "n_components_in_grid": [4, 16],
    "n_components_out": 16,
    "bandwidths": [1.0, 4.0, 16.0],
    "n_alphas": 6,
    "n_members": 3,
}


def _parts(data: PairedData, seed: int = 0) -> tuple[PairedData, PairedData, PairedData]:
    rows = make_split(data, seed=seed, val_fraction=0.15, test_fraction=0.2).rows(data)
    return data.subset(rows["train"]), data.subset(rows["val"]), data.subset(rows["test"])


def _median_r2(pred: np.ndarray, y: np.ndarray) -> float:
    ss = ((y - y.mean(axis=0)) ** 2).sum(axis=0)
    ok = ss > 0
    return float(np.median(1.0 - ((y - pred) ** 2).sum(axis=0)[ok] / ss[ok]))


def _local_cohort(
    tmp_path: Path, n: int = 260, genes: int = 24, per_gene: int = 5, noise_cpgs: int = 80, seed: int = 0
) -> tuple[PairedData, str, str]:
    """Each gene driven by its own few CpGs (within 3 kb of its start) plus a shared factor; location
    tables written in the real files' column layouts."""
    rng = np.random.default_rng(seed)
    gene_names = [f"GENE{g}" for g in range(genes)]
    starts = 2_000_000 * (np.arange(genes) + 1)
    cpg_pos = []
    for g in range(genes):
        for _ in range(per_gene):
            cpg_pos.append(("1", int(starts[g] + rng.integers(-3000, 3000))))
    for j in range(noise_cpgs):
        cpg_pos.append(("2", int(1_000_000 + 10_000 * j)))
    cpg_names = [f"cg{i:08d}" for i in range(len(cpg_pos))]
    probe_rows = [
        {"probe": c, "chr": f"chr{ch}", "pos": pos, "strand": "+"} for c, (ch, pos) in zip(cpg_names, cpg_pos)
    ]
    probe_table, gene_table = tmp_path / "probes.csv", tmp_path / "genes.csv"
    pd.DataFrame(probe_rows).to_csv(probe_table, index=False)
    pd.DataFrame(
        {
            "chromosome_name": "1",
            "start_position": starts,
            "end_position": starts + 5000,
            "strand": 1,
            "ensembl_gene_id": [f"ENSG{g:011d}" for g in range(genes)],
            "external_gene_name": gene_names,
        }
    ).to_csv(gene_table, index=False)
    factor = rng.normal(size=(n, 1))
    b = rng.beta(2, 2, size=(n, len(cpg_names))) * 0.6 + 0.2 * (1 / (1 + np.exp(-factor)))
    a = np.empty((n, genes))
    for g in range(genes):
        own = b[:, g * per_gene : (g + 1) * per_gene]
        a[:, g] = 5.0 + own @ rng.normal(0, 3.0, per_gene) + 0.8 * factor[:, 0] + rng.normal(0, 0.3, n)
    data = PairedData(
        b=b.astype(np.float32),
        a=a.astype(np.float32),
        sample_ids=np.array([f"s{i}" for i in range(n)]),
        b_features=np.array(cpg_names),
        a_features=np.array(gene_names),
        name="local_cohort",
    )
    return data, str(probe_table), str(gene_table)


# --- svd_krr ------------------------------------------------------------------------------------


def test_svd_krr_shape_signal_and_choices():
    train, val, test = _parts(make_synthetic(n_samples=300, n_cpgs=120, n_genes=40, n_classes=4, seed=3))
    model = svd_krr.SvdKrr(**SVD_SMALL).fit(train, val, FitContext(seed=0))
    pred = model.predict(test.b)
    assert pred.shape == test.a.shape and pred.dtype == np.float32 and np.isfinite(pred).all()
    base = np.broadcast_to(train.a.mean(axis=0), test.a.shape)
    assert _median_r2(pred, test.a) > _median_r2(base, test.a) + 0.2
    chosen = model.chosen()
    assert chosen["n_components_in"] in (4, 16) and chosen["bandwidth"] in (1.0, 4.0, 16.0)
    assert 1 <= chosen["n_components_out"] <= 16
    assert len(model.member_rows_) == 3 and not model.member_rows_.all(axis=0).any()  # each row left out once


def test_svd_krr_round_trip_and_seed(tmp_path):
    train, val, test = _parts(make_synthetic(n_samples=120, n_cpgs=50, n_genes=20, seed=4))
    model = svd_krr.SvdKrr(**SVD_SMALL).fit(train, val, FitContext(seed=5))
    model.save(tmp_path / "m")
    loaded = svd_krr.SvdKrr.load(tmp_path / "m")
    np.testing.assert_allclose(loaded.predict(test.b), model.predict(test.b), rtol=1e-6, atol=1e-6)
    again = svd_krr.SvdKrr(**SVD_SMALL).fit(train, val, FitContext(seed=5))
    np.testing.assert_array_equal(again.predict(test.b), model.predict(test.b))
    assert svd_krr.SvdKrr.seed_dependent


def test_svd_krr_single_member_matches_kernel_ridge_by_hand():
    train, val, test = _parts(make_synthetic(n_samples=80, n_cpgs=30, n_genes=6, seed=6))
    params = {"n_components_in": 5, "n_components_out": 5, "bandwidth": 2.0, "alpha": 0.01, "n_members": 1}
    model = svd_krr.SvdKrr(**params).fit(train, val, FitContext(seed=0))
    z = model.z_train_.astype(np.float64)
    t = (train.a - model.y_mean_).astype(np.float64) @ model.w_
    k = np.exp(-model.gamma_ * ((z[:, None, :] - z[None, :, :]) ** 2).sum(-1))
    dual = np.linalg.solve(k + 0.01 * len(z) * np.eye(len(z)), t - t.mean(axis=0))
    zq = ((test.b - model.x_mean_) / model.x_scale_) @ model.v_
    kq = np.exp(-model.gamma_ * ((zq[:, None, :] - z[None, :, :]) ** 2).sum(-1))
    expected = (kq @ dual + t.mean(axis=0)) @ model.w_.T + model.y_mean_
    np.testing.assert_allclose(model.predict(test.b), expected, rtol=1e-3, atol=1e-3)


def test_svd_krr_refuses_empty_validation_in_one_line():
    data = make_synthetic(n_samples=40, n_cpgs=10, n_genes=5, seed=0)
    empty = data.subset([])
    reason = svd_krr.SvdKrr.skip_reason(dict(svd_krr.SvdKrr.default_params), data, empty)
    assert reason and "validation" in reason and "\n" not in reason
    with pytest.raises(PluginError, match="validation"):
        svd_krr.SvdKrr().fit(data, empty, FitContext())


# --- local ----------------------------------------------------------------------------------------


def test_local_beats_train_mean_and_picks_a_small_window(tmp_path):
    data, probes, genes = _local_cohort(tmp_path)
    train, val, test = _parts(data)
    model = local.Local(probe_table=probes, gene_table=genes, window_grid=[5_000, 1_000_000]).fit(
        train, val, FitContext()
    )
    pred = model.predict(test.b)
    assert pred.shape == test.a.shape and pred.dtype == np.float32
    base = np.broadcast_to(train.a.mean(axis=0), test.a.shape)
    assert _median_r2(pred, test.a) > _median_r2(base, test.a) + 0.3
    chosen = model.chosen()
    assert chosen["window"] == 5_000 and chosen["genes_with_cpgs"] == 24 and chosen["median_cpgs_per_gene"] == 5


def test_local_matches_ridge_with_unpenalised_components_by_hand(tmp_path):
    data, probes, genes = _local_cohort(tmp_path, n=90, genes=4, per_gene=3, noise_cpgs=10)
    train, val, test = _parts(data)
    alpha = 0.05
    model = local.Local(probe_table=probes, gene_table=genes, window=5_000, alpha=alpha, n_global=2).fit(
        train, val, FitContext()
    )
    n = train.n_samples
    xs = (train.b.astype(np.float64) - model.x_mean_) / model.x_scale_
    z = xs @ model.v_.astype(np.float64)
    xq = (test.b.astype(np.float64) - model.x_mean_) / model.x_scale_
    for g in range(4):
        cols = np.arange(g * 3, g * 3 + 3)
        # min ||y - m - Z β - X_S c||² + α n ||c||² (β, m unpenalised): least squares on an augmented system
        design = np.hstack([np.ones((n, 1)), z, xs[:, cols]])
        pen = np.hstack([np.zeros((3, 1 + z.shape[1])), np.sqrt(alpha * n) * np.eye(3)])
        coef = np.linalg.lstsq(np.vstack([design, pen]), np.concatenate([train.a[:, g], np.zeros(3)]), rcond=None)[0]
        expected = np.hstack([np.ones((len(xq), 1)), xq @ model.v_.astype(np.float64), xq[:, cols]]) @ coef
        np.testing.assert_allclose(model.predict(test.b)[:, g], expected, rtol=1e-3, atol=1e-3)


def test_local_gene_level_methylation_uses_the_genes_own_feature():
    base = make_synthetic(n_samples=100, n_cpgs=30, n_genes=10, seed=2)
    names = base.b_features.copy()
    names[:10] = base.a_features
    data = PairedData(b=base.b, a=base.a, sample_ids=base.sample_ids, b_features=names, a_features=base.a_features)
    train, val, _ = _parts(data)
    model = local.Local(n_global=0).fit(train, val, FitContext())
    assert model.chosen()["genes_with_cpgs"] == 10
    assert model.cpg_idx_.tolist() == list(range(10))


def test_local_refuses_without_locations_in_one_line():
    data = make_synthetic(n_samples=40, n_cpgs=10, n_genes=5, seed=0)
    train, val, _ = _parts(data)
    reason = local.Local.skip_reason({}, train, val)
    assert reason and reason.startswith("local:") and "probe_table" in reason and "\n" not in reason
    with pytest.raises(PluginError, match="no gene has located methylation features"):
        local.Local().fit(train, val, FitContext())
    assert local.Local.skip_reason({"require_locations": False}, train, val) is None


def test_local_round_trip_and_determinism(tmp_path):
    data, probes, genes = _local_cohort(tmp_path, n=100, genes=6)
    train, val, test = _parts(data)
    model = local.Local(probe_table=probes, gene_table=genes).fit(train, val, FitContext(seed=1))
    model.save(tmp_path / "m")
    loaded = local.Local.load(tmp_path / "m")
    np.testing.assert_allclose(loaded.predict(test.b), model.predict(test.b), rtol=1e-6, atol=1e-6)
    other = local.Local(probe_table=probes, gene_table=genes).fit(train, val, FitContext(seed=2))
    np.testing.assert_array_equal(other.predict(test.b), model.predict(test.b))


def test_local_on_real_annotation_rows():
    probe_table = ANNOTATION / "hm450_probe_locations_hg19.csv.gz"
    gene_table = ANNOTATION / "gene_location_hg19.csv.gz"
    if not (probe_table.is_file() and gene_table.is_file()):
        pytest.skip("../shared/data/annotation is not present")
    probes = pd.read_csv(probe_table)
    gtab = pd.read_csv(gene_table)
    picked = gtab[gtab["external_gene_name"].isin(["BRCA1", "FOXA1", "GATA3"])].drop_duplicates("external_gene_name")
    assert len(picked) == 3
    window = 20_000
    cpgs: list[str] = []
    for _, row in picked.iterrows():
        same = probes[
            (probes["chr"] == f"chr{row['chromosome_name']}")
            & ((probes["pos"] - row["start_position"]).abs() <= window)
        ]
        assert len(same) >= 8
        cpgs += same["probe"].head(8).tolist()
    far = probes[probes["chr"] == "chr21"]["probe"].head(5).tolist()  # on no picked gene's chromosome
    b_features = np.array(cpgs + far)
    a_features = np.array([str(g) for g in picked["ensembl_gene_id"]])
    hoods = local.gene_neighbourhoods(b_features, a_features, str(probe_table), str(gene_table), window, 50)
    for g, (idx, dist) in enumerate(hoods):
        assert 1 <= len(idx) <= 8 and (dist <= window).all()
        assert set(idx.tolist()) <= set(range(8 * g, 8 * g + 8))  # exactly the CpGs picked near this gene
    rng = np.random.default_rng(0)
    n = 60
    b = rng.random((n, len(b_features))).astype(np.float32)
    a = (b[:, :24:8] * 3 + rng.normal(0, 0.1, (n, 3))).astype(np.float32)
    data = PairedData(
        b=b, a=a, sample_ids=np.array([f"s{i}" for i in range(n)]), b_features=b_features, a_features=a_features
    )
    train, val, test = _parts(data)
    model = local.Local(probe_table=str(probe_table), gene_table=str(gene_table), window=window, n_global=1).fit(
        train, val, FitContext()
    )
    assert model.predict(test.b).shape == (test.n_samples, 3)
    assert model.chosen()["genes_with_cpgs"] == 3


# --- controls -------------------------------------------------------------------------------------


def test_class_mean_equals_per_class_training_means_by_hand(tmp_path):
    data = make_synthetic(n_samples=90, n_cpgs=12, n_genes=8, n_classes=3, seed=5)
    train, val, test = _parts(data)
    model = controls.ClassMean().fit(train, val, FitContext())
    labels = test.labels.copy()
    labels[0], labels[1] = None, "never_seen"
    pred = model.predict_with_labels(test.b, labels)
    assert pred.shape == test.a.shape and pred.dtype == np.float32
    for i, lab in enumerate(labels):
        rows = [j for j, t in enumerate(train.labels) if t == lab]
        expected = train.a[rows].astype(np.float64).mean(axis=0) if rows else train.a.astype(np.float64).mean(axis=0)
        np.testing.assert_allclose(pred[i], expected, rtol=1e-5, atol=1e-5)
    assert controls.ClassMean.control and controls.ClassMean.uses_test_labels
    model.save(tmp_path / "m")
    np.testing.assert_array_equal(controls.ClassMean.load(tmp_path / "m").predict_with_labels(test.b, labels), pred)


def test_class_mean_refuses_to_predict_without_labels():
    data = make_synthetic(n_samples=60, n_cpgs=12, n_genes=8, seed=5)
    train, val, test = _parts(data)
    model = controls.ClassMean().fit(train, val, FitContext())
    with pytest.raises(PluginError, match="control.*labels"):
        model.predict(test.b)
    unlabelled = PairedData(
        b=train.b, a=train.a, sample_ids=train.sample_ids, b_features=train.b_features, a_features=train.a_features
    )
    assert "no labels" in controls.ClassMean.skip_reason({}, unlabelled, val)
    with pytest.raises(PluginError, match="no labels"):
        controls.ClassMean().fit(unlabelled, val, FitContext())


def test_class_mean_beats_train_mean_where_classes_differ():
    train, val, test = _parts(make_synthetic(n_samples=300, n_cpgs=20, n_genes=30, n_classes=4, seed=8))
    pred = controls.ClassMean().fit(train, val, FitContext()).predict_with_labels(test.b, test.labels)
    base = np.broadcast_to(train.a.mean(axis=0), test.a.shape)
    assert _median_r2(pred, test.a) > _median_r2(base, test.a) + 0.1


def test_random_profile_draws_training_rows_seeded_and_batch_free(tmp_path):
    train, val, test = _parts(make_synthetic(n_samples=120, n_cpgs=12, n_genes=8, seed=9))
    model = controls.RandomProfile().fit(train, val, FitContext(seed=0))
    pred = model.predict(test.b)
    assert pred.shape == test.a.shape and pred.dtype == np.float32
    rows = {tuple(r) for r in train.a.tolist()}
    assert all(tuple(r) in rows for r in pred.tolist())
    assert len({tuple(r) for r in pred.tolist()}) > test.n_samples // 2  # not one profile for all
    np.testing.assert_array_equal(model.predict(test.b[::-1])[::-1], pred)  # order and batch do not matter
    np.testing.assert_array_equal(controls.RandomProfile().fit(train, val, FitContext(seed=0)).predict(test.b), pred)
    assert not np.array_equal(controls.RandomProfile().fit(train, val, FitContext(seed=1)).predict(test.b), pred)
    model.save(tmp_path / "m")
    np.testing.assert_array_equal(controls.RandomProfile.load(tmp_path / "m").predict(test.b), pred)
    base = np.broadcast_to(train.a.mean(axis=0), test.a.shape)
    assert _median_r2(pred, test.a) < _median_r2(base, test.a)  # a control below the floor, as it should be


@pytest.mark.parametrize("cls", [svd_krr.SvdKrr, local.Local, controls.RandomProfile], ids=lambda c: c.name)
def test_conformance(cls):
    from omibench.contract.conformance import check_translator

    failed = [r for r in check_translator(cls) if not r.passed]
    assert not failed, failed


def test_end_to_end_through_the_cli_with_a_real_store(tmp_path, write_config):
    """svd_krr, local and random_profile run, are logged and score through `omibench run`."""
    from click.testing import CliRunner

    from omibench.cli import cli
    from omibench.contract.registry import load_registry
    from omibench.store import RunStatus, open_store

    data, probes, genes = _local_cohort(tmp_path, n=120, genes=8)
    pd.DataFrame(data.b, index=pd.Index(data.sample_ids, name="sample"), columns=data.b_features).to_csv(
        tmp_path / "b.csv"
    )
    pd.DataFrame(data.a, index=pd.Index(data.sample_ids, name="sample"), columns=data.a_features).to_csv(
        tmp_path / "a.csv"
    )
    extra: list[str] = []
    missing = [
        n
        for n in ("controls", "svd_krr", "local")
        if n not in load_registry().translators
        and not (n == "controls" and "random_profile" in load_registry().translators)
    ]
    if missing:  # not registered by entry point (yet): as local plugin files
        plugin_dir = tmp_path / "plugins"
        plugin_dir.mkdir()
        for name in missing:
            (plugin_dir / f"{name}.py").symlink_to(REPO / "plugins" / f"{name}.py")
        extra = ["--plugins-dir", str(plugin_dir)]
    cfg = write_config(
        {
            "name": "t",
            "data": {"source": "files", "root": str(tmp_path), "b": "b.csv", "a": "a.csv"},
            "split": {"seed": 0, "val_fraction": 0.2, "test_fraction": 0.2},
            "n_jobs": 1,
            "downstream": {"enabled": False},
            "translators": [
                {"name": "svd_krr", "params": SVD_SMALL},
                {"name": "local", "params": {"probe_table": probes, "gene_table": genes}},
                {"name": "random_profile"},
                {"name": "train_mean"},
            ],
        }
    )
    store = tmp_path / "store"
    result = CliRunner().invoke(cli, ["run", str(cfg), "--store", str(store), *extra], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    tracked = open_store(store)
    runs = tracked.search(tracked.experiment_id("t", create=False), status=RunStatus.FINISHED)
    r2 = {r.label: r.metrics["test/median_r2_featurewise"] for r in runs}
    assert set(r2) == {"svd_krr", "local", "random_profile", "train_mean"}
    assert r2["local"] > r2["train_mean"] + 0.3 and r2["svd_krr"] > r2["train_mean"]
    assert r2["random_profile"] < r2["train_mean"]
