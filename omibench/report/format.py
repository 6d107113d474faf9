"""The one cell formatter: how a number, an interval and a paired difference are written, in every
table people read (terminal leaderboard, MLflow page, HTML / Markdown report, cross-cohort report).
Units and integer-ness come from the metric catalogue."""

from __future__ import annotations

import math

from omibench.metrics import catalogue
from omibench.stats import Interval, PairedComparison

__all__ = ["DASH", "diff_cell", "interval_cell", "interval_label", "missing", "number", "pm", "signed", "skill_cell"]

DASH = "–"


def missing(value: float | None) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def number(value: float | None, metric: str = "") -> str:
    """A metric's value for people: times as ``<0.01 s`` / ``2.31 s`` / ``4.2 min``, memory in MB,
    counts whole, large values without decimals, others with 3 decimals (2 significant when tiny)."""
    if missing(value):
        return DASH
    assert value is not None
    unit = catalogue.lookup(metric).unit if metric else ""
    if unit == "s":
        if value < 0.01:
            return "<0.01 s"
        return f"{value:.2f} s" if value < 60 else f"{value / 60:.1f} min"
    if unit == "MB":
        return f"{value:.0f} MB"
    if metric.startswith("count_") or abs(value) >= 1000:
        return f"{value:.0f}"
    return f"{value:.3f}" if abs(value) >= 0.01 or value == 0 else f"{value:.2g}"


def signed(value: float) -> str:
    return f"{value:+.3f}" if abs(value) >= 0.01 or value == 0 else f"{value:+.2g}"


def pm(mean: float | None, sd: float | None, metric: str = "") -> str:
    """``mean ± sd`` (the sd left out when undefined or zero)."""
    text = number(mean, metric)
    if text == DASH or missing(sd) or sd == 0:
        return text
    return f"{text} ± {number(sd, metric)}"


def interval_cell(iv: Interval | None, metric: str = "") -> str:
    """``mean [lo, hi]``, or ``mean (n=1, no interval)``: never a fabricated ``± 0``."""
    if iv is None:
        return DASH
    if math.isnan(iv.low):
        return f"{number(iv.estimate, metric)} (n=1, no interval)"
    return f"{number(iv.estimate, metric)} [{number(iv.low, metric)}, {number(iv.high, metric)}]"


def diff_cell(comp: PairedComparison | None) -> str:
    """``+0.031 [+0.004, +0.058] *`` (``*``: the interval excludes 0), or ``(n=1, no interval)``."""
    if comp is None:
        return ""
    d = comp.difference
    if math.isnan(d.low):
        return f"{signed(d.estimate)} (n=1, no interval)"
    mark = "" if comp.crosses_zero else " *"
    return f"{signed(d.estimate)} [{signed(d.low)}, {signed(d.high)}]{mark}"


def skill_cell(value: float | None, below_control: bool) -> str:
    """A skill score, ``!`` when a control beats the translator (skill < 0)."""
    if missing(value):
        return DASH
    assert value is not None
    return f"{value:+.2f}{' !' if below_control else ''}"


def interval_label(method: str, confidence: float = 0.95) -> str:
    """What an interval is, in words, for footnotes: every table says which interval it shows."""
    pct = f"{confidence:.0%}"
    if method == "corrected_t":
        return f"{pct} corrected resampled t interval (Nadeau & Bengio)"
    if method == "t":
        return f"{pct} t interval over re-splits of this cohort"
    if method == "bootstrap":
        return f"{pct} paired bootstrap interval over outer splits"
    return f"{pct} {method.replace('_', ' ')} interval"
