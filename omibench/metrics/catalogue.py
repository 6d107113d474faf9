"""The metric catalogue: what every logged metric is, written once.

One :class:`Metric` per metric: its short name (what ``--sort`` and ``--columns`` take), the key it is
logged under on a job's run (``test/mse``, ``downstream/f1``, ``fit_time_s``), a label for reports, a
short column header, its direction, the value a perfect translator scores (the "truth" of a skill
score), the table it belongs to and its display order. Every sort, comparison, P(better) and skill
score takes the direction from here, time and memory included; no other module spells a metric key
prefix or a direction.

Split prefixes: a job logs each reconstruction metric on the test split (``test/<name>``) and on the
validation split (``val/<name>``; after ``refit: train+val`` the validation rows were fitted on, so
those values are in-sample); Table 3's classifier logs ``downstream/<name>`` (test split only); cost
metrics (``fit_time_s`` ...) have no prefix. A metric not listed here (a plugin's own) gets a
direction by :func:`_guess` and is said to be a guess.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "COST",
    "DOWNSTREAM",
    "Metric",
    "RESULT_PREFIXES",
    "SPLITS",
    "TABLE1",
    "TABLE3",
    "TEST",
    "VAL",
    "describe",
    "is_lower_better",
    "key",
    "known",
    "lookup",
    "ordered",
    "result_metrics",
    "short_name",
]

TEST = "test/"
VAL = "val/"
DOWNSTREAM = "downstream/"
SPLITS = {"test": TEST, "val": VAL}
Table = Literal["table1", "extra", "table3", "cost", "other"]


@dataclass(frozen=True)
class Metric:
    """One metric. ``name``: the short name (``mse``, ``downstream/f1``, ``fit_time_s``); ``prefix``:
    the split prefix its logged key carries on the test split ("" for cost metrics, which are logged
    under their name); ``ideal``: a perfect translator's value (None when unknown, e.g. a count of
    genes); ``guessed``: not in the catalogue, direction inferred from the name."""

    name: str
    prefix: str
    label: str
    short: str
    lower_is_better: bool
    ideal: float | None
    table: Table
    order: int
    unit: str = ""
    guessed: bool = False

    @property
    def key(self) -> str:
        """The key logged on a job's run for the test split (``test/mse``)."""
        return self.prefix + self.name if self.prefix == TEST else self.name

    def better(self, a: float, b: float) -> bool:
        """Whether value ``a`` is strictly better than ``b``."""
        return a < b if self.lower_is_better else a > b


_ENTRIES: tuple[tuple[str, str, str, str, bool, float | None, Table, str], ...] = (
    # OmiTrans Table 1, in the paper's order
    ("mse", TEST, "mean squared error", "MSE", True, 0.0, "table1", ""),
    ("rmse", TEST, "root mean squared error", "RMSE", True, 0.0, "table1", ""),
    ("mean_ae", TEST, "mean absolute error", "MeanAE", True, 0.0, "table1", ""),
    ("median_ae", TEST, "median absolute error", "MedianAE", True, 0.0, "table1", ""),
    ("mean_r2_samplewise", TEST, "mean samplewise R²", "meanR2s", False, 1.0, "table1", ""),
    ("mean_r2_featurewise", TEST, "mean featurewise R²", "meanR2f", False, 1.0, "table1", ""),
    ("median_r2_featurewise", TEST, "median featurewise R²", "medianR2f", False, 1.0, "table1", ""),
    ("count_r2_featurewise_gt_0.3", TEST, "genes with R² > 0.3", "#R2f>0.3", False, None, "table1", ""),
    ("pct_r2_featurewise_gt_0.3", TEST, "% of genes with R² > 0.3", "%R2f>0.3", False, 100.0, "table1", ""),
    # beyond the paper (omibench.metrics.extra)
    (
        "within_type_median_r2_featurewise",
        TEST,
        "median featurewise R² within each class",
        "withinR2f",
        False,
        1.0,
        "extra",
        "",
    ),
    ("mean_pearson_per_sample", TEST, "mean Pearson per sample", "r/sample", False, 1.0, "extra", ""),
    ("mean_spearman_per_sample", TEST, "mean Spearman per sample", "ρ/sample", False, 1.0, "extra", ""),
    ("mean_pearson_per_gene", TEST, "mean Pearson per gene", "r/gene", False, 1.0, "extra", ""),
    ("mean_spearman_per_gene", TEST, "mean Spearman per gene", "ρ/gene", False, 1.0, "extra", ""),
    ("overall_pearson", TEST, "Pearson of the flattened matrices", "r", False, 1.0, "extra", ""),
    # OmiTrans Table 3: the classifier trained on real data, tested on translated data
    ("downstream/accuracy", DOWNSTREAM, "downstream accuracy", "acc", False, 1.0, "table3", ""),
    ("downstream/precision", DOWNSTREAM, "downstream precision (macro)", "prec", False, 1.0, "table3", ""),
    ("downstream/recall", DOWNSTREAM, "downstream recall (macro)", "recall", False, 1.0, "table3", ""),
    ("downstream/f1", DOWNSTREAM, "downstream F1 (macro)", "F1", False, 1.0, "table3", ""),
    ("downstream/auc", DOWNSTREAM, "downstream AUC (macro one-vs-rest)", "AUC", False, 1.0, "table3", ""),
    # what a fit costs
    ("fit_time_s", "", "fit time", "fit time", True, None, "cost", "s"),
    ("predict_time_s", "", "predict time", "predict time", True, None, "cost", "s"),
    ("fit_cpu_s", "", "fit CPU time", "fit CPU", True, None, "cost", "s"),
    ("peak_rss_mb", "", "peak resident memory", "peak RSS", True, None, "cost", "MB"),
    ("peak_gpu_mb", "", "peak GPU memory", "peak GPU", True, None, "cost", "MB"),
)
_CATALOGUE: dict[str, Metric] = {
    entry[0]: Metric(*entry[:7], order=i, unit=entry[7]) for i, entry in enumerate(_ENTRIES)
}

