"""Figures for uncertainty: a per-cohort paired-difference plot and a critical-difference diagram.

Pure functions: results in, PNG bytes out (also written to ``path`` when one is given). Matplotlib
runs on the Agg backend; nothing reads the tracking store.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from omibench.stats.intervals import PairedComparison

__all__ = ["critical_difference_figure", "paired_difference_figure"]

_BETTER, _WORSE, _UNSURE = "#55A868", "#C44E52", "#9A9A9A"


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _finish(fig: Any, path: str | Path | None) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    _plt().close(fig)
    png = buf.getvalue()
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_bytes(png)
    return png


def paired_difference_figure(
    comparisons: Mapping[str, PairedComparison],
    *,
    reference: str,
    metric: str,
    title: str | None = None,
    path: str | Path | None = None,
) -> bytes:
    """Each translator's mean difference to ``reference`` (X - reference) with its interval, one row each.

    Rows are ordered best first (direction-aware); a zero line marks "no difference"; an interval that
    crosses zero is drawn grey, otherwise green (better than the reference) or red (worse). The right
    margin gives P(better) with its interval.
    """
    plt = _plt()
    items = list(comparisons.items())
    if not items:
        raise ValueError("paired_difference_figure: no comparisons")
    lower = items[0][1].lower_is_better
    items.sort(key=lambda kv: kv[1].difference.estimate if lower else -kv[1].difference.estimate)
    fig, ax = plt.subplots(figsize=(7.5, 0.9 + 0.42 * len(items)))
    for row, (_name, c) in enumerate(items):
        y = len(items) - 1 - row
        d = c.difference
        colour = _UNSURE if c.crosses_zero else (_BETTER if c.verdict == "better" else _WORSE)
        if not (math.isnan(d.low) or math.isnan(d.high)):
            ax.plot([d.low, d.high], [y, y], color=colour, linewidth=2.4, solid_capstyle="butt")
        ax.plot([d.estimate], [y], "o", color=colour, markersize=6)
        pb = c.p_better
        ax.annotate(
            f"P(better) {pb.estimate:.2f} [{pb.low:.2f}, {pb.high:.2f}]",
            xy=(1.01, y),
            xycoords=("axes fraction", "data"),
            va="center",
            fontsize=8,
        )
    ax.axvline(0.0, color="black", linewidth=0.8)
    ax.set_yticks(range(len(items)))
    ax.set_yticklabels([name for name, _ in reversed(items)])
    ax.set_ylim(-0.6, len(items) - 0.4)
    n = items[0][1].n_splits
    method = items[0][1].difference.method.replace("_", " ")
    conf = round(100 * items[0][1].difference.confidence)
    hint = "lower is better" if lower else "higher is better"
    ax.set_xlabel(
        f"{metric}: translator - {reference} ({hint})\n{conf}% {method} interval over {n} outer splits", fontsize=9
    )
    ax.set_title(title or f"paired difference to {reference}", fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    fig.subplots_adjust(right=0.72)
    return _finish(fig, path)


def critical_difference_figure(
    names: Sequence[str],
    avg_ranks: Sequence[float] | np.ndarray,
    *,
    cd: float | None,
    cliques: Sequence[Sequence[int]] = (),
    title: str | None = None,
    path: str | Path | None = None,
) -> bytes:
    """Demšar's critical-difference diagram: average ranks on an axis (1 = best, at the left).

    The CD bar (Nemenyi; omitted when ``cd`` is None, e.g. for Wilcoxon-Holm cliques) sits above the
    axis; each clique (column indices of methods not told apart, e.g. from
    :func:`omibench.stats.ranks.nemenyi_cliques`) is a thick bar joining its members' ranks.
    """
    plt = _plt()
    r = np.asarray(avg_ranks, dtype=np.float64)
    if len(names) != r.size or r.size < 2:
        raise ValueError(f"critical_difference_figure: {len(names)} names for {r.size} ranks (need >= 2)")
    k = r.size
    lo, hi = 1.0, float(max(k, math.ceil(r.max())))
    order = np.argsort(r, kind="stable")
    left = order[: (k + 1) // 2]
    right = order[(k + 1) // 2 :][::-1]
    n_rows = max(len(left), len(right))
    height = 1.6 + 0.3 * n_rows + 0.15 * len(cliques)
    fig, ax = plt.subplots(figsize=(8, height))
    ax.set_xlim(lo - 0.9, hi + 0.9)
    top = 0.0
    ax.set_ylim(-(0.15 * (len(cliques) + 1) + 0.3 * n_rows + 0.25), 0.75)
    ax.axis("off")
    ax.plot([lo, hi], [top, top], color="black", linewidth=1)
    for tick in np.arange(lo, hi + 1e-9, 0.5):
        major = float(tick).is_integer()
        ax.plot([tick, tick], [top, top + (0.1 if major else 0.05)], color="black", linewidth=1)
        if major:
            ax.text(tick, top + 0.15, f"{int(tick)}", ha="center", va="bottom", fontsize=9)
    if cd is not None:
        ax.plot([lo, lo + cd], [top + 0.5, top + 0.5], color="black", linewidth=1.5)
        for x in (lo, lo + cd):
            ax.plot([x, x], [top + 0.45, top + 0.55], color="black", linewidth=1.5)
        ax.text(lo + cd / 2, top + 0.58, f"CD = {cd:.2f}", ha="center", va="bottom", fontsize=8)
    clique_depth = 0.15 * (len(cliques) + 1)
    for side, members in (("left", left), ("right", right)):
        for i, m in enumerate(members):
            y = -(clique_depth + 0.3 * (i + 1))
            x_end = lo - 0.1 if side == "left" else hi + 0.1
            ax.plot([r[m], r[m], x_end], [top, y, y], color="#333333", linewidth=0.9)
            ax.text(
                x_end - 0.05 if side == "left" else x_end + 0.05,
                y,
                f"{names[m]} ({r[m]:.2f})",
                ha="right" if side == "left" else "left",
                va="center",
                fontsize=9,
            )
    for i, clique in enumerate(cliques):
        xs = [float(r[j]) for j in clique]
        y = -0.15 * (i + 1)
        ax.plot([min(xs) - 0.03, max(xs) + 0.03], [y, y], color="black", linewidth=3.5, solid_capstyle="round")
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return _finish(fig, path)
