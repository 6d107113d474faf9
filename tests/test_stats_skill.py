"""Skill score against the best control of each split: hand-computed cases, both directions, degenerate cases."""

from __future__ import annotations

import math

import pytest

from omibench.stats.skill import (
    ANCHOR_IS_IDEAL,
    NO_CONTROL,
    NO_IDEAL,
    NONFINITE_VALUE,
    Skill,
    best_anchor,
    skill_over_splits,
    skill_score,
    summarise_skill,
)


def test_r2_skill_hand_computed_and_not_clipped():
    # R² (maximise), ideal 1: controls train_mean 0.0, class_mean 0.4, random_profile -1.0 -> anchor 0.4
    anchor = best_anchor([0.0, 0.4, -1.0], lower_is_better=False)
    assert anchor == 0.4
    assert skill_score(0.7, anchor, 1.0) == Skill(pytest.approx(0.5))  # (0.7 - 0.4) / 0.6
    assert skill_score(0.4, anchor, 1.0).value == 0.0  # the best control itself
    assert skill_score(1.0, anchor, 1.0).value == 1.0  # the truth
    # below class_mean: negative, and kept (Open Problems' scaling would have clipped it to 0, or given
    # (0.1 + 1) / 2 = 0.55 against random_profile)
    below = skill_score(0.1, anchor, 1.0)
    assert below.ok and below.value == pytest.approx(-0.5)
    assert skill_score(-2.0, anchor, 1.0).value == pytest.approx(-4.0)


def test_mse_skill_is_one_minus_ratio_to_best_control():
    # mse (minimise), ideal 0: controls 2.0, 1.0, 1.5 -> anchor 1.0, the lowest
    anchor = best_anchor([2.0, 1.0, 1.5], lower_is_better=True)
    assert anchor == 1.0
    for v in (0.25, 1.0, 1.6, 0.0):
        assert skill_score(v, anchor, 0.0).value == pytest.approx(1 - v / anchor)
    assert skill_score(1.6, anchor, 0.0).value == pytest.approx(-0.6)  # a control beats it: negative
    # the direction decides the anchor: read as "maximise", the anchor would be 2.0
    assert best_anchor([2.0, 1.0, 1.5], lower_is_better=False) == 2.0


def test_tied_controls_give_the_same_anchor():
    assert best_anchor([0.3, 0.3, -1.0], lower_is_better=False) == 0.3
    assert best_anchor([0.8, 0.8, 2.0], lower_is_better=True) == 0.8
    assert skill_score(0.65, best_anchor([0.3, 0.3], lower_is_better=False), 1.0).value == pytest.approx(0.5)


def test_degenerate_cases_are_said_not_numbers():
    same = skill_score(1.0, 1.0, 1.0)
    assert math.isnan(same.value) and not same.ok and same.degenerate == ANCHOR_IS_IDEAL
    assert "best control scores the ideal" in same.degenerate
    assert skill_score(0.0, 0.0, 0.0).degenerate == ANCHOR_IS_IDEAL  # mse anchor 0
    assert skill_score(0.5, 1.0 - 1e-15, 1.0).degenerate == ANCHOR_IS_IDEAL  # no 1e14-sized "skill"
    assert skill_score(0.5, 0.2, None).degenerate == NO_IDEAL
    assert skill_score(math.nan, 0.2, 1.0).degenerate == NONFINITE_VALUE
    assert skill_score(math.inf, 0.2, 0.0).degenerate == NONFINITE_VALUE
    assert skill_score(0.5, math.nan, 1.0).degenerate == NO_CONTROL
    for s in (skill_score(0.5, 0.2, None), skill_score(math.nan, 0.2, 1.0)):
        assert math.isnan(s.value) and "\n" not in s.degenerate and s.degenerate
    # a missing (NaN) control is not replaced by a weaker one; no control at all is no anchor
    assert math.isnan(best_anchor([0.4, math.nan, 0.0], lower_is_better=False))
    assert math.isnan(best_anchor([], lower_is_better=True))
    assert best_anchor([math.inf, 2.0], lower_is_better=True) == 2.0  # an infinite mse is just the worst


def test_skill_over_splits_and_summary():
    values = {"s1": 0.7, "s2": 0.2, "s3": 0.9, "s4": 0.5}
    controls = {
        "train_mean": {"s1": 0.0, "s2": 0.0, "s3": 1.0, "s4": 0.1},
        "class_mean": {"s1": 0.4, "s2": 0.4, "s3": 0.5},  # failed on s4
    }
    per = skill_over_splits(values, controls, ideal=1.0, lower_is_better=False)
    assert list(per) == ["s1", "s2", "s3", "s4"]
    assert per["s1"].value == pytest.approx(0.5) and per["s2"].value == pytest.approx(-1 / 3)
    assert per["s3"].degenerate == ANCHOR_IS_IDEAL and per["s4"].degenerate == NO_CONTROL
    summary = summarise_skill(per)
    assert summary.mean == pytest.approx((0.5 - 1 / 3) / 2) and summary.n == 2 and summary.n_degenerate == 2
    assert not summary.below_control
    assert summary.reasons == (ANCHOR_IS_IDEAL, NO_CONTROL)
    worse = summarise_skill([per["s2"], per["s3"]])
    assert worse.mean == pytest.approx(-1 / 3) and worse.below_control and worse.n == 1
    none = summarise_skill([per["s3"]])
    assert math.isnan(none.mean) and none.n == 0 and none.n_degenerate == 1 and not none.below_control
    empty = summarise_skill({})
    assert empty.n == 0 and empty.n_degenerate == 0 and math.isnan(empty.mean)


def test_skill_over_splits_mse_direction():
    values = {"a": 0.5, "b": 1.2}
    controls = {"train_mean": {"a": 1.0, "b": 1.0}, "random_profile": {"a": 2.0, "b": 2.0}}
    per = skill_over_splits(values, controls, ideal=0.0, lower_is_better=True)
    assert per["a"].value == pytest.approx(0.5) and per["b"].value == pytest.approx(-0.2)
    s = summarise_skill(per)
    assert s.mean == pytest.approx(0.15) and not s.below_control and s.n == 2
