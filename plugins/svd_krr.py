"""``svd_krr``: truncated SVD of inputs and targets, RBF kernel ridge between them, a fold ensemble.

The recipe that won the NeurIPS 2021 multimodal single-cell competition's GEX -> ADT task
(team Guanlab-dengkw, github.com/dengkw/neurips2021-multimodal): reduce the inputs with a
truncated SVD, regress the target's leading SVD components on them with RBF kernel ridge, fit
one model per fold of the training data and average. Differences from their code: the input SVD
is fitted on the training split only (they fitted it on train + test inputs), and bandwidth,
penalty and both ranks are chosen on the validation split instead of being fixed.

Algorithm (``fit``):

1. Standardise each CpG with its training mean and SD; randomized SVD -> the top
   ``max(n_components_in_grid)`` right singular vectors V; inputs Z = X_std V (n x k_in).
2. Centre the targets; randomized SVD -> the top ``n_components_out`` right singular vectors W;
   target scores T = Y_c W (n x k_out). A prediction is T̂ Wᵀ + mean.
3. Selection on a seeded subsample of at most ``select_samples`` training rows: for every input
   rank and bandwidth one eigendecomposition of the kernel gives every penalty's solution; the
   validation MSE in gene space of every (rank_in, bandwidth, alpha, rank_out) is computed
   (rank_out is a free nested path: dropped components predict 0).
4. Final model: ``n_members`` kernel ridge fits with the chosen values, member m on all training
   rows outside fold m (one fold only: all rows), solved by Cholesky; predictions averaged.

Kernel k(z, z') = exp(-||z - z'||² / (bandwidth * median squared training distance)); the
penalty is λ = alpha * n_rows, so an alpha chosen on the subsample means the same on all rows.

Cost at the paper's size (9,081 training samples x 39,464 CpGs -> 60,483 genes): the kernel of
one member (7,265 rows at 5 folds) is 7,265² float64 = 420 MB, 9,081² = 660 MB at one fold,
well inside a workstation; the Cholesky solve is ~n³/3 flops per member. The inputs and targets
themselves (1.4 GB + 2.2 GB float32) dominate memory.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import numpy as np
import scipy.linalg
from sklearn.utils.extmath import randomized_svd

from omibench import FitContext, PairedData, PluginError, Translator, hookimpl

__all__ = ["SvdKrr"]


class SvdKrr(Translator):
    """Truncated SVD -> RBF kernel ridge -> truncated SVD back, averaged over fold members.

    Data contract: float32 (n, n_cpgs) in, float32 (n, n_genes) out on the scale of ``train.a``;
    the validation split chooses bandwidth, penalty and ranks and is never fitted on.
    """

    name = "svd_krr"
    default_params: ClassVar[Mapping[str, Any]] = {
        "n_components_in": None,  # None: choose on validation from n_components_in_grid
        "n_components_in_grid": [16, 64, 256],
        "n_components_out": 256,  # the most target components; fewer chosen on validation
        "bandwidth": None,  # x median squared distance; None: choose from bandwidths
        "bandwidths": [0.5, 1.0, 2.0, 4.0, 8.0, 16.0],
        "alpha": None,  # λ / n_rows; None: choose on validation from alpha_grid
        "alpha_grid": [1e-5, 1.0],
        "n_alphas": 16,
        "n_members": 5,  # ensemble of fold members (1: a single fit on all training rows)
        "select_samples": 2000,  # training rows used for the validation choice
        "standardize": True,
    }
    check_params: ClassVar[Mapping[str, Any]] = {
        "n_components_in_grid": [4, 8],
        "n_components_out": 8,
        "n_members": 2,
        "bandwidths": [1.0, 4.0],
        "n_alphas": 4,
    }
    seed_dependent: ClassVar[bool] = True  # randomized SVDs, the selection subsample and the folds

    @classmethod
    def search_space(cls, trial: Any) -> dict[str, Any]:
        return {
            "n_components_in": trial.suggest_int("n_components_in", 8, 512, log=True),
            "n_components_out": trial.suggest_int("n_components_out", 8, 512, log=True),
            "bandwidth": trial.suggest_float("bandwidth", 0.1, 10.0, log=True),
            "alpha": trial.suggest_float("alpha", 1e-5, 1.0, log=True),
            "n_members": trial.suggest_int("n_members", 1, 8),
        }

    @classmethod
    def skip_reason(cls, params: Mapping[str, Any], train: PairedData, val: PairedData) -> str | None:
        free = [k for k in ("n_components_in", "bandwidth", "alpha") if params.get(k) is None]
        if free and val.n_samples == 0:
            return (
                f"svd_krr chooses {', '.join(free)} on the validation split, which is empty: set split.val_fraction > 0"
            )
        if train.n_samples < 2 * max(1, int(params.get("n_members", 1))):
            return f"svd_krr: {train.n_samples} training samples are too few for {params.get('n_members')} fold members"
        return None

    def fit(self, train: PairedData, val: PairedData, context: FitContext) -> SvdKrr:
        p = self.params
        reason = self.skip_reason(p, train, val)
        if reason:
            raise PluginError(reason)
        rng = np.random.default_rng(context.seed)
        n = train.n_samples
        x = train.b.astype(np.float32)
        self.x_mean_ = x.mean(axis=0, dtype=np.float64).astype(np.float32)
        sd = x.std(axis=0, dtype=np.float64) if p["standardize"] else np.ones(x.shape[1])
        self.x_scale_ = np.where(sd > 0, sd, 1.0).astype(np.float32)
        x -= self.x_mean_
        x /= self.x_scale_
        ranks_in = (
            [int(p["n_components_in"])]
            if p["n_components_in"] is not None
            else sorted({int(r) for r in p["n_components_in_grid"]})
        )
        k_in = max(1, min(max(ranks_in), min(x.shape) - 1 if min(x.shape) > 1 else 1))
        _, _, vt = randomized_svd(x, k_in, random_state=int(rng.integers(2**31)))
        self.v_ = np.ascontiguousarray(vt.T, dtype=np.float32)  # (p, k_in)
        z = x @ self.v_
        del x
        self.y_mean_ = train.a.mean(axis=0, dtype=np.float64).astype(np.float32)
        yc = train.a - self.y_mean_
        k_out = max(1, min(int(p["n_components_out"]), min(yc.shape) - 1 if min(yc.shape) > 1 else 1))
        if k_out >= yc.shape[1]:
            self.w_ = np.eye(yc.shape[1], dtype=np.float32)
        else:
            _, _, wt = randomized_svd(yc, k_out, random_state=int(rng.integers(2**31)))
            self.w_ = np.ascontiguousarray(wt.T, dtype=np.float32)  # (g, k_out)
        t = (yc @ self.w_).astype(np.float64)  # (n, k_out)
        del yc
        self._select(z, t, val, rng, [r for r in ranks_in if r <= k_in] or [k_in])

        self.z_train_ = np.ascontiguousarray(z[:, : self.rank_in_])
        folds = rng.permutation(n) % int(p["n_members"])
        members = int(p["n_members"])
        self.member_rows_ = np.stack([folds != m for m in range(members)]) if members > 1 else np.ones((1, n), bool)
        self.duals_ = np.zeros((len(self.member_rows_), n, self.rank_out_), dtype=np.float32)
        self.member_means_ = np.zeros((len(self.member_rows_), self.rank_out_), dtype=np.float32)
        zz = self.z_train_.astype(np.float64)
        sq = (zz**2).sum(axis=1)
        for m, rows in enumerate(self.member_rows_):
            zm = zz[rows]
            k = _rbf(zm, sq[rows], zm, sq[rows], self.gamma_)
            k[np.diag_indices_from(k)] += self.alpha_ * len(zm)
            tm = t[rows, : self.rank_out_]
            mean = tm.mean(axis=0)
            c, low = scipy.linalg.cho_factor(k, overwrite_a=True, check_finite=False)
            self.duals_[m, rows] = scipy.linalg.cho_solve((c, low), tm - mean, check_finite=False)
            self.member_means_[m] = mean
            del k, c
        self.w_ = np.ascontiguousarray(self.w_[:, : self.rank_out_])
        return self

    def _select(
        self, z: np.ndarray, t: np.ndarray, val: PairedData, rng: np.random.Generator, ranks_in: list[int]
    ) -> None:
        """Set rank_in_, rank_out_, bandwidth_, alpha_ and gamma_ (1 / (bandwidth * median))."""
        p = self.params
        n = len(z)
        sub = np.sort(rng.choice(n, size=min(n, int(p["select_samples"])), replace=False))
        bws = [float(p["bandwidth"])] if p["bandwidth"] is not None else [float(b) for b in p["bandwidths"]]
        alphas = (
            np.array([float(p["alpha"])])
            if p["alpha"] is not None
            else np.geomspace(float(p["alpha_grid"][0]), float(p["alpha_grid"][1]), int(p["n_alphas"]))
        )
        fixed = p["bandwidth"] is not None and p["alpha"] is not None and len(ranks_in) == 1
        if fixed or val.n_samples == 0:
            rank = ranks_in[-1]
            self.rank_in_, self.rank_out_, self.bandwidth_, self.alpha_ = rank, t.shape[1], bws[0], float(alphas[0])
            self.gamma_ = 1.0 / (self.bandwidth_ * _median_sqdist(z[sub, :rank]))
            return
        zv = ((val.b.astype(np.float32) - self.x_mean_) / self.x_scale_) @ self.v_
        yv_c = val.a.astype(np.float64) - self.y_mean_
        tv = yv_c @ self.w_.astype(np.float64)  # (nv, k_out)
        # error of the part of Yv outside the target components, the same for every choice
        base = float((yv_c**2).sum() - (tv**2).sum())
        ts = t[sub]
        mean = ts.mean(axis=0)
        best = (np.inf, ranks_in[-1], t.shape[1], bws[0], float(alphas[0]), 1.0)
        for rank in ranks_in:
            zs, zvr = z[sub, :rank].astype(np.float64), zv[:, :rank].astype(np.float64)
            sq_s, sq_v = (zs**2).sum(axis=1), (zvr**2).sum(axis=1)
            med = _median_sqdist(zs)
            for bw in bws:
                gamma = 1.0 / (bw * med)
                evals, evecs = scipy.linalg.eigh(_rbf(zs, sq_s, zs, sq_s, gamma), check_finite=False)
                kv = _rbf(zvr, sq_v, zs, sq_s, gamma) @ evecs  # (nv, ns)
                proj = evecs.T @ (ts - mean)  # (ns, k_out)
                for a in alphas:
                    pred = kv @ (proj / (np.maximum(evals, 0.0) + a * len(zs))[:, None]) + mean
                    # column j's error if predicted, and if dropped (predicted 0): a nested path over rank_out
                    err_kept = ((pred - tv) ** 2).sum(axis=0)
                    err_drop = (tv**2).sum(axis=0)
                    path = np.cumsum(err_kept - err_drop) + err_drop.sum() + base  # rank_out = 1 .. k_out
                    r_out = int(np.argmin(path))
                    if path[r_out] < best[0]:
                        best = (float(path[r_out]), rank, r_out + 1, bw, float(a), gamma)
        self.val_mse_ = best[0] / yv_c.size
        _, self.rank_in_, self.rank_out_, self.bandwidth_, self.alpha_, self.gamma_ = best

    def predict(self, b: np.ndarray) -> np.ndarray:
        zq = ((np.asarray(b, dtype=np.float32) - self.x_mean_) / self.x_scale_) @ self.v_[:, : self.rank_in_]
        zq64, zt = zq.astype(np.float64), self.z_train_.astype(np.float64)
        k = _rbf(zq64, (zq64**2).sum(axis=1), zt, (zt**2).sum(axis=1), self.gamma_)  # (nq, n)
        scores = np.zeros((len(zq), self.rank_out_))
        for rows, dual, mean in zip(self.member_rows_, self.duals_, self.member_means_):
            scores += k[:, rows] @ dual[rows].astype(np.float64) + mean
        scores /= len(self.member_rows_)
        return (scores.astype(np.float32) @ self.w_.T + self.y_mean_).astype(np.float32)

    def chosen(self) -> dict[str, Any]:
        return {
            "n_components_in": self.rank_in_,
            "n_components_out": self.rank_out_,
            "bandwidth": self.bandwidth_,
            "alpha": self.alpha_,
        }

    def get_state(self) -> dict[str, np.ndarray]:
        return {
            "x_mean": self.x_mean_,
            "x_scale": self.x_scale_,
            "v": self.v_[:, : self.rank_in_],
            "w": self.w_,
            "y_mean": self.y_mean_,
            "z_train": self.z_train_,
            "member_rows": self.member_rows_,
            "duals": self.duals_,
            "member_means": self.member_means_,
            "scalars": np.array([self.rank_in_, self.rank_out_, self.bandwidth_, self.alpha_, self.gamma_]),
        }

    def set_state(self, state: Mapping[str, np.ndarray]) -> None:
        self.x_mean_, self.x_scale_, self.v_, self.w_ = state["x_mean"], state["x_scale"], state["v"], state["w"]
        self.y_mean_, self.z_train_, self.member_rows_ = state["y_mean"], state["z_train"], state["member_rows"]
        self.duals_, self.member_means_ = state["duals"], state["member_means"]
        r_in, r_out, self.bandwidth_, self.alpha_, self.gamma_ = (float(v) for v in state["scalars"])
        self.rank_in_, self.rank_out_ = int(r_in), int(r_out)


def _rbf(a: np.ndarray, sq_a: np.ndarray, b: np.ndarray, sq_b: np.ndarray, gamma: float) -> np.ndarray:
    """exp(-gamma ||a_i - b_j||²), float64, given the rows' squared norms."""
    d = a @ b.T
    d *= -2.0
    d += sq_a[:, None]
    d += sq_b[None, :]
    np.maximum(d, 0.0, out=d)
    d *= -gamma
    return np.exp(d, out=d)


def _median_sqdist(z: np.ndarray, cap: int = 1000) -> float:
    """Median squared distance between distinct rows (of the first ``cap`` rows); 1.0 if degenerate."""
    zc = np.asarray(z[:cap], dtype=np.float64)
    sq = (zc**2).sum(axis=1)
    d = np.maximum(sq[:, None] + sq[None, :] - 2.0 * zc @ zc.T, 0.0)
    med = float(np.median(d[np.triu_indices(len(zc), 1)])) if len(zc) > 1 else 0.0
    return med if med > 0 else 1.0


@hookimpl
def omibench_register_translators(register: Callable[[type[Translator]], Any]) -> None:
    register(SvdKrr)
