"""The paper's linear baselines: every gene regressed on every CpG.

- ``linear_regression``: ordinary least squares. With more CpGs than samples (p > n) the system
  is under-determined; we compute the **minimum-norm** least-squares solution through one SVD of
  the centred training input, which is what an unregularised fit converges to and explains the
  paper's poor LR row. The coefficients are kept factored (V and C with W = V C) so nothing of
  size CpGs x genes is ever built.
- ``lasso``: one celer Lasso per gene (objective 1/(2n)||y - Xw||² + alpha ||w||₁), genes fitted in
  parallel across CPU workers. ``alpha: null`` (the default) picks each gene's alpha on the
  validation split from a geometric grid below that gene's alpha_max; a number fixes it for all.
  The grid is walked from alpha_max down with warm starts and stops after ``path_patience`` alphas
  without a new validation minimum, or once validation MSE rises ``path_rise`` above its minimum
  (the costly dense end is solved only while validation wants it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import scipy.linalg
import scipy.sparse

from omibench import Chosen, FitContext, Interval, PairedData, PluginError, Translator, hookimpl

POSITIVE = Interval(float, 0.0, None, closed="neither")
GENE_BLOCK = 2048  # genes per block of linear_regression's U^T Y


class LinearRegression(Translator):
    """Minimum-norm least squares with intercept, all genes at once."""

    name = "linear_regression"
    default_params: ClassVar[Mapping[str, Any]] = {"rcond": None}
    param_constraints = {"rcond": [None, Interval(float, 0.0, 1.0)]}
    seed_dependent = False

    def fit(self, train: PairedData, val: PairedData, context: FitContext) -> LinearRegression:
        x = train.b.astype(np.float64)
        self.x_mean_ = x.mean(axis=0)
        self.y_mean_ = train.a.mean(axis=0, dtype=np.float64)  # no float64 copy of A: reduced in float64
        x -= self.x_mean_
        u, s, vt = scipy.linalg.svd(x, full_matrices=False, overwrite_a=True, check_finite=False)
        del x  # overwritten by the SVD
        rcond = self.params["rcond"]
        if rcond is None:  # numpy.linalg.lstsq's default cut-off
            rcond = max(train.b.shape) * np.finfo(np.float64).eps
        keep = s > rcond * s[0] if len(s) else s.astype(bool)
        # W = V diag(1/s) U^T Yc, kept as V (p x r) and C = diag(1/s) U^T Yc (r x g)
        self.v_ = np.ascontiguousarray(vt[keep].T, dtype=np.float32)
        del vt
        ut, s_kept = np.ascontiguousarray(u[:, keep].T), s[keep, None]
        del u
        # C in blocks of genes: the centred float64 A and U^T Yc are never whole (at 6,356 x 60,483
        # each would be 3 GB, four of them alive at once); every column is computed exactly as whole
        self.c_ = np.empty((ut.shape[0], train.a.shape[1]), dtype=np.float32)
        for start in range(0, train.a.shape[1], GENE_BLOCK):
            cols = slice(start, start + GENE_BLOCK)
            yc = train.a[:, cols].astype(np.float64) - self.y_mean_[cols]
            self.c_[:, cols] = (ut @ yc) / s_kept
        self.rank_ = int(keep.sum())
        return self

    def predict(self, b: np.ndarray) -> np.ndarray:
        z = (np.asarray(b, dtype=np.float32) - self.x_mean_.astype(np.float32)) @ self.v_
        return (z @ self.c_ + self.y_mean_.astype(np.float32)).astype(np.float32)

    def get_state(self) -> dict[str, np.ndarray]:
        return {"x_mean": self.x_mean_, "y_mean": self.y_mean_, "v": self.v_, "c": self.c_}

    def set_state(self, state: Mapping[str, np.ndarray]) -> None:
        self.x_mean_, self.y_mean_, self.v_, self.c_ = state["x_mean"], state["y_mean"], state["v"], state["c"]
        self.rank_ = self.v_.shape[1]


class Lasso(Translator):
    """One L1-penalised regression per gene with celer; alpha fixed or chosen per gene on validation."""

    name = "lasso"
    default_params: ClassVar[Mapping[str, Any]] = {
        "alpha": None,  # None: choose per gene on the validation split; a number: same alpha everywhere
        "n_alphas": 8,  # grid size for the validation choice
        "alpha_min_ratio": 0.01,  # grid spans alpha_max .. alpha_min_ratio * alpha_max, per gene
        "tol": 1e-4,  # duality gap below tol * ||y||^2 / n, as celer.Lasso
        "max_iter": 50,  # working-set iterations per alpha
        # stop a gene's validation path after this many alphas without a new validation minimum
        # (null: always the whole grid); the low-alpha end is the densest and costliest part
        "path_patience": 3,
        # ... or at once when one alpha's validation MSE exceeds the minimum so far by this fraction
        # (null: never): at the paper's size a weak gene's solution turns dense within two alphas
        "path_rise": 0.02,
    }
    param_constraints = {
        "alpha": [None, POSITIVE],
        "n_alphas": [Interval(int, 1, None)],
        "alpha_min_ratio": [Interval(float, 0.0, 1.0, closed="right")],
        "tol": [POSITIVE],
        "max_iter": [Interval(int, 1, None)],
        "path_patience": [None, Interval(int, 1, None)],
        "path_rise": [None, POSITIVE],
    }
    check_params: ClassVar[Mapping[str, Any]] = {"n_alphas": 3}
    seed_dependent = False

    @classmethod
    def skip_reason(cls, params: Mapping[str, Any], train: PairedData, val: PairedData) -> str | None:
        if params.get("alpha") is None and val.n_samples == 0:
            return (
                "lasso with alpha: null chooses alpha on the validation split, which is empty: "
                "set split.val_fraction > 0 or give alpha"
            )
        return None

    def chosen(self) -> Chosen:
        """The fixed alpha, or the per-gene alphas chosen on validation summarised by quartiles
        (genes without signal, whose alpha_max is 0, are left out)."""
        if self.params["alpha"] is not None:
            return {"alpha": float(self.params["alpha"])}
        picked = self.alpha_[self.alpha_ > 0]
        if not len(picked):
            return {}
        q25, q50, q75 = np.quantile(picked, [0.25, 0.5, 0.75])
        return {"alpha_q25": float(q25), "alpha_median": float(q50), "alpha_q75": float(q75)}

    @classmethod
    def search_space(cls, trial: Any) -> dict[str, Any]:
        # one alpha for every gene, in celer's units (the objective's 1/(2n) scaling)
        return {"alpha": trial.suggest_float("alpha", 1e-4, 1.0, log=True)}

    def fit(self, train: PairedData, val: PairedData, context: FitContext) -> Lasso:
        from joblib import Parallel, delayed

        if self.params["alpha"] is None and val.n_samples == 0:
            raise PluginError(self.skip_reason(self.params, train, val) or "")
        x = np.asfortranarray(train.b, dtype=np.float64)
        self.x_mean_ = x.mean(axis=0)
        x -= self.x_mean_
        y = train.a.astype(np.float64)
        self.y_mean_ = y.mean(axis=0)
        xv = (val.b.astype(np.float64) - self.x_mean_) if val.n_samples else None
        yv = (val.a.astype(np.float64) - self.y_mean_) if val.n_samples else None

        n_genes = y.shape[1]
        n_chunks = min(n_genes, max(1, 4 * context.n_jobs))
        chunks = np.array_split(np.arange(n_genes), n_chunks)
        jobs = (
            delayed(_fit_genes)(x, y[:, c] - self.y_mean_[c], None if yv is None else yv[:, c], xv, self.params)
            for c in chunks
        )
        # copy-on-write memmaps: celer needs writable buffers, and X is shared, not copied, per worker
        results = Parallel(n_jobs=context.n_jobs, return_as="generator", mmap_mode="c")(jobs)
        coefs, alphas = [], []
        for coef, alpha in context.progress(results, total=len(chunks), desc="lasso genes"):
            coefs.append(coef)
            alphas.append(alpha)
        self.coef_ = scipy.sparse.hstack(coefs, format="csc", dtype=np.float32)  # (p, g)
        self.alpha_ = np.concatenate(alphas)
        return self

    def predict(self, b: np.ndarray) -> np.ndarray:
        xc = np.asarray(b, dtype=np.float32) - self.x_mean_.astype(np.float32)
        return (np.asarray(self.coef_.T @ xc.T).T + self.y_mean_).astype(np.float32)

    def get_state(self) -> dict[str, np.ndarray]:
        c = self.coef_
        return {
            "x_mean": self.x_mean_,
            "y_mean": self.y_mean_,
            "alpha": self.alpha_,
            "coef_data": c.data,
            "coef_indices": c.indices,
            "coef_indptr": c.indptr,
            "coef_shape": np.array(c.shape),
        }

    def set_state(self, state: Mapping[str, np.ndarray]) -> None:
        self.x_mean_, self.y_mean_, self.alpha_ = state["x_mean"], state["y_mean"], state["alpha"]
        shape = tuple(int(v) for v in state["coef_shape"])
        parts = (state["coef_data"], state["coef_indices"], state["coef_indptr"])
        self.coef_ = scipy.sparse.csc_matrix(parts, shape=shape)


def _fit_genes(
    x: np.ndarray, y: np.ndarray, yv: np.ndarray | None, xv: np.ndarray | None, params: Mapping[str, Any]
) -> tuple[scipy.sparse.csc_matrix, np.ndarray]:
    """Fit the genes of one chunk (x and y centred); return sparse coefs (p, k) and chosen alphas."""
    from celer import celer_path

    n, p = x.shape
    coefs = np.zeros((p, y.shape[1]))
    chosen = np.zeros(y.shape[1])
    for j in range(y.shape[1]):
        yj = np.ascontiguousarray(y[:, j])
        alpha_max = np.abs(x.T @ yj).max() / n
        if alpha_max == 0.0:  # constant gene or no signal: the intercept alone
            chosen[j] = 0.0
            continue
        if params["alpha"] is not None:
            grid = np.array([float(params["alpha"])])
        else:
            grid = alpha_max * np.geomspace(1.0, params["alpha_min_ratio"], params["n_alphas"])
        tol = params["tol"] * float(yj @ yj) / n
        if len(grid) == 1:
            _, path, _ = celer_path(x, yj, pb="lasso", alphas=grid, tol=tol, max_iter=params["max_iter"], prune=1)
            coefs[:, j], chosen[j] = path[:, 0], grid[0]
        else:
            if xv is None or yv is None:  # fit() refuses alpha: null without validation rows before this
                raise ValueError("the validation path needs validation rows")
            best = _validation_path(
                x, yj, xv, yv[:, j], grid, tol, params["max_iter"], params["path_patience"], params["path_rise"]
            )
            coefs[:, j], chosen[j] = best[1], grid[best[0]]
    return scipy.sparse.csc_matrix(coefs), chosen


def _validation_path(
    x: np.ndarray,
    y: np.ndarray,
    xv: np.ndarray,
    yv: np.ndarray,
    grid: np.ndarray,
    tol: float,
    max_iter: int,
    patience: int | None,
    rise: float | None = None,
) -> tuple[int, np.ndarray]:
    """Walk the decreasing ``grid`` with warm starts; return (index, coefs) of the lowest validation MSE.

    With ``patience`` the walk stops once that many alphas in a row have not improved the validation
    MSE, or (``rise``) at once when one alpha's MSE exceeds the minimum so far by that fraction: the
    low-alpha end, where the solution is densest and celer's working sets grow the most, is then
    solved only when validation still favours it. Ties go to the larger alpha, as ``argmin`` over
    the whole grid would.
    """
    from celer import celer_path

    best_k, best_mse, best_w = 0, np.inf, np.zeros(x.shape[1])
    w = None
    for k in range(len(grid)):
        _, path, _ = celer_path(
            x, y, pb="lasso", alphas=grid[k : k + 1], tol=tol, max_iter=max_iter, prune=1, coef_init=w
        )
        w = path[:, 0]
        mse = float(((xv @ w - yv) ** 2).mean())
        if mse < best_mse:
            best_k, best_mse, best_w = k, mse, w
        elif (patience is not None and k - best_k >= patience) or (rise is not None and mse > best_mse * (1 + rise)):
            break
    return best_k, best_w


@hookimpl
def omibench_register_translators(register) -> None:
    register(LinearRegression)
    register(Lasso)
