"""The report's uncertainty section and the report across cohorts, from a hand-built MemoryStore."""

from __future__ import annotations

import numpy as np
import pytest

from omibench import results
from omibench.report import format as fmt
from omibench.report.cohorts import cohort_stats, cross_cohort
from omibench.report.document import build_report, write_cross_report, write_report
from omibench.stats.intervals import corrected_t_interval
from omibench.stats.ranks import friedman, scores_matrix
from omibench.store.memory import MemoryStore

from .test_leaderboard_uncertainty import LASSO, RIDGE, STACK, fabricate


@pytest.fixture()
def store() -> MemoryStore:
    st = MemoryStore()
    fabricate(st, "ridge", RIDGE)
    fabricate(st, "stack", STACK)
    fabricate(st, "lasso", LASSO)
    fabricate(st, "random_profile", [0.0, 0.01, -0.01, 0.0, 0.02], control=True)
    return st


def test_paired_table_matches_corrected_t(store):
    stats = cohort_stats(results.load(store, "exp"))
    row = stats.paired[(stats.paired["metric"] == "median_r2_featurewise") & (stats.paired["translator"] == "stack")]
    diff, _ = corrected_t_interval(np.subtract(STACK, RIDGE), 60.0, 20.0)  # n_fit = n_train (refit: none)
    cell = f"[{fmt.signed(diff.low)}, {fmt.signed(diff.high)}]"
    assert cell in row["Δ vs ridge [95% interval]"].iloc[0]
    assert row["verdict"].iloc[0] == ("inconclusive" if diff.crosses_zero else "better")
    assert "random_profile" not in set(stats.paired["translator"])  # controls are never compared
    assert stats.ranking is not None
    assert stats.controls == ["random_profile"] and "random_profile" not in stats.ranking.means
    assert stats.figures and stats.figures[0][2].startswith(b"\x89PNG")


def test_report_has_intervals_paired_table_and_figure(store, tmp_path):
    built = build_report(store, results.load(store, "exp"))
    html, md = write_report(built, tmp_path / "r")
    page, text = html.read_text(), md.read_text()
    assert "Paired differences to ridge" in page and "Metrics with 95% intervals" in text
    assert "data:image/png;base64," in page and "<script" not in page
    assert "corrected resampled t" in text


def test_single_split_report_says_no_interval(tmp_path):
    st = MemoryStore()
    fabricate(st, "ridge", [0.40], seeds=(0,))
    fabricate(st, "stack", [0.43], seeds=(0,))
    _, md = write_report(build_report(st, results.load(st, "exp")), tmp_path / "r")
    text = md.read_text()
    assert "n=1, no interval" in text and "± 0" not in text


def test_report_across_cohorts_ranks_like_friedman(tmp_path):
    st = MemoryStore()
    rng = np.random.default_rng(0)
    means = {}
    for cohort in ("brca", "laml", "coad"):
        shift = rng.normal(0, 0.05)
        for label, values in (("ridge", RIDGE), ("stack", STACK), ("lasso", LASSO)):
            fabricate(st, label, [v + shift for v in values], experiment=cohort)
            means.setdefault(cohort, {})[label] = float(np.mean(values) + shift)
        fabricate(st, "random_profile", [0.0, 0.01, -0.01, 0.0, 0.02], control=True, experiment=cohort)
    cross = cross_cohort([results.load(st, c) for c in ("brca", "laml", "coad")])
    scores, _, methods = scores_matrix(means)
    expected = dict(zip(methods, friedman(scores).average_ranks, strict=True))
    got = dict(zip(cross.ranks["translator"], cross.ranks["average rank"], strict=True))
    assert got == pytest.approx(expected) and "random_profile" not in got
    assert cross.ranks["translator"].iloc[0] == "stack"
    assert len(cross.figures) == 2 and len(cross.cohorts) == 3
    html, md = write_cross_report(cross, tmp_path / "x")
    assert "Nemenyi" in md.read_text() and html.read_text().count("data:image/png;base64,") >= 5
