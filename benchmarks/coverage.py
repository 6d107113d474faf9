"""Coverage of the split-based intervals of :mod:`omibench.stats` on simulated cohorts (issue 28).

Data contract, as in :mod:`omibench.stats`: one test-set MSE per outer split, J repeated holdouts of one
cohort. The population is y = X w + e with X ~ N(0, I_p), e ~ N(0, 1), w fixed by ``--seed``. Each
repetition draws a fresh cohort of ``--n`` samples, scores two learners, ridge (``--alpha``) and OLS, on
the same ``--splits`` random holdouts (``--test-frac`` held out), and builds 95% intervals with the
library's own functions:

  - per translator (ridge, OLS): plain t and corrected resampled t (``mean_interval`` without / with sizes);
  - paired, ridge - OLS: plain t, corrected t (``corrected_t_interval``) and bootstrap over splits.

Targets: a learner's expected test MSE when trained on n_train samples from the population, averaged
over training sets (Nadeau & Bengio 2003), and the difference of the two. With X ~ N(0, I) a fitted
model's test MSE is exactly 1 + ||w_hat - w||², so the targets are Monte Carlo means over many training
sets (OLS is checked against its closed form p / (n_train - p - 1)). Coverage is the share of
repetitions whose interval contains the target.

    .venv/bin/python benchmarks/coverage.py                 # 1,500 repetitions
    .venv/bin/python benchmarks/coverage.py --quick         # 300 repetitions
    .venv/bin/python benchmarks/coverage.py --out           # also writes benchmarks/coverage.csv
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from omibench.stats.intervals import Interval, bootstrap_interval, corrected_t_interval, mean_interval

CONFIDENCE = 0.95
TARGET_COVERAGE = 0.90
DEFAULT_OUT = Path(__file__).with_name("coverage.csv")


def fit_errors(x: np.ndarray, y: np.ndarray, w: np.ndarray, alpha: float) -> np.ndarray:
    """Exact population test MSE, 1 + ||w_hat - w||², of ridge (alpha) and OLS fitted on each batch.

    x: (..., n_train, p), y: (..., n_train) -> (..., 2) with columns ridge, OLS.
    """
    gram = np.swapaxes(x, -1, -2) @ x
    xty = (np.swapaxes(x, -1, -2) @ y[..., None])[..., 0]
    eye = np.eye(x.shape[-1])
    out = [np.linalg.solve(gram + a * eye, xty[..., None])[..., 0] for a in (alpha, 0.0)]
    return np.stack([1.0 + ((b - w) ** 2).sum(-1) for b in out], axis=-1)


def expected_errors(
    w: np.ndarray, n_train: int, alpha: float, rng: np.random.Generator, n_sets: int = 40_000
) -> tuple[np.ndarray, float, float]:
    """Monte Carlo expected test MSE at n_train (ridge, OLS), the expected difference, and its MC se."""
    chunks = []
    for _ in range(n_sets // 2_000):
        x = rng.standard_normal((2_000, n_train, w.size))
        chunks.append(fit_errors(x, x @ w + rng.standard_normal((2_000, n_train)), w, alpha))
    errs = np.concatenate(chunks)
    diff = errs[:, 0] - errs[:, 1]
    return errs.mean(0), float(diff.mean()), float(diff.std(ddof=1) / np.sqrt(diff.size))


def split_scores(
    x: np.ndarray, y: np.ndarray, n_test: int, splits: int, alpha: float, rng: np.random.Generator
) -> np.ndarray:
    """Test MSE on each holdout of each cohort: x (R, n, p), y (R, n) -> (R, splits, 2) for ridge, OLS."""
    reps, n, p = x.shape
    perm = rng.permuted(np.broadcast_to(np.arange(n), (reps, splits, n)), axis=-1)
    rows = np.arange(reps)[:, None, None]
    tr, te = perm[..., n_test:], perm[..., :n_test]
    xtr, ytr, xte, yte = x[rows, tr], y[rows, tr], x[rows, te], y[rows, te]
    gram = np.swapaxes(xtr, -1, -2) @ xtr
    xty = np.swapaxes(xtr, -1, -2) @ ytr[..., None]
    scores = []
    for a in (alpha, 0.0):
        beta = np.linalg.solve(gram + a * np.eye(p), xty)
        scores.append(((yte - (xte @ beta)[..., 0]) ** 2).mean(-1))
    return np.stack(scores, axis=-1)


def intervals(s: np.ndarray, n_train: int, n_test: int, seed: int) -> dict[str, Interval]:
    """The seven intervals of one repetition from its (splits, 2) scores (ridge, OLS)."""
    d = s[:, 0] - s[:, 1]
    out: dict[str, Interval] = {}
    for j, name in enumerate(("ridge", "ols")):
        out[f"{name}: plain t"] = mean_interval(s[:, j], CONFIDENCE)
        out[f"{name}: corrected t"] = mean_interval(s[:, j], CONFIDENCE, n_fit=n_train, n_test=n_test)
    out["ridge - ols: plain t"] = mean_interval(d, CONFIDENCE)
    out["ridge - ols: corrected t"] = corrected_t_interval(d, n_train, n_test, CONFIDENCE)[0]
    out["ridge - ols: bootstrap"] = bootstrap_interval(d, CONFIDENCE, n_boot=2_000, seed=seed)
    return out


Row = tuple[str, float, float]  # interval, coverage, mean width


def run(args: argparse.Namespace) -> list[Row]:
    rng = np.random.default_rng(args.seed)
    n_test = round(args.n * args.test_frac)
    n_train = args.n - n_test
    w = rng.standard_normal(args.p) / np.sqrt(args.p)
    (t_ridge, t_ols), t_diff, mc_se = expected_errors(w, n_train, args.alpha, rng)
    print(
        f"n={args.n} (train {n_train}, test {n_test}), p={args.p}, J={args.splits}, reps={args.reps}, "
        f"alpha={args.alpha}, seed={args.seed}, threads={args.threads}"
    )
    print(
        f"targets at n_train={n_train}: ridge {t_ridge:.4f}, OLS {t_ols:.4f} (closed form "
        f"{1 + args.p / (n_train - args.p - 1):.4f}), ridge - OLS {t_diff:.4f} (MC se {mc_se:.1e})"
    )
    targets = {"ridge": t_ridge, "ols": t_ols, "ridge - ols": t_diff}
    hits: dict[str, list[bool]] = {}
    widths: dict[str, list[float]] = {}
    for start in range(0, args.reps, 250):
        r = min(250, args.reps - start)
        x = rng.standard_normal((r, args.n, args.p))
        y = x @ w + rng.standard_normal((r, args.n))
        scores = split_scores(x, y, n_test, args.splits, args.alpha, rng)
        for i in range(r):
            for name, iv in intervals(scores[i], n_train, n_test, args.seed + start + i).items():
                target = targets[name.split(":")[0]]
                hits.setdefault(name, []).append(iv.low <= target <= iv.high)
                widths.setdefault(name, []).append(iv.high - iv.low)
    return [(k, float(np.mean(hits[k])), float(np.mean(widths[k]))) for k in hits]


def report(rows: list[Row], reps: int) -> None:
    print(f"\n{'interval':<26} | coverage | mean width   (coverage MC se ~ {np.sqrt(0.9 * 0.1 / reps):.3f})")
    print(f"{'-' * 26}-+----------+-----------")
    for name, cov, width in rows:
        print(f"{name:<26} | {cov:8.3f} | {width:10.4f}")
    worst, cov, _ = min((row for row in rows if row[0].endswith("corrected t")), key=lambda row: row[1])
    verdict = "met" if cov >= TARGET_COVERAGE else "not met"
    print(
        f"\ndefault interval (corrected t) coverage {cov:.2f}: target >= {TARGET_COVERAGE:.2f} {verdict}"
        f"   (lowest of the corrected rows: {worst})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=1500, help="simulated cohorts")
    parser.add_argument("--quick", action="store_true", help="300 repetitions")
    parser.add_argument("--n", type=int, default=100, help="samples per cohort")
    parser.add_argument("--splits", type=int, default=10, help="repeated holdouts per cohort (J)")
    parser.add_argument("--test-frac", type=float, default=0.2, help="share of a cohort held out per split")
    parser.add_argument("--p", type=int, default=20, help="features")
    parser.add_argument("--alpha", type=float, default=20.0, help="ridge penalty on the unscaled Gram X'X")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="BLAS / OpenMP threads")
    parser.add_argument("--out", nargs="?", type=Path, const=DEFAULT_OUT, help=f"write a CSV (default {DEFAULT_OUT})")
    args = parser.parse_args()
    if args.quick:
        args.reps = 300
    if args.n - round(args.n * args.test_frac) <= args.p + 1:
        parser.error("OLS needs n_train > p + 1")
    start = time.perf_counter()
    with threadpool_limits(limits=args.threads):
        rows = run(args)
    report(rows, args.reps)
    print(f"run time {time.perf_counter() - start:.1f} s")
    if args.out is not None:
        with open(args.out, "w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["interval", "coverage", "mean_width"])
            writer.writerows(rows)
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