TABLE1: tuple[str, ...] = tuple(m.name for m in _CATALOGUE.values() if m.table == "table1")
TABLE3: tuple[str, ...] = tuple(m.name for m in _CATALOGUE.values() if m.table == "table3")
COST: tuple[str, ...] = tuple(m.name for m in _CATALOGUE.values() if m.table == "cost")
# what a job reports as its result (per-epoch step metrics such as loss_d are not results)
RESULT_PREFIXES: tuple[str, ...] = (TEST, VAL, DOWNSTREAM, *COST)


def short_name(logged_key: str) -> str:
    """The short name of a logged key: ``test/mse`` -> ``mse``; ``downstream/f1`` and ``fit_time_s``
    stay as they are."""
    return logged_key.removeprefix(TEST)


def _guess(name: str) -> Metric:
    lower = name.endswith(("_s", "_mb", "_ae", "mse", "rmse", "loss", "error"))
    table: Table = "table3" if name.startswith(DOWNSTREAM) else "other"
    prefix = DOWNSTREAM if name.startswith(DOWNSTREAM) else TEST
    return Metric(name, prefix, name, name.removeprefix(DOWNSTREAM), lower, None, table, 10_000, guessed=True)


def lookup(name: str) -> Metric:
    """The catalogue entry of a metric by short name or test key (``mse``, ``test/mse``); a metric
    the catalogue does not know gets a guessed entry (``guessed=True``)."""
    short = short_name(name)
    return _CATALOGUE.get(short) or _guess(short)


def known(name: str) -> bool:
    return short_name(name) in _CATALOGUE


def is_lower_better(name: str) -> bool:
    """Whether smaller values of metric ``name`` are better (errors, times, memory)."""
    return lookup(name).lower_is_better


def key(name: str, split: Literal["test", "val"] = "test") -> str:
    """The key a job logs metric ``name`` under on ``split`` (``key("mse", "val")`` -> ``val/mse``)."""
    metric = lookup(name)
    if metric.prefix == TEST:
        return SPLITS[split] + metric.name
    return metric.key


def result_metrics(metrics: dict[str, float]) -> dict[str, float]:
    """The result values among a run's logged metrics (not per-epoch values, not ``*_std``)."""
    return {k: v for k, v in metrics.items() if k.startswith(RESULT_PREFIXES) and not k.endswith("_std")}


def ordered(names: Iterable[str]) -> list[str]:
    """Short names in display order: Table 1 and Table 3 in the paper's order, then every other metric
    (the extra ones, costs, a plugin's own) by name, the order the leaderboard's CSV columns have."""

    def place(name: str) -> tuple[int, int, str]:
        metric = lookup(name)
        group = {"table1": 0, "table3": 1}.get(metric.table, 2)
        return group, metric.order if group < 2 else 0, name

    return sorted(set(names), key=place)


def describe(name: str) -> str:
    """``median featurewise R² (higher is better)`` — for table footnotes and error messages."""
    metric = lookup(name)
    way = "lower" if metric.lower_is_better else "higher"
    return f"{metric.label} ({way} is better{', guessed from its name' if metric.guessed else ''})"
