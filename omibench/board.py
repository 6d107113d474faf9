"""The leaderboard on the MLflow page: what the MLflow UI shows when a user opens the printed URL.

After every ``omibench run`` :func:`refresh` marks the newest finished summary run of each
translator (on the run's split) ``omibench.board = current`` and older reruns ``superseded``, so
that one URL filter shows one row per translator; and writes the leaderboard as a Markdown table
(Table 1: test-split metrics, mean ± sd over seeds; Table 3: the downstream classifier's scores)
into the experiment's description and into each current summary run's description; and saves the
MLflow UI view the printed URL opens: those runs, ranked by the metric, with the key metric columns
shown (the UI shows none by default).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .metrics import LOWER_IS_BETTER, METRIC_NAMES
from .store import Run, RunLevel, RunStatus, Store, Tags
from .store.base import BOARD_FILTER, VIEW_TAG

__all__ = ["Board", "board_markdown", "leaderboard_url", "refresh"]

URL_TAG = "omibench.board_sort"  # experiment tag: the metric the page was last ranked by
VIEW_KEY = "omibench-leaderboard"  # the MLflow UI view the printed URL opens
# columns the page shows besides the ranking metric (the full tables are in the description)
PAGE_METRICS = ("test/median_r2_featurewise", "test/mse", "test/mean_r2_samplewise")
PAGE_DOWNSTREAM = ("downstream/accuracy", "downstream/f1")
CURRENT = "current"
SUPERSEDED = "superseded"
# Table 3 columns, in the paper's order; others a classifier logs follow alphabetically
TABLE3_ORDER = ("accuracy", "precision", "recall", "f1", "auc")


@dataclass
class Board:
    """What :func:`refresh` did: the experiment, the current runs (best first) and the page's URL."""

    experiment_id: str
    runs: list[Run]
    markdown: str
    url: str


def _cell(run: Run, key: str) -> str:
    value = run.metrics.get(key)
    if value is None or math.isnan(value):
        return "–"
    sd = run.metrics.get(f"{key}_std")
    text = f"{value:.4g}"
    return f"{text} ± {sd:.2g}" if sd is not None and not math.isnan(sd) and sd > 0 else text


def _sorted(runs: list[Run], sort: str) -> list[Run]:
    key = f"test/{sort}"
    sign = 1.0 if sort in LOWER_IS_BETTER else -1.0

    def rank(run: Run) -> tuple[bool, float]:
        value = run.metrics.get(key, math.nan)
        return (math.isnan(value), sign * value if not math.isnan(value) else 0.0)

    return sorted(runs, key=rank)


