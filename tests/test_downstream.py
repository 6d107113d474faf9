"""Table 3 (downstream classifier), the report and `omibench translate`."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from omibench.contract.registry import load_registry
from omibench.data import make_synthetic
from omibench.downstream.classifier import ClassifierSettings, OmiEmbedClassifier
from omibench.downstream.scoring import REFERENCE_LABEL, classification_scores
from omibench.run.translate import load_trained
from omibench.store import TAG
from omibench.store import MlflowStore as Tracker

from .conftest import small_experiment
from .test_cli import finished_runs, invoke

FAST = {
    "enabled": True,
    "epochs": [3, 3, 4],
    "decay_epochs": 2,
    "latent": 8,
    "batch_size": 16,
    "tsne": True,
    "top_genes": 3,
}


def test_auc_with_a_class_missing_from_the_test_split_is_explicit_not_minus_one():
    classes = ["a", "b", "c"]
    y = ["a", "a", "b", "b", "a"]
    proba = np.array([[0.7, 0.2, 0.1], [0.4, 0.5, 0.1], [0.2, 0.7, 0.1], [0.5, 0.3, 0.2], [0.6, 0.1, 0.3]])
    scores, note = classification_scores(y, proba, classes)
    truth = np.array([0, 0, 1, 1, 0])
    expected = np.mean([roc_auc_score(truth == 0, proba[:, 0]), roc_auc_score(truth == 1, proba[:, 1])])
    assert scores["auc"] == pytest.approx(expected)
    assert scores["n_classes_missing"] == 1 and "c" in note and "absent" in note
    assert scores["accuracy"] == pytest.approx(3 / 5)  # rows 0, 2, 4 right
    assert min(scores.values()) >= 0
    # one class only: AUC undefined, left out and said
    scores, note = classification_scores(["a", "a"], proba[:2], classes)
    assert "auc" not in scores and "AUC undefined" in note


def test_scaling_is_fitted_on_training_data_and_applied_identically_to_any_input():
    d = make_synthetic(n_samples=60, n_cpgs=20, n_genes=12, n_classes=3, seed=0)
    settings = ClassifierSettings(
        latent=4, hidden=(16, 16, 8), classifier_hidden=(8, 4), epochs=(1, 1, 1), decay_epochs=1
    )
    clf = OmiEmbedClassifier.train(d.a[:40], d.labels[:40], d.a_features, settings)
    assert (clf.lo, clf.hi) == (pytest.approx(float(d.a[:40].min())), pytest.approx(float(d.a[:40].max())))
    test = d.a[40:]
    synthetic = test * 1.5 + 2.0  # a different range must not be re-normalised to [0, 1]
    np.testing.assert_allclose(clf.scale(synthetic), (synthetic - clf.lo) / (clf.hi - clf.lo), rtol=1e-6)
    assert clf.scale(synthetic).max() > 1.0
    # identical inputs, identical outputs, whatever they are called
    mu_real, p_real = clf.encode(test)
    mu_copy, p_copy = clf.encode(test.copy())
    np.testing.assert_array_equal(mu_real, mu_copy)
    np.testing.assert_array_equal(p_real, p_copy)


def test_run_logs_table3_report_and_translate(write_config, tmp_path):
    store = tmp_path / "store"
    body = small_experiment(downstream=FAST, seeds=[0, 1])
    # sklearn (Ridge) is seed-dependent as far as the harness knows: one seed run per seed
    body["translators"] = [{"name": "sklearn", "label": "ridge"}, {"name": "train_mean"}]
    cfg = write_config(body)
    result = invoke("run", cfg, "--store", store)
    assert result.exit_code == 0, result.output
    runs = finished_runs(store)
    by_level = {}
    for r in runs:
        by_level.setdefault(r.data.tags[f"{TAG}level"], []).append(r)
    (ref,) = by_level["reference"]
    assert ref.data.tags[f"{TAG}label"] == REFERENCE_LABEL
    for r in by_level["seed"] + by_level["summary"] + [ref]:
        for m in ("accuracy", "precision", "recall", "f1", "auc"):
            assert 0.0 <= r.data.metrics[f"downstream/{m}"] <= 1.0
    summary = {r.data.tags[f"{TAG}label"]: r for r in by_level["summary"]}
    assert "downstream/accuracy_std" in summary["ridge"].data.metrics
    # the mean predictor puts every sample in one class: chance-level AUC
    assert summary["train_mean"].data.metrics["downstream/auc"] == pytest.approx(0.5)
    seed_run = by_level["seed"][0].info.run_id
    arts = {a.path for a in Tracker(store).client.list_artifacts(seed_run, "downstream")}
    assert {"downstream/tsne.png", "downstream/downstream_predictions.csv"} <= arts
    assert "results/top_genes_scatter.png" in {
        a.path for a in Tracker(store).client.list_artifacts(seed_run, "results")
    }

    # a rerun trains no new classifier: it is cached per training data
    again = invoke("run", cfg, "--store", store, "--force")
    assert "cached" in again.output

    out = tmp_path / "report"
    result = invoke("report", "t", "--store", store, "--out", out)
    assert result.exit_code == 0, result.output
    page = (out / "report.html").read_text()
    md = (out / "report.md").read_text()
    assert "Table 3" in page and REFERENCE_LABEL in page and "data:image/png;base64," in page
    assert md.count("| ridge") == 2 and "± " in md  # a row in Table 1 and in Table 3, with sd over 2 seeds
    assert ref.data.tags[f"{TAG}split_hash"] in md

    # translate: new methylation with missing and extra features, in the other orientation
    d = make_synthetic(n_samples=60, n_cpgs=25, n_genes=15, n_classes=3, seed=0)
    frame = pd.DataFrame(d.b[:9], index=[f"new{i}" for i in range(9)], columns=d.b_features)
    frame = frame.drop(columns=list(d.b_features[:4]))
    frame["not_a_cpg"] = 0.5
    frame.T.to_csv(tmp_path / "new.csv")
    pd.DataFrame({"cls": d.labels[:9]}, index=frame.index).to_csv(tmp_path / "labels.csv")
    result = invoke(
        "translate",
        summary["ridge"].info.run_id,
        "--store",
        store,
        "--input",
        tmp_path / "new.csv",
        "--output",
        tmp_path / "pred.tsv",
        "--labels",
        tmp_path / "labels.csv",
    )
    assert result.exit_code == 0, result.output
    assert "4 model features missing" in result.output and "1 extra features ignored" in result.output
    pred = pd.read_csv(tmp_path / "pred.tsv", sep="\t", index_col=0)
    assert pred.shape == (9, 15) and list(pred.index) == list(frame.index)
    assert (tmp_path / "pred.tsne.png").stat().st_size > 1000
    # same samples with every feature present: the prediction equals the model's own on those rows
    full = pd.DataFrame(d.b[:9], index=frame.index, columns=d.b_features)
    full.to_parquet(tmp_path / "full.parquet")
    assert (
        invoke(
            "translate",
            summary["ridge"].info.run_id,
            "--store",
            store,
            "--input",
            tmp_path / "full.parquet",
            "--output",
            tmp_path / "full.csv",
        ).exit_code
        == 0
    )
    got = pd.read_csv(tmp_path / "full.csv", index_col=0)
    trained = load_trained(summary["ridge"].info.run_id, load_registry(), Tracker(store), tmp_path / "w")
    np.testing.assert_allclose(got.to_numpy(), trained.model.predict(d.b[:9]), rtol=1e-5, atol=1e-5)
    # the filled prediction differs from the full one only through the 4 filled features
    assert not np.allclose(pred.to_numpy(), got.to_numpy())


def test_bad_translate_and_downstream_inputs_are_one_line_errors(write_config, tmp_path):
    body = small_experiment(downstream={"enabled": True})
    body["data"] = {"source": "synthetic", "n_samples": 60, "n_cpgs": 25, "n_genes": 15, "n_classes": 1, "seed": 0}
    result = invoke("run", write_config(body), "--store", tmp_path / "s")
    assert result.exit_code == 2 and "downstream.enabled" in result.output
    result = invoke(
        "translate", "nope", "--store", tmp_path / "s", "--input", tmp_path / "x.csv", "--output", tmp_path / "o.csv"
    )
    assert result.exit_code == 2 and result.output.startswith("error: nope")
    result = invoke("translate", "nope", "--input", tmp_path / "x.csv", "--output", tmp_path / "o.xlsx")
    assert result.exit_code == 2 and "unknown output type" in result.output
