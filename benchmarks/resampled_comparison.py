"""Paired comparisons over outer splits on one shared cohort, with scikit-learn stand-ins for translators.

A check of :mod:`omibench.stats` and :mod:`omibench.data.resampling` on real data, before the runner
runs translators over outer splits: per-gene training mean, RidgeCV and kNN regression, each fitted on
the training part of every outer split and scored on its test part (median featurewise R², the
original scale), then compared with RidgeCV by the corrected resampled t and by the plain paired t.

    .venv/bin/python benchmarks/resampled_comparison.py --root ../shared/data/tcga_brca_lockdunson
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats as st
from sklearn.linear_model import Ridge, RidgeCV
from sklearn.neighbors import KNeighborsRegressor

from omibench.data.resampling import outer_splits
from omibench.data.sources import FilesSource
from omibench.metrics.extra import within_type_r2
from omibench.metrics.reconstruction import score
from omibench.stats.intervals import mean_interval, paired_comparison


def _models() -> dict[str, Any]:
    return {
        "ridge": RidgeCV(alphas=np.logspace(-2, 4, 13)),
        "ridge_a10": Ridge(alpha=10.0),
        "knn": KNeighborsRegressor(n_neighbors=10),
        "train_mean": None,
        "class_mean": None,
    }


def _class_mean(a_fit: np.ndarray, lab_fit: np.ndarray, lab_test: np.ndarray) -> np.ndarray:
    overall = a_fit.mean(axis=0)
    means = {c: a_fit[lab_fit == c].mean(axis=0) for c in set(lab_fit.tolist())}
    return np.vstack([means.get(c, overall) for c in lab_test.tolist()])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", default="../shared/data/tcga_brca_lockdunson")
    ap.add_argument("--repeats", type=int, default=10)
    args = ap.parse_args()
    src = FilesSource(
        FilesSource.Params(
            root=Path(args.root),
            b=Path("methylation_beta.csv"),
            a=Path("expression_log2ratio.csv"),
            labels=Path("labels.csv"),
            label_column="pam50",
        )
    )
    data = src.load()
    assert data.labels is not None
    labels = np.array(["<none>" if x is None else str(x) for x in data.labels], dtype=object)
    print(f"{data.name}: {data.n_samples} samples, {data.b.shape[1]} B features, {data.a.shape[1]} A features")
    for scheme, repeats in (("repeated_holdout", args.repeats), ("kfold", max(1, args.repeats // 5))):
        t0 = time.perf_counter()
        splits = outer_splits(data, scheme, folds=5, repeats=repeats, seed=0)
        values: dict[str, list[float]] = {name: [] for name in _models()}
        within: list[float] = []
        for sp in splits:
            rows = sp.rows(data)
            fit_rows = np.concatenate([rows["train"], rows["val"]])
            for name, model in _models().items():
                if name == "train_mean":
                    pred = np.tile(data.a[fit_rows].mean(axis=0), (len(rows["test"]), 1))
                elif name == "class_mean":  # a control: reads the test labels, never methylation
                    pred = _class_mean(data.a[fit_rows], labels[fit_rows], labels[rows["test"]])
                else:
                    model.fit(data.b[fit_rows], data.a[fit_rows])
                    pred = model.predict(data.b[rows["test"]])
                values[name].append(score(data.a[rows["test"]], pred).summary["median_r2_featurewise"])
                if name == "ridge":
                    within.append(within_type_r2(data.a[rows["test"]], pred, labels[rows["test"]]).summary)
        # the sizes the models were fitted on (training + validation rows here) and scored on
        n_train = float(np.mean([len(s.train) + len(s.val) for s in splits]))
        n_test = float(np.mean([len(s.test) for s in splits]))
        print(
            f"\n{scheme}: {len(splits)} outer splits, n_train {n_train:.0f}, n_test {n_test:.0f}, "
            f"{time.perf_counter() - t0:.1f} s"
        )
        for name, v in values.items():
            print(f"  {name:10s} median R²f {mean_interval(v)}")
        print(f"  ridge within-type median R²f (PAM50, class-size weighted) {mean_interval(within)}")
        for name in ("ridge_a10", "knn", "class_mean", "train_mean"):
            c = paired_comparison(
                values[name],
                values["ridge"],
                metric="median_r2_featurewise",
                lower_is_better=False,
                n_fit=n_train,
                n_test=n_test,
            )
            d = np.array(values[name]) - np.array(values["ridge"])
            plain = st.t.interval(0.95, len(d) - 1, loc=d.mean(), scale=st.sem(d))
            print(
                f"  {name} - ridge: {c.difference} corrected t (p {c.pvalue:.3g}), plain t "
                f"[{plain[0]:.4g}, {plain[1]:.4g}]; P(better) {c.p_better}; {c.verdict}"
            )


if __name__ == "__main__":
    main()
