"""Within-type R², the correlation panel and control scaling: hand computations and scipy."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as st

from omibench.metrics.extra import correlation_panel, within_type_r2
from omibench.metrics.reconstruction import score


def test_within_type_r2_hand_computed():
    # class A (3 samples): gene0 truth 1,2,3 pred 1,2,4 -> R² 1 - 1/2 = 0.5;
    #                      gene1 truth 0,0,2 pred 0,1,2 -> R² 1 - 1/(8/3) = 0.625; median 0.5625
    # class B (4 samples): gene0 truth 2,4,6,4 pred 4,4,4,4 -> 0; gene1 constant 5 predicted exactly -> 1; median 0.5
    # class D (2 samples) and C (1) are below min_class_size=3; one sample is unlabelled
    rows = [
        ("A", (1, 0), (1, 0)),
        ("A", (2, 0), (2, 1)),
        ("A", (3, 2), (4, 2)),
        ("B", (2, 5), (4, 5)),
        ("B", (4, 5), (4, 5)),
        ("B", (6, 5), (4, 5)),
        ("B", (4, 5), (4, 5)),
        ("D", (0, 0), (1, 1)),
        ("D", (1, 1), (0, 0)),
        ("C", (9, 9), (0, 0)),
        (None, (7, 7), (7, 7)),
    ]
    labels = [r[0] for r in rows]
    y_true = np.array([r[1] for r in rows], dtype=float)
    y_pred = np.array([r[2] for r in rows], dtype=float)
    res = within_type_r2(y_true, y_pred, labels, min_class_size=3)
    assert res.per_class == pytest.approx({"A": 0.5625, "B": 0.5})
    assert res.sizes == {"A": 3, "B": 4}
    assert res.skipped == {"<unlabelled>": 1, "C": 1, "D": 2}
    assert res.summary == pytest.approx((3 * 0.5625 + 4 * 0.5) / 7)
    assert within_type_r2(y_true, y_pred, labels, min_class_size=2).sizes["D"] == 2
    none = within_type_r2(y_true, y_pred, labels, min_class_size=20)
    assert math.isnan(none.summary) and not none.per_class
    with pytest.raises(ValueError, match="at least 2"):
        within_type_r2(y_true, y_pred, labels, min_class_size=1)


def test_class_means_score_well_overall_and_zero_within_type():
    # what the within-type score is for: a prediction that only knows the type
    rng = np.random.default_rng(0)
    labels = np.repeat(["LumA", "Basal", "Her2"], 20)
    centres = {"LumA": 0.0, "Basal": 5.0, "Her2": -4.0}
    y_true = np.array([[centres[c]] * 30 for c in labels]) + rng.normal(0, 1, (60, 30))
    y_pred = np.vstack([y_true[labels == c].mean(axis=0) for c in labels])
    overall = float(np.median(score(y_true, y_pred).r2_featurewise))
    within = within_type_r2(y_true, y_pred, labels)
    assert overall > 0.8
    assert within.summary == pytest.approx(0.0, abs=1e-9)


def test_correlation_panel_against_scipy_with_degenerate_input():
    rng = np.random.default_rng(1)
    t = rng.normal(size=(12, 9))
    p = t + rng.normal(scale=0.8, size=t.shape)
    p[:, 3] = np.round(p[:, 3])  # ties for Spearman
    p[4] = 2.0  # a sample predicted as a constant: zero variance -> 0
    t[:, 7] = 1.5  # a gene constant in the truth -> 0
    p[0, 0] = np.nan  # non-finite prediction -> 0 before scoring
    res = correlation_panel(t, p)
    q = np.where(np.isfinite(p), p, 0.0)

    def corr(f, a, b):
        return 0.0 if np.std(a) == 0 or np.std(b) == 0 else f(a, b)[0]

    per_sample = [corr(st.pearsonr, t[i], q[i]) for i in range(12)]
    per_gene_s = [corr(st.spearmanr, t[:, j], q[:, j]) for j in range(9)]
    assert per_sample[4] == 0.0 and per_gene_s[7] == 0.0
    assert res["mean_pearson_per_sample"] == pytest.approx(np.mean(per_sample))
    assert res["mean_spearman_per_sample"] == pytest.approx(
        np.mean([corr(st.spearmanr, t[i], q[i]) for i in range(12)])
    )
    assert res["mean_pearson_per_gene"] == pytest.approx(
        np.mean([corr(st.pearsonr, t[:, j], q[:, j]) for j in range(9)])
    )
    assert res["mean_spearman_per_gene"] == pytest.approx(np.mean(per_gene_s))
    assert res["overall_pearson"] == pytest.approx(st.pearsonr(t.ravel(), q.ravel())[0])
    assert res["n_nonfinite_predictions"] == 1.0
    perfect = correlation_panel(t, t)
    assert perfect["overall_pearson"] == pytest.approx(1.0) and perfect["mean_pearson_per_gene"] < 1.0  # gene 7 -> 0
    assert correlation_panel(t, np.zeros_like(t))["overall_pearson"] == 0.0
