"""Intervals, paired comparisons and cross-dataset tests: hand-computed cases and scipy.stats."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as st

from omibench.data.splits import Split
from omibench.stats import (
    bootstrap_interval,
    corrected_t_interval,
    mean_interval,
    paired_comparison,
    prob_better,
    split_sizes,
    wilson_interval,
)
from omibench.stats_ranks import (
    average_ranks,
    friedman,
    holm,
    nemenyi_cliques,
    nemenyi_critical_difference,
    rank_matrix,
    wilcoxon_cliques,
    wilcoxon_holm,
)

D = [0.01, 0.03, 0.02, 0.04, 0.00]  # mean 0.02, sample variance 0.00025


def test_mean_interval_matches_scipy_t_interval():
    x = np.array([0.21, 0.25, 0.19, 0.23, 0.22, 0.20, 0.26])
    iv = mean_interval(x)
    low, high = st.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=st.sem(x))
    assert iv.estimate == pytest.approx(x.mean())
    assert (iv.low, iv.high) == pytest.approx((low, high))
    assert iv.method == "t" and iv.n == 7
    single = mean_interval([0.3])
    assert math.isnan(single.low) and single.crosses_zero
    corrected = mean_interval(x, n_train=80, n_test=20)
    half = st.t.ppf(0.975, 6) * x.std(ddof=1) * math.sqrt(1 / 7 + 0.25)
    assert corrected.method == "corrected_t"
    assert (corrected.low, corrected.high) == pytest.approx((x.mean() - half, x.mean() + half))


def test_corrected_t_hand_computed():
    # se = sqrt((1/5 + 20/80) * 0.00025) = 0.0106066; t(0.975, 4) = 2.7764451
    iv, p = corrected_t_interval(D, n_train=80, n_test=20)
    half = 2.7764451 * math.sqrt(0.45 * 0.00025)
    assert iv.estimate == pytest.approx(0.02)
    assert (iv.low, iv.high) == pytest.approx((0.02 - half, 0.02 + half), abs=1e-7)
    assert iv.crosses_zero  # the corrected interval (-0.0094, 0.0494) contains zero...
    assert p == pytest.approx(2 * st.t.sf(0.02 / math.sqrt(0.45 * 0.00025), 4))
    plain = st.ttest_1samp(D, 0.0)  # ...which the plain paired t, anti-conservative here, rejects
    assert plain.pvalue < 0.05 < p
    # with n_test/n_train -> 0 the corrected t is the plain paired t
    iv0, p0 = corrected_t_interval(D, n_train=1e12, n_test=1e-12)
    assert p0 == pytest.approx(plain.pvalue)
    assert (iv0.low, iv0.high) == pytest.approx(st.t.interval(0.95, 4, loc=0.02, scale=st.sem(D)))


def test_bootstrap_interval_percentiles_and_seed():
    rng = np.random.default_rng(0)
    d = rng.normal(0.05, 0.01, size=30)
    a = bootstrap_interval(d, seed=1)
    assert a == bootstrap_interval(d, seed=1)
    assert a.low < d.mean() < a.high and not a.crosses_zero
    t_iv = mean_interval(d)  # for 30 normal values the percentile bootstrap is close to the t interval
    assert a.high - a.low == pytest.approx(t_iv.high - t_iv.low, rel=0.2)
    assert bootstrap_interval([1.0, 1.0, 1.0]).high == 1.0


def test_wilson_matches_scipy_and_hand_value():
    iv = wilson_interval(8, 10)
    ci = st.binomtest(8, 10).proportion_ci(0.95, method="wilson")
    assert (iv.low, iv.high) == pytest.approx((ci.low, ci.high))
    assert (iv.low, iv.high) == pytest.approx((0.4902, 0.9433), abs=1e-4)
    assert wilson_interval(10, 10).low < 1.0  # never collapses to [1, 1]


def test_prob_better_is_direction_aware_and_counts_ties_half():
    x = [1.0, 2.0, 3.0, 4.0]
    ref = [2.0, 2.0, 1.0, 1.0]  # x higher on 2 splits, tie on 1, lower on 1
    up = prob_better(x, ref, lower_is_better=False)
    down = prob_better(x, ref, lower_is_better=True)
    assert up.estimate == pytest.approx(2.5 / 4)
    assert down.estimate == pytest.approx(1.5 / 4)
    boot = prob_better(x, ref, lower_is_better=False, method="bootstrap", seed=3)
    assert boot.estimate == up.estimate and 0 <= boot.low <= boot.estimate <= boot.high <= 1


def test_paired_comparison_directions_and_verdicts():
    ref = np.array([0.20, 0.22, 0.19, 0.21, 0.23, 0.20, 0.18, 0.22, 0.21, 0.20])
    better_r2 = paired_comparison(ref + 0.05, ref, metric="median_r2_featurewise", n_train=80, n_test=20)
    assert better_r2.verdict == "better" and not better_r2.lower_is_better
    assert better_r2.p_better.estimate == 1.0 and better_r2.difference.estimate == pytest.approx(0.05)
    # mse is minimised: a higher mse is worse, and P(better) is 0
    worse_mse = paired_comparison(ref + 0.05, ref, metric="mse", n_train=80, n_test=20)
    assert worse_mse.lower_is_better and worse_mse.verdict == "worse" and worse_mse.p_better.estimate == 0.0
    noisy = paired_comparison(ref + np.array(D * 2) - 0.02, ref, metric="mse", n_train=80, n_test=20)
    assert noisy.crosses_zero and noisy.verdict == "inconclusive"
    boot = paired_comparison(ref + 0.05, ref, metric="mse", method="bootstrap")
    assert boot.difference.method == "bootstrap" and math.isnan(boot.pvalue)
    with pytest.raises(ValueError, match="n_train"):
        paired_comparison(ref, ref)
    with pytest.raises(ValueError, match="one per outer split"):
        paired_comparison(ref, ref[:5], n_train=1, n_test=1)


def test_split_sizes():
    splits = [Split(("a", "b", "c"), ("d",), ("e", "f")), Split(("a", "b"), ("d",), ("c", "e", "f"))]
    assert split_sizes(splits) == (3.5, 2.5)


# Demšar (2006), section 3.2.2: four methods on 14 data sets, average ranks 3.143, 2.000, 2.893, 1.964,
# chi²_F = 9.28, F_F = 3.69, CD(0.05) = 2.569 sqrt(4*5 / (6*14)) = 1.25.
def test_nemenyi_critical_difference_matches_demsar():
    assert nemenyi_critical_difference(4, 14) == pytest.approx(1.25, abs=0.005)
    # q_alpha is the studentized range at infinite df over sqrt 2 (Demšar's table: k=2..10)
    for k, q in ((2, 1.960), (3, 2.343), (5, 2.728), (10, 3.164)):
        assert nemenyi_critical_difference(k, 6) / math.sqrt(k * (k + 1) / 36) == pytest.approx(q, abs=1e-3)


def test_friedman_hand_computed_and_scipy():
    # 14 datasets x 4 methods, given as ranks (one tie); scores are their negatives
    rows = (
        [[4, 1, 3, 2]] * 6
        + [[3, 2, 4, 1]] * 3
        + [[2, 3, 4, 1]] * 1
        + [[4, 3, 1, 2]] * 2
        + [[1, 4, 2, 3]]
        + [[4, 3, 1.5, 1.5]]
    )
    scores = -np.array(rows, dtype=float)  # higher score = better = lower rank
    assert average_ranks(scores).tolist() == pytest.approx(np.mean(rows, axis=0).tolist())
    res = friedman(scores)
    ref = st.friedmanchisquare(*scores.T)
    assert res.statistic == pytest.approx(ref.statistic) and res.pvalue == pytest.approx(ref.pvalue)
    # without ties the statistic is 12N/(k(k+1)) (sum R² - k(k+1)²/4): Demšar's worked example
    demsar = np.array([3.143, 2.000, 2.893, 1.964])
    chi2 = 12 * 14 / 20 * (np.sum(demsar**2) - 25)
    assert chi2 == pytest.approx(9.28, abs=0.01)
    assert (14 - 1) * chi2 / (14 * 3 - chi2) == pytest.approx(3.69, abs=0.01)
    rng = np.random.default_rng(0)
    for lower in (False, True):
        s = rng.random((9, 5))
        r = friedman(s, lower_is_better=lower)
        ref = st.friedmanchisquare(*s.T)
        assert r.statistic == pytest.approx(ref.statistic) and r.pvalue == pytest.approx(ref.pvalue)
        k, n = 5, 9
        assert r.f_statistic == pytest.approx((n - 1) * r.statistic / (n * (k - 1) - r.statistic))
        assert r.f_pvalue == pytest.approx(st.f.sf(r.f_statistic, k - 1, (k - 1) * (n - 1)))


def test_ranks_direction_and_ties():
    s = [[0.3, 0.1, 0.3], [0.5, 0.4, 0.2]]
    assert rank_matrix(s).tolist() == [[1.5, 3.0, 1.5], [1.0, 2.0, 3.0]]
    assert rank_matrix(s, lower_is_better=True).tolist() == [[2.5, 1.0, 2.5], [3.0, 2.0, 1.0]]


def test_holm_hand_computed():
    # sorted 0.01, 0.02, 0.04, 0.30 -> x4, x3, x2, x1 = 0.04, 0.06, 0.08, 0.30
    assert holm([0.04, 0.01, 0.30, 0.02]).tolist() == pytest.approx([0.08, 0.04, 0.30, 0.06])
    assert holm([0.5, 0.6]).tolist() == pytest.approx([1.0, 1.0])  # capped, and monotone


def test_wilcoxon_holm_matches_scipy():
    rng = np.random.default_rng(4)
    base = rng.random(12)
    scores = np.column_stack([base + 0.1 + rng.normal(0, 0.01, 12), base, base + rng.normal(0, 0.01, 12)])
    names = ["good", "ridge", "same"]
    tests = wilcoxon_holm(scores, names)
    by = {(t.a, t.b): t for t in tests}
    raw = [st.wilcoxon(scores[:, i], scores[:, j]).pvalue for i, j in ((0, 1), (0, 2), (1, 2))]
    assert [t.pvalue for t in tests] == pytest.approx(raw)
    assert [t.p_holm for t in tests] == pytest.approx(holm(raw).tolist())
    assert by[("good", "ridge")].reject and by[("good", "same")].reject and not by[("ridge", "same")].reject
    cliques = wilcoxon_cliques(average_ranks(scores), names, tests)
    assert cliques == [(1, 2)] or cliques == [(2, 1)]
    same = wilcoxon_holm(np.column_stack([base, base]), ["a", "b"])
    assert same[0].pvalue == 1.0 and not same[0].reject


def test_nemenyi_cliques():
    # ranks 1.0, 1.5, 2.6, 3.9 with CD 1.25: {0,1} and {1,2} are joined, {2,3} is not (1.3 >= CD)
    assert nemenyi_cliques([1.0, 1.5, 2.6, 3.9], 1.25) == [(0, 1), (1, 2)]
    assert nemenyi_cliques([3.9, 2.6, 1.5, 1.0], 1.25) == [(3, 2), (2, 1)]
    assert nemenyi_cliques([1.0, 2.0, 3.0], 5.0) == [(0, 1, 2)]
    assert nemenyi_cliques([1.0, 3.0, 5.0], 1.0) == []


def test_figures_render_png(tmp_path):
    from omibench.stats_figures import critical_difference_figure, paired_difference_figure

    ref = np.array([0.20, 0.22, 0.19, 0.21, 0.23, 0.20, 0.18, 0.22, 0.21, 0.20])
    noise = np.array(D * 2) - 0.02
    comps = {
        "stack": paired_comparison(ref + 0.03, ref, metric="median_r2_featurewise", n_train=80, n_test=20),
        "lasso": paired_comparison(ref + noise, ref, metric="median_r2_featurewise", n_train=80, n_test=20),
        "knn": paired_comparison(ref - 0.05, ref, metric="median_r2_featurewise", n_train=80, n_test=20),
    }
    png = paired_difference_figure(comps, reference="ridge", metric="median R²f", path=tmp_path / "diff.png")
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
    assert (tmp_path / "diff.png").read_bytes() == png
    names = ["stack", "ridge", "lasso", "knn", "pcr"]
    ranks = np.array([1.4, 2.1, 2.9, 4.0, 4.6])
    cd = nemenyi_critical_difference(len(names), 8)
    cd_png = critical_difference_figure(
        names, ranks, cd=cd, cliques=nemenyi_cliques(ranks, cd), title="4 cohorts", path=tmp_path / "cd.png"
    )
    assert cd_png[:8] == b"\x89PNG\r\n\x1a\n" and len(cd_png) > 5000
    assert critical_difference_figure(names[:2], ranks[:2], cd=None)[:4] == b"\x89PNG"


def test_compare_to_reference_pairs_on_split_hashes():
    from omibench.stats import compare_to_reference

    splits = [Split((f"t{i}", "x", "y", "z"), ("v",), (f"s{i}", "w")) for i in range(4)]
    h = [s.hash for s in splits]
    values = {
        "ridge": {h[0]: 0.20, h[1]: 0.22, h[2]: 0.19, h[3]: 0.21},
        "stack": {h[3]: 0.25, h[0]: 0.23, h[1]: 0.26},  # split 2 failed; order differs
        "train_mean": {h[0]: 0.0, h[1]: 0.0},
    }
    out = compare_to_reference(values, "ridge", metric="median_r2_featurewise", splits=splits, exclude=["train_mean"])
    assert list(out) == ["stack"]
    c = out["stack"]
    assert c.n_splits == 3
    assert c.difference.estimate == pytest.approx(np.mean([0.03, 0.04, 0.04]))
    # n_train = 4 train + 1 val, n_test = 2 -> the variance factor is 1/3 + 2/5
    iv, _ = corrected_t_interval([0.03, 0.04, 0.04], 5, 2)
    assert (c.difference.low, c.difference.high) == pytest.approx((iv.low, iv.high))
    with pytest.raises(ValueError, match="reference"):
        compare_to_reference(values, "lasso", metric="mse", splits=splits)
    with pytest.raises(ValueError, match="n_train"):
        compare_to_reference(values, "ridge", metric="mse")


def test_scores_matrix_keeps_methods_scored_everywhere():
    from omibench.stats_ranks import scores_matrix

    means = {
        "brca": {"ridge": 0.22, "stack": 0.25, "train_mean": 0.0, "cnn": 0.1},
        "laml": {"stack": 0.30, "ridge": 0.28, "train_mean": 0.0},
        "coad": {"ridge": 0.10, "stack": 0.09, "train_mean": 0.0, "cnn": float("nan")},
    }
    m, datasets, methods = scores_matrix(means, exclude=["train_mean"])
    assert datasets == ["brca", "laml", "coad"] and methods == ["ridge", "stack"]
    assert m.tolist() == [[0.22, 0.25], [0.28, 0.30], [0.10, 0.09]]
    assert average_ranks(m).tolist() == pytest.approx([5 / 3, 4 / 3])


def test_control_scaled_cohort_scores_hand_computed():
    """Split by split: (value - worst control) / (truth - worst control), clipped, then averaged."""
    from omibench.report_stats import cohort_stats
    from omibench.store import MemoryStore
    from omibench.uncertainty import TranslatorResults

    def res(label, values, control=False):
        r = TranslatorResults(label=label, run_id=label, control=control, n_train=80.0, n_test=20.0)
        r.values = {"median_r2_featurewise": dict(zip(("s1", "s2"), values, strict=True))}
        return r

    results = [
        res("ridge", [0.2, 0.4]),
        res("bad", [-2.0, 0.0]),
        res("train_mean", [0.0, 0.0], control=True),
        res("random_profile", [-1.0, -0.6], control=True),
    ]
    out = cohort_stats(MemoryStore(), "exp", results=results)
    # s1: worst control -1.0, truth 1 -> (0.2 + 1) / 2 = 0.6; s2: worst -0.6 -> (0.4 + 0.6) / 1.6 = 0.625
    assert out.scaled["ridge"] == pytest.approx((0.6 + 0.625) / 2)
    # bad on s1 is below every control: -0.5 unclipped, 0 clipped; s2: 0.6 / 1.6
    assert out.scaled["bad"] == pytest.approx((0.0 + 0.375) / 2)
    assert sorted(out.scaled_unclipped) == pytest.approx(sorted([0.6, 0.625, -0.5, 0.375]))
    assert "train_mean" not in out.scaled
