"""The tables and claims of docs/results.md, read back from a store filled by resampled_cohorts.sh.

For each cohort experiment: one Markdown table (mean [95% corrected resampled t interval, with the
sizes each model was fitted on] over outer splits of median R²f, within-type median R²f where there
are labels, and MSE; the rank on matched splits (``n=3/10`` for a translator run on fewer splits than
the ranked ones); the skill score on median R²f against the best control of each split; the paired
difference of median R²f to ridge with its corrected resampled t interval and P(better); fit time and
peak memory), then the named claims (translator pairs) with the same statistics, and the share of the
best translator's median R²f that ``class_mean`` (no methylation used) reaches. Everything is read
through ``omibench.results`` (the leaderboard's own read path).

    .venv/bin/python benchmarks/results_tables.py STORE[,NEURAL_STORE] tcga_coad_chr21 tcga_laml rosmap tcga_brca
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence

from omibench import results
from omibench.report.format import diff_cell
from omibench.results import ResultSet, TranslatorResult, analysis
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


def _cell(res: TranslatorResult, metric: str, digits: int = 3) -> str:
    iv = analysis.interval(res, metric)
    if iv is None:
        return "–"
    if math.isnan(iv.low):
        return f"{_num(iv.estimate, digits)} (n={iv.n})"
    return f"{_num(iv.estimate, digits)} [{_num(iv.low, digits)}, {_num(iv.high, digits)}]"


def _mean(res: TranslatorResult, metric: str) -> float:
    per = res.values.get(metric, {})
    return sum(per.values()) / len(per) if per else math.nan


def _pair(rs: ResultSet, x: str, ref: str, metric: str) -> str:
    comp = analysis.compare(rs, ref, metric).get(x)
    if comp is None:
        return "–"
    if comp.n_splits < 2:
        return f"n={comp.n_splits}: no interval"
    return f"{diff_cell(comp)}, P(better) {comp.p_better.estimate:.2f} (n={comp.n_splits})"


def _results(stores: Sequence[MlflowStore], experiment: str) -> ResultSet:
    """One experiment's results over several stores (e.g. the fast group's and the neural group's); a
    translator in both (the controls, added by default) keeps the one over more splits."""
    kept: dict[str, TranslatorResult] = {}
    for store in stores:
        for res in results.load(store, experiment):
            if res.label not in kept or len(res.splits) > len(kept[res.label].splits):
                kept[res.label] = res
    return ResultSet(experiment, list(kept.values()))


def summary(stores: Sequence[MlflowStore], experiments: Sequence[str]) -> None:
    """The claims as one table (a row per pair, a column per cohort), then class_mean's share."""
    by_exp = {e: _results(stores, e) for e in experiments}
    print("| translator − reference | " + " | ".join(experiments) + " |")
    print("|---|" + "---|" * len(experiments))
    for x, y in CLAIMS:
        cells = [_pair(rs, x, y, R2F) if rs.get(x) and rs.get(y) else "–" for rs in by_exp.values()]
        print(f"| {x} − {y} | " + " | ".join(cells) + " |")
    print(
        "\n| cohort | class_mean median R²f | best ranked translator | its median R²f | share | "
        "its within-type median R²f |"
    )
    print("|---|---|---|---|---|---|")
    for e, rs in by_exp.items():
        ranking = analysis.ranking(rs, R2F)
        cm_res, best = rs.get("class_mean"), rs.get(ranking.order[0]) if ranking.order else None
        if best is None or cm_res is None:
            continue
        cm, bv = _mean(cm_res, R2F), _mean(best, R2F)
        share = f"{cm / bv:.0%}" if bv > 0 and cm >= 0 else ("above the best" if cm > bv else "–")
        cells = [e, _cell(cm_res, R2F), best.label, _cell(best, R2F), share, _cell(best, WITHIN)]
        print("| " + " | ".join(cells) + " |")


def cohort(stores: Sequence[MlflowStore], experiment: str) -> None:
    rs = _results(stores, experiment)
    ranking = analysis.ranking(rs, R2F)
    skills = analysis.skill(rs, R2F)
    order = [*(rs.get(label) for label in ranking.order)]
    order += sorted((r for r in rs.translators if r.label not in ranking.order), key=lambda r: -_mean(r, R2F))
    order += sorted(rs.controls, key=lambda r: -_mean(r, R2F))
    has_within = any(r.values.get(WITHIN) for r in rs)
    print(f"\n### {experiment}\n")
    head = ["#", "translator", "splits", "median R²f [95% corrected t]"]
    head += ["within-type median R²f"] if has_within else []
    head += ["MSE [95% corrected t]", "skill (median R²f)", "Δ median R²f vs ridge [95% corrected t], P(better)"]
    head += ["fit s", "peak MB"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for r in order:
        if r is None:
            continue
        rank = ranking.rank(r.label)
        partial = ranking.partial.get(r.label)
        place = str(rank) if rank else (f"n={partial[0]}/{partial[1]}" if partial else "–")
        score = skills.scores.get(r.label)
        row = [place, f"{r.label} (control)" if r.control else r.label, str(len(r.values.get(R2F, {}))), _cell(r, R2F)]
        row += [_cell(r, WITHIN)] if has_within else []
        row += [_cell(r, MSE, 4)]
        row += [f"{score.mean:+.3f}{' !' if score.below_control else ''}" if score else ""]
        row += [_pair(rs, r.label, "ridge", R2F) if r.label != "ridge" and not r.control else ""]
        row += [_num(_mean(r, "fit_time_s"), 2), _num(_mean(r, "peak_rss_mb"), 0)]
        print("| " + " | ".join(row) + " |")
    if ranking.note:
        print(f"\n{ranking.note}.")
    print("\nClaims (median R²f, paired over the outer splits both ran; corrected resampled t; * = excludes 0):\n")
    for x, y in CLAIMS:
        if rs.get(x) and rs.get(y):
            print(f"- {x} − {y}: {_pair(rs, x, y, R2F)}")
    cm_res = rs.get("class_mean")
    best = rs.get(ranking.order[0]) if ranking.order else None
    if best is not None and cm_res is not None:
        cm, bv = _mean(cm_res, R2F), _mean(best, R2F)
        share = cm / bv if bv > 0 else math.nan
        best_text = f"the best ranked translator ({best.label}) {_num(bv)}"
        print(f"- class_mean reaches {_num(cm)}, {best_text}: share {_num(share, 2)}")


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
