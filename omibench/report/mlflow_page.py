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

from dataclasses import dataclass

from omibench.metrics import catalogue
from omibench.report import tables
from omibench.report.leaderboard import DEFAULT_COLUMNS
from omibench.results import ResultSet, analysis, current, from_summaries
from omibench.store import Run, RunLevel, RunStatus, Store, Tags
from omibench.store.schema import BOARD_CURRENT, BOARD_FILTER, BOARD_SORT_TAG, BOARD_SUPERSEDED, VIEW_TAG

__all__ = ["Board", "board_markdown", "leaderboard_url", "refresh"]

VIEW_KEY = "omibench-leaderboard"  # the MLflow UI view the printed URL opens
# columns the page shows after the ranking metric, those of ``omibench leaderboard`` (the full
# tables are in the description)
PAGE_METRICS = DEFAULT_COLUMNS


@dataclass
class Board:
    """What :func:`refresh` did: the experiment, the current runs (best first) and the page's URL."""

    experiment_id: str
    runs: list[Run]
    markdown: str
    url: str


def _markdown(frame: object) -> str:
    from tabulate import tabulate

    return tabulate(frame, headers="keys", tablefmt="github", showindex=False, disable_numparse=True)


def board_markdown(results: ResultSet, sort: str, experiment: str) -> str:
    """The leaderboard of ``results`` as Markdown: the ranking on one line (the UI shows a
    description's first line until it is expanded), Table 1 (test split) and, when any run has them,
    Table 3 (``downstream/*`` scores), built by :mod:`omibench.report.tables`."""
    ranking = analysis.ranking(results, sort)

    def cell(label: str) -> str:
        return tables.pm_of(results, label, sort)

    line = " · ".join(f"{i}. {label} {cell(label)}" for i, label in enumerate(ranking.order, 1))
    unranked = [r.label for r in results.translators if r.label not in ranking.order]
    if unranked:
        line += " · not ranked: " + ", ".join(f"{label} ({tables.rank_cell(label, ranking)})" for label in unranked)
    if results.controls:
        line += " · controls (not ranked): " + ", ".join(f"{r.label} {cell(r.label)}" for r in results.controls)
    metric = catalogue.lookup(sort)
    lines = [
        f"**{experiment}** by test {sort}: {line}",
        "",
        f"### Table 1 (test split, {tables.cell_meaning(results)}; ranked by {catalogue.describe(sort)})",
        "",
        _markdown(tables.metric_table(results, [*catalogue.TABLE1, "fit_time_s"], sort, run_ids=True)),
    ]
    if ranking.note:
        lines += ["", f"_{ranking.note}_"]
    downstream = [m for m in catalogue.TABLE3 if any(m in r.values for r in results)]
    if downstream:
        lines += ["", "### Table 3 (classifier trained on real data, tested on translated data)", ""]
        lines.append(_markdown(tables.metric_table(results, downstream, sort, reference=True, skill=False)))
    if any(r.values.get(sort) for r in results.controls) and metric.ideal is not None:
        skill = f"skill({metric.short}): 0 = the best anchoring control of the split, 1 = the truth"
        lines += ["", f"_{skill}; ! = a control beats it_"]
    lines += ["", "_Written by `omibench run`; one row per translator: its newest finished run._"]
    return "\n".join(lines)


def refresh(store: Store, experiment: str, split_hash: str, sort: str) -> Board | None:
    """Mark the current summary runs of ``experiment`` on split ``split_hash`` (the rule of
    :func:`omibench.results.current`) and write the leaderboard into the experiment's and those runs'
    descriptions. None when the experiment has no finished summary run."""
    exp_id = store.experiment_id(experiment, create=False)
    if exp_id is None:
        return None
    summaries = store.search(exp_id, Tags(level=RunLevel.SUMMARY), RunStatus.FINISHED)  # newest first
    on_split = [r for r in summaries if r.tags.split_hash == split_hash]
    chosen = {r.run_id for group in current(on_split).values() for r in group}
    for run in summaries:
        if run.run_id in chosen and run.tags.board != BOARD_CURRENT:
            store.set_tags(run.run_id, Tags(board=BOARD_CURRENT))
        elif run.run_id not in chosen and run.tags.board == BOARD_CURRENT:  # untagged runs are not on the page anyway
            store.set_tags(run.run_id, Tags(board=BOARD_SUPERSEDED))
    if not chosen:
        return None
    results = from_summaries(store, on_split, experiment)
    ranking = analysis.ranking(results, sort)
    order = {label: i for i, label in enumerate([*ranking.order, *(r.label for r in results)])}
    runs = sorted((r for r in on_split if r.run_id in chosen), key=lambda r: order.get(r.label, len(order)))
    text = board_markdown(results, sort, experiment)
    store.set_experiment_note(exp_id, text)
    for run in runs:
        store.set_run_note(run.run_id, text)
    logged = set(results.metrics())
    shown = [catalogue.key(m) for m in dict.fromkeys((catalogue.short_name(sort), *PAGE_METRICS)) if m in logged]
    ascending = catalogue.is_lower_better(sort)
    store.set_ui_view(exp_id, VIEW_KEY, catalogue.key(sort), ascending, shown, BOARD_FILTER)
    store.set_experiment_tags(exp_id, {BOARD_SORT_TAG: sort})
    return Board(exp_id, runs, text, store.ui_view_url(exp_id, VIEW_KEY))


def _url(store: Store, experiment_id: str, sort: str, port: int) -> str:
    """The saved view's URL; the plain filter URL for a store an older omibench wrote (no view)."""
    if VIEW_TAG + VIEW_KEY in store.experiment_tags(experiment_id):
        return store.ui_view_url(experiment_id, VIEW_KEY, port)
    lower = catalogue.is_lower_better(sort)
    return store.ui_url(experiment_id, order_by=catalogue.key(sort), ascending=lower, port=port)


def leaderboard_url(store: Store, experiment: str | None = None, port: int = 5000) -> list[tuple[str, str]]:
    """(experiment, URL) of each experiment of ``store`` that has a leaderboard page (only
    ``experiment`` when given), ranked by the metric of its last refresh."""
    pages = []
    for name in store.experiment_names():
        if experiment is not None and name != experiment:
            continue
        exp_id = store.experiment_id(name, create=False)
        sort = store.experiment_tags(exp_id).get(BOARD_SORT_TAG) if exp_id else None
        if exp_id is not None and sort:
            pages.append((name, _url(store, exp_id, sort, port)))
    return pages
