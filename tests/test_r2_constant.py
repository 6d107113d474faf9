"""R² of a (near-)constant gene or sample: counted as constant by its range against its scale, not by
an exact zero sum of squares that float rounding never gives; otherwise equal to scikit-learn's."""

import numpy as np
import pytest
from sklearn.metrics import r2_score

from omibench.metrics.reconstruction import score


def _data(n=40, g=12, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.normal(5.0, 2.0, size=(n, g)).astype(np.float32)
    pred = (y + rng.normal(0.0, 1.0, size=y.shape)).astype(np.float32)
    return y, pred


def test_constant_gene_predicted_off_scores_exactly_zero():
    y32, pred32 = _data(n=37)
    y, pred = y32.astype(np.float64), pred32.astype(np.float64)
    y[:, 3] = 0.1
    pred[:, 3] = 0.15
    # the counter-example: the exact-zero rule of the old code on the same column. The float64 mean of
    # 37 copies of 0.1 is off by rounding, so ss_tot is ~1e-33, not 0, and R² is astronomically negative
    t = y[:, 3]
    ss_tot = ((t - t.sum() / len(t)) ** 2).sum()
    ss_res = ((t - pred[:, 3]) ** 2).sum()
    assert 0 < ss_tot < 1e-20
    assert 1.0 - ss_res / ss_tot < -1e20
    scores = score(y, pred)
    assert scores.r2_featurewise[3] == 0.0
    others = np.delete(scores.r2_featurewise, 3)
    assert scores.summary["mean_r2_featurewise"] == pytest.approx(others.sum() / y.shape[1])
    # the same in float32 (where the sum happens to be exact)
    y32[:, 3], pred32[:, 3] = np.float32(0.1), np.float32(0.15)
    assert score(y32, pred32).r2_featurewise[3] == 0.0


def test_constant_gene_predicted_exactly_scores_one():
    y, pred = _data()
    y[:, 0] = np.float32(0.1)
    pred[:, 0] = y[:, 0]
    y[:, 1] = 0.0  # all-zero gene: range 0, scale 0
    pred[:, 1] = 0.0
    y[:, 2] = 0.0
    pred[:, 2] = 1e-3
    r2 = score(y, pred).r2_featurewise
    assert r2[0] == 1.0 and r2[1] == 1.0 and r2[2] == 0.0


def test_near_constant_gene_within_float32_rounding_is_constant():
    y, pred = _data()
    # one value with one-ulp jitter, as float32 arithmetic on a constant leaves it
    base = np.float32(7.3)
    y[:, 4] = np.where(np.arange(len(y)) % 2 == 0, base, np.nextafter(base, np.float32(8)))
    pred[:, 4] = 7.0
    assert score(y, pred).r2_featurewise[4] == 0.0


def test_small_but_varying_gene_is_not_constant():
    rng = np.random.default_rng(3)
    y, pred = _data()
    y[:, 5] = (1e-6 * rng.normal(size=len(y))).astype(np.float32)
    pred[:, 5] = (y[:, 5] + 1e-7 * rng.normal(size=len(y))).astype(np.float32)
    r2 = score(y, pred).r2_featurewise
    expected = r2_score(y[:, 5].astype(np.float64), pred[:, 5].astype(np.float64))
    assert r2[5] == pytest.approx(expected, rel=1e-6)
    assert 0.5 < r2[5] < 1.0  # a real R², neither the constant rule's 0 nor its 1


def test_constant_sample_follows_the_same_rule():
    y, pred = (m.astype(np.float64) for m in _data())
    y[2, :] = 0.1  # float64: the mean's rounding leaves ss_tot ~1e-33 here too
    pred[2, :] = 0.15
    y[3, :] = np.float32(2.5)
    pred[3, :] = y[3, :]
    r2s = score(y, pred).r2_samplewise
    assert r2s[2] == 0.0 and r2s[3] == 1.0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_equals_scikit_learn_on_non_degenerate_data(seed):
    y, pred = _data(n=53, g=40, seed=seed)  # more rows than one chunk (16): the chunked sums add up
    scores = score(y, pred)
    y64, p64 = y.astype(np.float64), pred.astype(np.float64)
    np.testing.assert_allclose(scores.r2_featurewise, r2_score(y64, p64, multioutput="raw_values"), rtol=1e-10)
    np.testing.assert_allclose(scores.r2_samplewise, r2_score(y64.T, p64.T, multioutput="raw_values"), rtol=1e-10)


def test_scikit_learn_constant_columns_agree_where_exactly_constant():
    y, pred = _data()
    y[:, 0] = 3.0
    pred[:, 0] = 3.0
    y[:, 1] = 3.0
    pred[:, 1] = 2.0
    got = score(y, pred).r2_featurewise[:2]
    want = r2_score(y[:, :2].astype(np.float64), pred[:, :2].astype(np.float64), multioutput="raw_values")
    np.testing.assert_array_equal(got, want)
