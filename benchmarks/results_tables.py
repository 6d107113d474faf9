"""The tables and claims of docs/results.md, read back from a store filled by resampled_cohorts.sh.

For each cohort experiment: one Markdown table (mean [95% t interval] over outer splits of median
R²f, within-type median R²f where there are labels, and MSE; the paired difference of median R²f to
ridge with its corrected resampled t interval and P(better); fit time and peak memory), then the
named claims (translator pairs) with the same statistics, and the share of the best translator's
median R²f that ``class_mean`` (no methylation used) reaches.

    .venv/bin/python benchmarks/results_tables.py STORE,NEURAL_STORE tcga_coad_chr21 tcga_laml rosmap tcga_brca
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence

from omibench.results.collect import TranslatorResults, collect
from omibench.stats.intervals import paired_comparison
from omibench.store import MlflowStore

R2F = "median_r2_featurewise"
WITHIN = "within_type_median_r2_featurewise"
MSE = "mse"
CLAIMS: tuple[tuple[str, str], ...] = (
    ("stack", "ridge"),
    ("krr", "ridge"),
    ("svd_krr", "ridge"),
    ("local", "ridge"),
    ("lasso", "ridge"),
    ("omitrans_fc", "lasso"),
    ("omitrans_fc", "tdimpute"),
    ("tdimpute", "lasso"),
    ("omitrans_fc", "ridge"),
    ("tdimpute", "ridge"),
    ("lasso", "linear_regression"),
    ("ridge", "train_mean"),
)


def _num(x: float, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return f"{x:.{digits}f}" if abs(x) >= 10**-digits or x == 0 else f"{x:.2g}"


def _cell(res: TranslatorResults, metric: str, digits: int = 3) -> str:
    iv = res.interval(metric)
    if iv is None:
        return "–"
    if math.isnan(iv.low):
        return f"{_num(iv.estimate, digits)} (n={iv.n})"
    return f"{_num(iv.estimate, digits)} [{_num(iv.low, digits)}, {_num(iv.high, digits)}]"


def _mean(res: TranslatorResults, metric: str) -> float:
    per = res.values.get(metric, {})
    return sum(per.values()) / len(per) if per else math.nan


def _pair(x: TranslatorResults, ref: TranslatorResults, metric: str) -> str:
    common = [h for h in ref.values.get(metric, {}) if h in x.values.get(metric, {})]
    if len(common) < 2:
        return f"n={len(common)}: no interval"
    n_train = ref.n_train or x.n_train
    n_test = ref.n_test or x.n_test
    cmp = paired_comparison(
        [x.values[metric][h] for h in common],
        [ref.values[metric][h] for h in common],
        metric=metric,
        n_train=n_train,
        n_test=n_test,
        method="corrected_t",
    )
    d = cmp.difference
    star = "" if d.low <= 0 <= d.high else " *"
    p = cmp.p_better.estimate
    return f"{d.estimate:+.3f} [{d.low:+.3f}, {d.high:+.3f}]{star}, P(better) {p:.2f} (n={len(common)})"


def _results(stores: Sequence[MlflowStore], experiment: str) -> list[TranslatorResults]:
    kept: dict[str, TranslatorResults] = {}
    for store in stores:  # e.g. the fast group's store and the neural group's
        for res in collect(store, store.summaries(experiment, None, None)):
            # a translator in both (the controls, added by default): the one over more splits
            if res.label not in kept or len(res.splits) > len(kept[res.label].splits):
                kept[res.label] = res
    return list(kept.values())


def summary(stores: Sequence[MlflowStore], experiments: Sequence[str]) -> None:
    """The claims as one table (a row per pair, a column per cohort), then class_mean's share."""
    by_exp = {e: {r.label: r for r in _results(stores, e)} for e in experiments}
    print("| translator − reference | " + " | ".join(experiments) + " |")
    print("|---|" + "---|" * len(experiments))
    for x, y in CLAIMS:
        cells = [_pair(by[x], by[y], R2F) if x in by and y in by else "–" for by in by_exp.values()]
        print(f"| {x} − {y} | " + " | ".join(cells) + " |")
    print(
        "\n| cohort | class_mean median R²f | best translator | its median R²f | share | its within-type median R²f |"
    )
    print("|---|---|---|---|---|---|")
    for e, by in by_exp.items():
        ranked = [r for r in by.values() if not r.control and r.values.get(R2F)]
        if not ranked or "class_mean" not in by:
            continue
        best = max(ranked, key=lambda r: _mean(r, R2F))
        cm, bv = _mean(by["class_mean"], R2F), _mean(best, R2F)
        share = f"{cm / bv:.0%}" if bv > 0 and cm >= 0 else ("above the best" if cm > bv else "–")
        cells = [e, _cell(by["class_mean"], R2F), best.label, _cell(best, R2F), share, _cell(best, WITHIN)]
        print("| " + " | ".join(cells) + " |")


def cohort(stores: Sequence[MlflowStore], experiment: str) -> None:
    results = _results(stores, experiment)
    by = {r.label: r for r in results}
    order = sorted(results, key=lambda r: (r.control, -_mean(r, R2F)))
    ref = by.get("ridge")
    has_within = any(r.values.get(WITHIN) for r in results)
    print(f"\n### {experiment}\n")
    head = ["translator", "splits", "median R²f [95% CI]"]
    head += ["within-type median R²f"] if has_within else []
    head += ["MSE [95% CI]", "Δ median R²f vs ridge [95% CI], P(better)", "fit s", "peak MB"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for r in order:
        name = f"{r.label} (control)" if r.control else r.label
        row = [name, str(len(r.values.get(R2F, {}))), _cell(r, R2F)]
        row += [_cell(r, WITHIN)] if has_within else []
        row += [_cell(r, MSE, 4)]
        row += [_pair(r, ref, R2F) if ref is not None and r is not ref and not r.control else ""]
        row += [_num(_mean(r, "fit_time_s"), 2), _num(_mean(r, "peak_rss_mb"), 0)]
        print("| " + " | ".join(row) + " |")
    print("\nClaims (median R²f, paired over the outer splits both ran; corrected resampled t; * = excludes 0):\n")
    for x, y in CLAIMS:
        if x in by and y in by:
            print(f"- {x} − {y}: {_pair(by[x], by[y], R2F)}")
    ranked = [r for r in results if not r.control and r.values.get(R2F)]
    if ranked and "class_mean" in by:
        best = max(ranked, key=lambda r: _mean(r, R2F))
        cm, bv = _mean(by["class_mean"], R2F), _mean(best, R2F)
        share = cm / bv if bv > 0 else math.nan
        print(f"- class_mean reaches {_num(cm)}, the best translator ({best.label}) {_num(bv)}: share {_num(share, 2)}")


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("stores", help="store folder(s), comma-separated")
    ap.add_argument("experiments", nargs="+")
    ap.add_argument("--summary", action="store_true", help="the claims and class_mean tables only")
    args = ap.parse_args(argv)
    stores = [MlflowStore(path, None) for path in args.stores.split(",")]
    if args.summary:
        summary(stores, args.experiments)
        return
    for experiment in args.experiments:
        cohort(stores, experiment)


if __name__ == "__main__":
    main()
