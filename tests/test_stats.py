"""Intervals, paired comparisons and cross-dataset tests: hand-computed cases and scipy.stats."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as st

from omibench.stats.intervals import (
    bootstrap_interval,
    compare_to_reference,
    corrected_t_interval,
    mean_interval,
    paired_comparison,
    prob_better,
    wilson_interval,
)
from omibench.stats.ranks import (
    average_ranks,
    friedman,
    friedman_rejects,
    holm,
    holm_min_datasets,
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
    corrected = mean_interval(x, n_fit=80, n_test=20)
    half = st.t.ppf(0.975, 6) * x.std(ddof=1) * math.sqrt(1 / 7 + 0.25)
    assert corrected.method == "corrected_t"
    assert (corrected.low, corrected.high) == pytest.approx((x.mean() - half, x.mean() + half))


def test_corrected_t_hand_computed():
    # se = sqrt((1/5 + 20/80) * 0.00025) = 0.0106066; t(0.975, 4) = 2.7764451
    iv, p = corrected_t_interval(D, n_fit=80, n_test=20)
    half = 2.7764451 * math.sqrt(0.45 * 0.00025)
    assert iv.estimate == pytest.approx(0.02)
    assert (iv.low, iv.high) == pytest.approx((0.02 - half, 0.02 + half), abs=1e-7)
    assert iv.crosses_zero  # the corrected interval (-0.0094, 0.0494) contains zero...
    assert p == pytest.approx(2 * st.t.sf(0.02 / math.sqrt(0.45 * 0.00025), 4))
    plain = st.ttest_1samp(D, 0.0)  # ...which the plain paired t, anti-conservative here, rejects
    assert plain.pvalue < 0.05 < p
    # with n_test/n_fit -> 0 the corrected t is the plain paired t
    iv0, p0 = corrected_t_interval(D, n_fit=1e12, n_test=1e-12)
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
    better_r2 = paired_comparison(
        ref + 0.05, ref, lower_is_better=False, metric="median_r2_featurewise", n_fit=80, n_test=20
    )
    assert better_r2.verdict == "better" and not better_r2.lower_is_better
    assert better_r2.p_better.estimate == 1.0 and better_r2.difference.estimate == pytest.approx(0.05)
    # mse is minimised: a higher mse is worse, and P(better) is 0
    worse_mse = paired_comparison(ref + 0.05, ref, lower_is_better=True, metric="mse", n_fit=80, n_test=20)
    assert worse_mse.lower_is_better and worse_mse.verdict == "worse" and worse_mse.p_better.estimate == 0.0
    noisy = paired_comparison(ref + np.array(D * 2) - 0.02, ref, lower_is_better=True, n_fit=80, n_test=20)
    assert noisy.crosses_zero and noisy.verdict == "inconclusive"
    boot = paired_comparison(ref + 0.05, ref, lower_is_better=True, method="bootstrap")
    assert boot.difference.method == "bootstrap" and math.isnan(boot.pvalue)
    with pytest.raises(ValueError, match="n_fit"):
        paired_comparison(ref, ref, lower_is_better=False)
    with pytest.raises(ValueError, match="one per outer split"):
        paired_comparison(ref, ref[:5], lower_is_better=False, n_fit=1, n_test=1)


def test_direction_is_required_and_never_read_from_the_metric_name():
    ref = np.array([0.20, 0.22, 0.19, 0.21, 0.23])
    with pytest.raises(TypeError, match="lower_is_better"):
        paired_comparison(ref + 0.05, ref, metric="mse", n_fit=80, n_test=20)
    with pytest.raises(TypeError, match="lower_is_better"):
        prob_better(ref + 0.05, ref)
    with pytest.raises(TypeError, match="lower_is_better"):
        compare_to_reference({"a": {"s": 1.0}, "b": {"s": 2.0}}, "a", n_fit=1, n_test=1)
    # the label says mse, the caller says maximise: the caller wins
    c = paired_comparison(ref + 0.05, ref, lower_is_better=False, metric="mse", n_fit=80, n_test=20)
    assert not c.lower_is_better and c.verdict == "better" and c.p_better.estimate == 1.0
    d = paired_comparison(ref + 0.05, ref, lower_is_better=True, metric="median_r2_featurewise", n_fit=80, n_test=20)
    assert d.lower_is_better and d.verdict == "worse" and d.p_better.estimate == 0.0
    assert paired_comparison(ref, ref, lower_is_better=False, n_fit=8, n_test=2).metric is None


def test_mean_interval_sizes_both_or_neither():
    x = [0.21, 0.25, 0.19, 0.23]
    assert mean_interval(x).method == "t"
    assert mean_interval(x, n_fit=60, n_test=20).method == "corrected_t"
    assert mean_interval([0.3], n_fit=60, n_test=20).method == "corrected_t"  # NaN bounds, method still said
    with pytest.raises(ValueError, match="both n_fit and n_test"):
        mean_interval(x, n_fit=60)
    with pytest.raises(ValueError, match="both n_fit and n_test"):
        mean_interval(x, n_test=20)
    with pytest.raises(ValueError, match="positive"):
        corrected_t_interval(D, 0, 20)
    # the corrected interval is wider than the plain one by sqrt(1 + J n_test / n_fit)
    plain, corr = mean_interval(x), mean_interval(x, n_fit=60, n_test=20)
    ratio = (corr.high - corr.low) / (plain.high - plain.low)
    assert ratio == pytest.approx(math.sqrt(1 + 4 * 20 / 60))


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
    raw = [st.wilcoxon(scores[:, i], scores[:, j], zero_method="zsplit").pvalue for i, j in ((0, 1), (0, 2), (1, 2))]
    assert [t.pvalue for t in tests] == pytest.approx(raw)
    assert [t.p_holm for t in tests] == pytest.approx(holm(raw).tolist())
    assert by[("good", "ridge")].reject and by[("good", "same")].reject and not by[("ridge", "same")].reject
    cliques = wilcoxon_cliques(average_ranks(scores), names, tests)
    assert cliques == [(1, 2)] or cliques == [(2, 1)]
    same = wilcoxon_holm(np.column_stack([base, base]), ["a", "b"])
    assert same[0].pvalue == 1.0 and not same[0].reject


def test_holm_min_datasets_closed_form():
    # N >= 1 + log2(m / alpha), m = k(k-1)/2 pairs
    assert holm_min_datasets(9) == 11  # 36 pairs: 1 + log2(720) = 10.49
    assert holm_min_datasets(2) == 6  # 1 pair: 1 + log2(20) = 5.32
    assert holm_min_datasets(9, alpha=0.01) == 13  # 1 + log2(3600) = 12.81
    for k in range(2, 20):
        m = k * (k - 1) // 2
        n = holm_min_datasets(k)
        assert n == math.ceil(1 + math.log2(m / 0.05))
        assert 2 / 2**n <= 0.05 / m < 2 / 2 ** (n - 1)
    with pytest.raises(ValueError, match="2 methods"):
        holm_min_datasets(1)


@pytest.mark.parametrize("k", [2, 4, 9])
def test_holm_min_datasets_matches_wilcoxon_holm(k):
    """One method ahead of the next on every dataset: every pair has the smallest possible p, 2 / 2**N."""
    n_min = holm_min_datasets(k)
    for n in (n_min - 1, n_min):
        gaps = 1.0 + 0.1 * np.arange(n)  # distinct |differences|: no ties, so scipy's exact test applies
        scores = 5.0 - np.outer(gaps, np.arange(k))  # method 0 best on every dataset, then 1, ...
        assert st.wilcoxon(scores[:, 0], scores[:, 1]).pvalue == pytest.approx(2 / 2**n)
        tests = wilcoxon_holm(scores, [f"m{j}" for j in range(k)])
        assert all(t.pvalue == pytest.approx(2 / 2**n) for t in tests)
        assert any(t.reject for t in tests) == (n == n_min)


def test_wilcoxon_splits_zero_differences_evenly():
    a = np.array([0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2])
    b = a - np.array([0.0, 0.0, -0.01, 0.02, -0.03, -0.04, -0.05, -0.06])  # a - b: two zeros
    # |a - b| ranks: the zeros 1.5 and 1.5, then 3 .. 8. Demšar: each zero gives half its rank to R+
    # and half to R-: R+ = 4 + 1.5 = 5.5, R- = 3 + 5 + 6 + 7 + 8 + 1.5 = 30.5, T = min = 5.5
    # (dropping the zeros, Wilcoxon's own rule, gives T = 2 on 6 datasets)
    (t,) = wilcoxon_holm(np.column_stack([a, b]), ["a", "b"])
    assert t.statistic == pytest.approx(5.5)
    assert st.wilcoxon(a, b).statistic == pytest.approx(2.0)
    assert t.pvalue == pytest.approx(st.wilcoxon(a, b, zero_method="zsplit").pvalue)


def test_friedman_rejects_on_iman_davenport_f():
    # five datasets where the chi² form does not reject at 0.05 but Iman & Davenport's F does
    s = [[40, 78, 31, 23], [79, 87, 7, 5], [67, 33, 57, 15], [86, 45, 89, 79], [70, 23, 76, 5]]
    r = friedman(s)
    assert r.pvalue > 0.05 > r.f_pvalue
    assert friedman_rejects(r) and not friedman_rejects(r, alpha=0.01)
    single = friedman([[0.1, 0.2, 0.3]])
    assert math.isnan(single.f_pvalue) and not friedman_rejects(single, alpha=0.99)
    rng = np.random.default_rng(1)
    noise = friedman(rng.random((6, 5)))
    assert friedman_rejects(noise) == (noise.f_pvalue <= 0.05)


def test_nemenyi_cliques():
    # ranks 1.0, 1.5, 2.6, 3.9 with CD 1.25: {0,1} and {1,2} are joined, {2,3} is not (1.3 >= CD)
    assert nemenyi_cliques([1.0, 1.5, 2.6, 3.9], 1.25) == [(0, 1), (1, 2)]
    assert nemenyi_cliques([3.9, 2.6, 1.5, 1.0], 1.25) == [(3, 2), (2, 1)]
    assert nemenyi_cliques([1.0, 2.0, 3.0], 5.0) == [(0, 1, 2)]
    assert nemenyi_cliques([1.0, 3.0, 5.0], 1.0) == []


def test_figures_render_png(tmp_path):
    from omibench.plots.stats import critical_difference_figure, paired_difference_figure

    ref = np.array([0.20, 0.22, 0.19, 0.21, 0.23, 0.20, 0.18, 0.22, 0.21, 0.20])
    noise = np.array(D * 2) - 0.02
    comps = {
        "stack": paired_comparison(ref + 0.03, ref, lower_is_better=False, n_fit=80, n_test=20),
        "lasso": paired_comparison(ref + noise, ref, lower_is_better=False, n_fit=80, n_test=20),
        "knn": paired_comparison(ref - 0.05, ref, lower_is_better=False, n_fit=80, n_test=20),
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
    h = ["s0", "s1", "s2", "s3"]
    values = {
        "ridge": {h[0]: 0.20, h[1]: 0.22, h[2]: 0.19, h[3]: 0.21},
        "stack": {h[3]: 0.25, h[0]: 0.23, h[1]: 0.26},  # split 2 failed; order differs
        "train_mean": {h[0]: 0.0, h[1]: 0.0},
    }
    out = compare_to_reference(
        values,
        "ridge",
        lower_is_better=False,
        metric="median_r2_featurewise",
        n_fit=5,
        n_test=2,
        exclude=("train_mean",),
    )
    assert list(out) == ["stack"]
    c = out["stack"]
    assert c.n_splits == 3 and c.metric == "median_r2_featurewise" and c.verdict == "better"
    assert c.difference.estimate == pytest.approx(np.mean([0.03, 0.04, 0.04]))
    # n_fit = 5 (4 train + 1 val after a refit), n_test = 2 -> the variance factor is 1/3 + 2/5
    iv, _ = corrected_t_interval([0.03, 0.04, 0.04], 5, 2)
    assert (c.difference.low, c.difference.high) == pytest.approx((iv.low, iv.high))
    flipped = compare_to_reference(values, "ridge", lower_is_better=True, n_fit=5, n_test=2, exclude=["train_mean"])
    assert flipped["stack"].verdict == "worse" and flipped["stack"].metric is None
    with pytest.raises(ValueError, match="reference"):
        compare_to_reference(values, "lasso", lower_is_better=True, n_fit=5, n_test=2)
    with pytest.raises(ValueError, match="n_fit"):
        compare_to_reference(values, "ridge", lower_is_better=True)
    boot = compare_to_reference(values, "ridge", lower_is_better=False, method="bootstrap")
    assert boot["stack"].difference.method == "bootstrap"


def test_scores_matrix_keeps_methods_scored_everywhere():
    from omibench.stats.ranks import scores_matrix

    means = {
        "brca": {"ridge": 0.22, "stack": 0.25, "train_mean": 0.0, "cnn": 0.1},
        "laml": {"stack": 0.30, "ridge": 0.28, "train_mean": 0.0},
        "coad": {"ridge": 0.10, "stack": 0.09, "train_mean": 0.0, "cnn": float("nan")},
    }
    m, datasets, methods = scores_matrix(means, exclude=["train_mean"])
    assert datasets == ["brca", "laml", "coad"] and methods == ["ridge", "stack"]
    assert m.tolist() == [[0.22, 0.25], [0.28, 0.30], [0.10, 0.09]]
    assert average_ranks(m).tolist() == pytest.approx([5 / 3, 4 / 3])
