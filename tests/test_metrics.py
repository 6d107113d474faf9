import numpy as np
import pytest
from sklearn.metrics import mean_absolute_error, mean_squared_error, median_absolute_error, r2_score

from omibench.metrics.reconstruction import METRIC_NAMES, featurewise_r2, score


def test_hand_computed_values():
    # 2 samples x 3 genes; gene 2 is constant in the truth and mispredicted -> R²f = 0 (sklearn rule)
    y = np.array([[1.0, 2.0, 5.0], [3.0, 6.0, 5.0]])
    p = np.array([[1.0, 3.0, 4.0], [2.0, 6.0, 5.0]])
    s = score(y, p).summary
    # sample 0: errors (0, -1, 1) -> mse 2/3, |e| median 1; sample 1: errors (1, 0, 0) -> mse 1/3, median 0
    assert s["mse"] == pytest.approx(0.5)
    assert s["rmse"] == pytest.approx((np.sqrt(2 / 3) + np.sqrt(1 / 3)) / 2)
    assert s["rmse"] < np.sqrt(s["mse"])  # mean of per-sample RMSE, as in the paper
    assert s["mean_ae"] == pytest.approx(0.5)
    assert s["median_ae"] == pytest.approx(0.5)
    # sample 0: mean 8/3, ss_tot = (25+4+49)/9*... computed directly
    t0 = y[0] - y[0].mean()
    r2_0 = 1 - 2.0 / (t0 @ t0)
    t1 = y[1] - y[1].mean()
    r2_1 = 1 - 1.0 / (t1 @ t1)
    assert s["mean_r2_samplewise"] == pytest.approx((r2_0 + r2_1) / 2)
    # genes: g0 truth (1,3) pred (1,2): 1 - 1/2 = 0.5; g1 (2,6) vs (3,6): 1 - 1/8 = 0.875; g2 constant -> 0.0
    r2f = score(y, p).r2_featurewise
    np.testing.assert_allclose(r2f, [0.5, 0.875, 0.0])
    assert s["mean_r2_featurewise"] == pytest.approx((0.5 + 0.875) / 3)
    assert s["median_r2_featurewise"] == pytest.approx(0.5)
    assert s["count_r2_featurewise_gt_0.3"] == 2
    assert s["pct_r2_featurewise_gt_0.3"] == pytest.approx(200 / 3)


def test_perfect_prediction_including_constant_gene():
    y = np.array([[1.0, 2.0, 7.0], [3.0, 6.0, 7.0], [0.0, 1.0, 7.0]])
    s = score(y, y.copy()).summary
    assert s["mse"] == s["rmse"] == s["mean_ae"] == s["median_ae"] == 0.0
    assert s["mean_r2_samplewise"] == 1.0
    assert s["mean_r2_featurewise"] == 1.0  # the constant gene predicted exactly scores 1.0
    assert s["count_r2_featurewise_gt_0.3"] == 3
    assert s["pct_r2_featurewise_gt_0.3"] == 100.0


def test_matches_scikit_learn_on_random_data():
    rng = np.random.default_rng(0)
    y = rng.normal(size=(37, 53)).astype(np.float32)
    y[:, 4] = 2.5  # a constant gene
    p = (y + rng.normal(scale=0.7, size=y.shape)).astype(np.float32)
    sc = score(y, p)
    s = sc.summary
    y64, p64 = y.astype(np.float64), p.astype(np.float64)
    assert s["mse"] == pytest.approx(np.mean([mean_squared_error(a, b) for a, b in zip(y64, p64)]))
    assert s["rmse"] == pytest.approx(np.mean([np.sqrt(mean_squared_error(a, b)) for a, b in zip(y64, p64)]))
    assert s["mean_ae"] == pytest.approx(np.mean([mean_absolute_error(a, b) for a, b in zip(y64, p64)]))
    assert s["median_ae"] == pytest.approx(np.mean([median_absolute_error(a, b) for a, b in zip(y64, p64)]))
    assert s["mean_r2_samplewise"] == pytest.approx(np.mean([r2_score(a, b) for a, b in zip(y64, p64)]))
    np.testing.assert_allclose(sc.r2_featurewise, r2_score(y64, p64, multioutput="raw_values"), rtol=1e-10)
    assert sc.r2_featurewise[4] == 0.0


def test_chunking_does_not_change_results(monkeypatch):
    import omibench.metrics.reconstruction as m

    rng = np.random.default_rng(1)
    y = rng.normal(size=(50, 9))
    p = y + rng.normal(size=y.shape)
    whole = m.score(y, p)
    monkeypatch.setattr(m, "_ROWS", 7)
    chunked = m.score(y, p)
    for k in METRIC_NAMES:
        assert chunked.summary[k] == pytest.approx(whole.summary[k], rel=1e-12)


def test_shape_mismatch_is_an_error():
    with pytest.raises(ValueError):
        score(np.zeros((3, 2)), np.zeros((3, 3)))


@pytest.mark.parametrize("n", [2, 5, 16, 23, 80])
def test_featurewise_r2_alone_is_scores_to_the_bit(n):
    """The within-type R² uses featurewise_r2 per class: the same numbers as score's, constant and
    exactly predicted genes included, across the chunk boundary (16 rows)."""
    rng = np.random.default_rng(n)
    t = rng.normal(size=(n, 40)).astype(np.float32)
    t[:, 3] = 1.5  # constant truth
    p = t + 0.3 * rng.normal(size=t.shape).astype(np.float32)
    p[:, 4] = t[:, 4]  # exact
    assert np.array_equal(featurewise_r2(t, p), score(t, p).r2_featurewise)
    with pytest.raises(ValueError):
        featurewise_r2(t[:1], p[:1])