def board_markdown(runs: list[Run], sort: str, experiment: str) -> str:
    """The leaderboard of summary runs ``runs`` as Markdown: Table 1 (test split, mean ± sd over
    seeds, best first by ``sort``) and, when any run has them, Table 3 (``downstream/*`` scores)."""
    from .uncertainty import control_names, is_control_run

    names = control_names()
    controls = [r for r in _sorted(runs, sort) if is_control_run(r, names)]
    runs = [r for r in _sorted(runs, sort) if not is_control_run(r, names)] + controls  # controls last, unranked
    header = ["#", "translator", *METRIC_NAMES, "fit s", "run"]
    # the UI shows a description's first line until it is expanded: the ranking itself goes there
    ranking = " · ".join(
        f"{i}. {r.label} {_cell(r, f'test/{sort}')}" for i, r in enumerate(runs[: len(runs) - len(controls)], 1)
    )
    if controls:
        ranking += " · controls (not ranked): " + ", ".join(f"{r.label} {_cell(r, f'test/{sort}')}" for r in controls)
    lines = [
        f"**{experiment}** by test {sort}: {ranking}",
        "",
        f"### Table 1 (test split, mean ± sd over seeds, sorted by {sort})",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    for i, run in enumerate(runs, 1):
        rank = "–" if run in controls else str(i)
        cells = [rank, run.label, *(_cell(run, f"test/{m}") for m in METRIC_NAMES)]
        cells += [_cell(run, "fit_time_s"), run.run_id[:8]]
        lines.append("| " + " | ".join(cells) + " |")
    downstream = sorted(
        {k.split("/", 1)[1] for r in runs for k in r.metrics if k.startswith("downstream/") and not k.endswith("_std")},
        key=lambda m: (TABLE3_ORDER.index(m) if m in TABLE3_ORDER else len(TABLE3_ORDER), m),
    )
    if downstream:
        lines += ["", "### Table 3 (classifier trained on real data, tested on translated data)", ""]
        lines += ["| translator | " + " | ".join(downstream) + " |", "|" + "---|" * (len(downstream) + 1)]
        for run in runs:
            lines.append(f"| {run.label} | " + " | ".join(_cell(run, f"downstream/{m}") for m in downstream) + " |")
    lines += ["", "_Written by `omibench run`; one row per translator: its newest finished run._"]
    return "\n".join(lines)


def refresh(store: Store, experiment: str, split_hash: str, sort: str) -> Board | None:
    """Mark the current summary runs of ``experiment`` on split ``split_hash`` and write the
    leaderboard into the experiment's and those runs' descriptions. None when the experiment
    has no finished summary run."""
    exp_id = store.experiment_id(experiment, create=False)
    if exp_id is None:
        return None
    summaries = store.search(exp_id, Tags(level=RunLevel.SUMMARY), RunStatus.FINISHED)  # newest first
    current: dict[str, Run] = {}
    for run in summaries:
        if run.tags.split_hash == split_hash and run.label not in current:
            current[run.label] = run
    chosen = {r.run_id for r in current.values()}
    for run in summaries:
        if run.run_id in chosen and run.tags.board != CURRENT:
            store.set_tags(run.run_id, Tags(board=CURRENT))
        elif run.run_id not in chosen and run.tags.board == CURRENT:  # untagged runs are not on the page anyway
            store.set_tags(run.run_id, Tags(board=SUPERSEDED))
    if not current:
        return None
    runs = _sorted(list(current.values()), sort)
    text = board_markdown(runs, sort, experiment)
    store.set_experiment_note(exp_id, text)
    for run in runs:
        store.set_run_note(run.run_id, text)
    logged = {k for r in runs for k in r.metrics}
    shown = [f"test/{sort}", *PAGE_METRICS, *(m for m in PAGE_DOWNSTREAM if m in logged), "fit_time_s"]
    store.set_ui_view(
        exp_id, VIEW_KEY, f"test/{sort}", sort in LOWER_IS_BETTER, [m for m in shown if m in logged], BOARD_FILTER
    )
    store.set_experiment_tags(exp_id, {URL_TAG: sort})
    return Board(exp_id, runs, text, store.ui_view_url(exp_id, VIEW_KEY))


def _url(store: Store, experiment_id: str, sort: str, port: int) -> str:
    """The saved view's URL; the plain filter URL for a store an older omibench wrote (no view)."""
    if VIEW_TAG + VIEW_KEY in store.experiment_tags(experiment_id):
        return store.ui_view_url(experiment_id, VIEW_KEY, port)
    return store.ui_url(experiment_id, order_by=f"test/{sort}", ascending=sort in LOWER_IS_BETTER, port=port)


def leaderboard_url(store: Store, experiment: str | None = None, port: int = 5000) -> list[tuple[str, str]]:
    """(experiment, URL) of each experiment of ``store`` that has a leaderboard page (only
    ``experiment`` when given), ranked by the metric of its last refresh."""
    pages = []
    for name in store.experiment_names():
        if experiment is not None and name != experiment:
            continue
        exp_id = store.experiment_id(name, create=False)
        sort = store.experiment_tags(exp_id).get(URL_TAG) if exp_id else None
        if exp_id is not None and sort:
            pages.append((name, _url(store, exp_id, sort, port)))
    return pages
