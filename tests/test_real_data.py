"""The real TCGA BRCA cohort from ../shared/data (skipped cleanly where it is absent)."""

import numpy as np
import pytest
from click.testing import CliRunner

from omibench.cli import cli
from omibench.config import load_config
from omibench.contract.registry import load_registry
from omibench.run.preparation import prepare
from omibench.store import open_store

from .conftest import REPO


def test_brca_loads_pairs_and_splits(brca_dir):
    cfg = load_config(REPO / "experiments" / "brca.yaml", [f"data.root={brca_dir}"])
    prepared = prepare(cfg, load_registry())
    n = prepared.train.n_samples + prepared.val.n_samples + prepared.test.n_samples
    assert n == 348
    assert prepared.train.b.shape[1] == 574 and prepared.train.a.shape[1] == 645
    assert 0.0 < prepared.train.b.min() and prepared.train.b.max() < 1.0  # beta values
    # PAM50 stratification: each class keeps its share of the test split (within one sample)
    labels = np.concatenate([p.labels for p in (prepared.train, prepared.val, prepared.test)])
    for cls in {lab for lab in labels if lab is not None}:
        share = np.mean(labels == cls)
        assert abs(np.mean(prepared.test.labels == cls) - share) <= 1.5 / prepared.test.n_samples


def test_brca_linear_regression_end_to_end(brca_dir, tmp_path):
    result = CliRunner().invoke(
        cli,
        [
            "run",
            str(REPO / "experiments" / "brca.yaml"),
            "--store",
            str(tmp_path),
            "--set",
            f"data.root={brca_dir}",
            "--set",
            "translators=[{name: linear_regression}]",
            "--set",
            "seeds=[0]",
            "--set",
            "downstream.epochs=[10,10,20]",
            "--set",
            "downstream.decay_epochs=10",
        ],
    )
    assert result.exit_code == 0, result.output
    store = open_store(tmp_path)
    runs = {r.tags.level.value: r for r in store.search(store.experiment_id("tcga_brca", create=False))}
    run, reference = runs["summary"], runs["reference"]
    assert run.tags.dataset.endswith("tcga_brca_lockdunson")
    # Table 3 on PAM50: the classifier of real expression beats the majority class (34 LumA of 68)
    assert reference.metrics["downstream/accuracy"] > 34 / 68
    assert reference.metrics["downstream/n_samples"] == 68  # 2 unlabelled test samples left out
    assert 0.0 <= run.metrics["downstream/f1"] <= 1.0
    # minimum-norm LR overfits 574 CpGs on 243 samples: clearly worse than the mean on held-out genes
    assert run.metrics["test/median_r2_featurewise"] < 0.0
    assert run.metrics["val/mse"] > 0


@pytest.mark.slow
def test_brca_lasso_beats_linear_regression(brca_dir, tmp_path):
    result = CliRunner().invoke(
        cli,
        [
            "run",
            str(REPO / "experiments" / "brca.yaml"),
            "--store",
            str(tmp_path),
            "--set",
            f"data.root={brca_dir}",
            "--set",
            "seeds=[0]",
            "--set",
            "translators=[{name: linear_regression}, {name: lasso}]",
        ],
    )
    assert result.exit_code == 0, result.output
    store = open_store(tmp_path)
    metrics = {r.label: r.metrics for r in store.search(store.experiment_id("tcga_brca", create=False))}
    assert (
        metrics["lasso"]["test/median_r2_featurewise"]
        > metrics["linear_regression"]["test/median_r2_featurewise"] + 0.2
    )


@pytest.mark.parametrize("name", ["brca", "laml", "coad", "rosmap"])
def test_every_shipped_cohort_experiment_prepares(name, tmp_path, monkeypatch):
    """Each experiment YAML over ../shared/data reads, pairs, splits and preprocesses as shipped
    (its data only; the translators are not fitted): a reader change that refuses a real file
    (TCGA LAML repeats two gene symbols) fails here, not in a user's run."""
    from omibench.run.setup import prepare_experiment

    from .conftest import SHARED_DATA

    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present")
    monkeypatch.chdir(REPO)  # the YAMLs name ../shared/data relative to the repository
    prepared, _, _ = prepare_experiment(REPO / "experiments" / f"{name}.yaml", store=tmp_path, data_only=True)
    assert prepared.train.n_samples > 0 and prepared.test.n_samples > 0
    assert prepared.train.a.shape[1] == prepared.test.a.shape[1] > 0
