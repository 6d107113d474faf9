"""Metrics: the nine reconstruction metrics of OmiTrans Table 1, the extra ones, and the catalogue
that says, once, what each logged metric is (key, label, direction, ideal value)."""

from __future__ import annotations

from omibench.metrics.reconstruction import METRIC_NAMES, R2_THRESHOLD, Scores, score

__all__ = ["METRIC_NAMES", "R2_THRESHOLD", "Scores", "score"]
