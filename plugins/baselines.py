"""Baselines a careful statistician fits first; every translator should be judged against them.

- ``train_mean``: predicts each gene's training mean for every sample; the floor (R² ≈ 0).
- ``ridge``: L2-penalised least squares for all genes at once. One SVD of the centred training
  input X = U S Vᵀ gives every penalty's solution W(λ) = V diag(s / (s² + λ)) Uᵀ Y, so the whole
  penalty path is scored on the validation split for the cost of one fit; the penalty with the
  lowest validation MSE (one λ shared by all genes) is kept.
- ``pcr``: principal-component regression, the same SVD truncated to k components; k is chosen
  on the validation split along the nested path k = 1 .. rank.
- ``knn``: k-nearest-neighbour regression in (optionally standardised) methylation space; each
  prediction is the mean expression of the k closest training samples, k chosen on validation.

Penalties are relative: ``alpha`` is λ / s₀², the fraction of the largest squared singular value,
so the same grid means the same shrinkage on any cohort's scale.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import scipy.linalg

from omibench import Chosen, FitContext, Interval, ListOf, Options, PairedData, PluginError, Translator, hookimpl

POSITIVE = Interval(float, 0.0, None, closed="neither")
BOOL = Options(True, False)


def _empty_val(name: str, what: str, val: PairedData) -> str | None:
    if val.n_samples == 0:
        return (
            f"{name} chooses {what} on the validation split, which is empty: set split.val_fraction > 0 or give {what}"
        )
    return None


class TrainMean(Translator):
    """Each gene's training mean, whatever the input: a control (reference line, never ranked)."""

    name = "train_mean"
    default_params: ClassVar[Mapping[str, Any]] = {}
    seed_dependent = False
    control = True

    def fit(self, train: PairedData, val: PairedData, context: FitContext) -> TrainMean:
        self.y_mean_ = train.a.astype(np.float64).mean(axis=0)
        return self

    def predict(self, b: np.ndarray) -> np.ndarray:
        return np.broadcast_to(self.y_mean_.astype(np.float32), (len(b), len(self.y_mean_))).copy()

    def get_state(self) -> dict[str, np.ndarray]:
        return {"y_mean": self.y_mean_}

    def set_state(self, state: Mapping[str, np.ndarray]) -> None:
        self.y_mean_ = state["y_mean"]


class _SvdRegression(Translator):
    """Shared machinery: centre (and optionally standardise) X, one thin SVD, factored coefficients.

    Subclasses give ``_path_weights(s)``, a (n_path, rank) array of the factor applied to each
    singular direction for every point of their path, and ``_path_values(s)`` naming those points.
    The kept model is W = V diag(d) Uᵀ Yc, stored factored as V (p x r) and C = diag(d) Uᵀ Yc (r x g).
    """

    default_params: ClassVar[Mapping[str, Any]] = {"standardize": False}
    seed_dependent = False
    _path_name = "penalty"

    def _path(self, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def _fixed(self) -> float | None:
        raise NotImplementedError

    @classmethod
    def skip_reason(cls, params: Mapping[str, Any], train: PairedData, val: PairedData) -> str | None:
        return _empty_val(cls.name, cls._path_name, val) if params.get(cls._path_name) is None else None

    def chosen(self) -> Chosen:
        return {self._path_name: self.chosen_}

    def fit(self, train: PairedData, val: PairedData, context: FitContext) -> _SvdRegression:
        # X in float64 for the SVD; targets and products with them in float32 (at the paper's
        # 7,265 x 60,483 targets a float64 copy alone is 3.5 GB)
        x = train.b.astype(np.float64)
        self.x_mean_ = x.mean(axis=0)
        self.y_mean_ = train.a.mean(axis=0, dtype=np.float64)
        sd = x.std(axis=0) if self.params["standardize"] else np.ones(x.shape[1])
        self.x_scale_ = np.where(sd > 0, sd, 1.0)
        x -= self.x_mean_
        x /= self.x_scale_
        u, s, vt = scipy.linalg.svd(x, full_matrices=False, overwrite_a=True, check_finite=False)
        del x
        keep = s > max(u.shape[0], vt.shape[1]) * np.finfo(np.float64).eps * (s[0] if len(s) else 0.0)
        u, s, vt = u[:, keep], s[keep], vt[keep]
        uty = u.T.astype(np.float32) @ (train.a - self.y_mean_.astype(np.float32))  # (r, g)
        del u
        values, factors = self._path(s)  # (m,), (m, r)
        fixed = self._fixed()
        if fixed is not None:
            best = int(np.argmin(np.abs(values - fixed)))
        else:
            if val.n_samples == 0:
                raise PluginError(
                    f"{self.name} chooses its {self._path_name} on the validation split, which is empty: "
                    f"set split.val_fraction > 0 or give {self._path_name}"
                )
            zv = ((val.b.astype(np.float64) - self.x_mean_) / self.x_scale_) @ vt.T  # (nv, r)
            yv = val.a - self.y_mean_.astype(np.float32)
            self.val_mse_path_ = _path_mse(zv, uty, yv, factors)
            best = int(np.argmin(self.val_mse_path_))
        self.chosen_ = float(values[best])
        self.v_ = np.ascontiguousarray((vt.T / self.x_scale_[:, None]), dtype=np.float32)
        del vt
        uty *= factors[best][:, None].astype(np.float32)
        self.c_ = uty
        return self

    def predict(self, b: np.ndarray) -> np.ndarray:
        z = (np.asarray(b, dtype=np.float32) - self.x_mean_.astype(np.float32)) @ self.v_
        return (z @ self.c_ + self.y_mean_.astype(np.float32)).astype(np.float32)

    def get_state(self) -> dict[str, np.ndarray]:
        return {
            "x_mean": self.x_mean_,
            "y_mean": self.y_mean_,
            "v": self.v_,
            "c": self.c_,
            "chosen": np.array(self.chosen_),
        }

    def set_state(self, state: Mapping[str, np.ndarray]) -> None:
        self.x_mean_, self.y_mean_, self.v_, self.c_ = state["x_mean"], state["y_mean"], state["v"], state["c"]
        self.chosen_ = float(state["chosen"])

    def refit_params(self) -> dict[str, Any]:
        """Pins the penalty / rank chosen on validation (for ``refit: train+val``)."""
        value = self.chosen_
        return {self._path_name: int(value) if self._path_name == "n_components" else float(value)}


def _path_mse(zv: np.ndarray, uty: np.ndarray, yv: np.ndarray, factors: np.ndarray) -> np.ndarray:
    """Validation MSE of every path point: prediction Zv diag(d) C against Yv (C = UᵀY), for each
    row d of ``factors``, without forming a prediction per point. ||Zv D C - Yv||² expands to
    dᵀ (ZvᵀZv ∘ C Cᵀ) d - 2 dᵀ diag(Zvᵀ Yv Cᵀ) + ||Yv||², so the whole path costs two products of
    the size of one fit plus O(rank²) per point (at the paper's size 50 penalties cost ~1 fit, not 50).
    """
    quad = (zv.T @ zv) * (uty @ uty.T).astype(np.float64)  # (r, r)
    lin = np.einsum("ir,ir->r", zv, (yv @ uty.T).astype(np.float64))  # diag(Zvᵀ Yv Cᵀ), (r,)
    sq = float((yv.astype(np.float64) ** 2).sum())
    sse = np.einsum("mr,rs,ms->m", factors, quad, factors) - 2 * factors @ lin + sq
    return np.maximum(sse, 0.0) / yv.size


class Ridge(_SvdRegression):
    """Ridge regression, one shared penalty chosen on validation from a relative grid."""

    name = "ridge"
    _path_name = "alpha"
    default_params: ClassVar[Mapping[str, Any]] = {
        "alpha": None,  # λ / s₀²; None: choose on the validation split from the grid below
        "alpha_grid": [1e-6, 10.0],  # log-spaced range of the relative penalty
        "n_alphas": 50,
        "standardize": False,  # divide each CpG by its training SD before fitting
    }
    param_constraints = {
        "alpha": [None, Interval(float, 0.0, None)],
        "alpha_grid": [ListOf(POSITIVE, 2, 2, increasing=True)],
        "n_alphas": [Interval(int, 1, None)],
        "standardize": [BOOL],
    }

    @classmethod
    def search_space(cls, trial: Any) -> dict[str, Any]:
        return {
            "alpha": trial.suggest_float("alpha", 1e-6, 10.0, log=True),
            "standardize": trial.suggest_categorical("standardize", [False, True]),
        }

    def _fixed(self) -> float | None:
        return None if self.params["alpha"] is None else float(self.params["alpha"])

    def _path(self, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = self.params["alpha_grid"]
        alphas = np.geomspace(lo, hi, int(self.params["n_alphas"]))
        fixed = self._fixed()
        if fixed is not None:
            alphas = np.array([fixed])
        lam = alphas[:, None] * s[0] ** 2
        return alphas, s[None, :] / (s[None, :] ** 2 + lam)


class PCR(_SvdRegression):
    """Principal-component regression; the number of components chosen on validation."""

    name = "pcr"
    _path_name = "n_components"
    default_params: ClassVar[Mapping[str, Any]] = {
        "n_components": None,  # None: choose on the validation split among 1 .. rank
        "standardize": False,
    }
    param_constraints = {"n_components": [None, Interval(int, 1, None)], "standardize": [BOOL]}

    @classmethod
    def skip_reason(cls, params: Mapping[str, Any], train: PairedData, val: PairedData) -> str | None:
        k = params.get("n_components")
        rank = min(train.n_samples - 1, train.b.shape[1])
        if k is not None and k > rank:
            return (
                f"pcr: n_components {k} exceeds the rank of the centred training input (at most "
                f"min(training samples - 1, CpGs) = {rank}): lower it or use n_components: null"
            )
        return super().skip_reason(params, train, val)

    def chosen(self) -> Chosen:
        return {"n_components": int(self.chosen_)}

    @classmethod
    def search_space(cls, trial: Any) -> dict[str, Any]:
        return {
            "n_components": trial.suggest_int("n_components", 1, 200, log=True),
            "standardize": trial.suggest_categorical("standardize", [False, True]),
        }

    def _fixed(self) -> float | None:
        return None if self.params["n_components"] is None else float(self.params["n_components"])

    def _path(self, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        r = len(s)
        ks = np.arange(1, r + 1)
        factors = np.where(np.arange(r)[None, :] < ks[:, None], 1.0 / s[None, :], 0.0)
        return ks.astype(float), factors


class KNN(Translator):
    """k-nearest-neighbour regression; k (and optionally uniform vs distance weights) on validation."""

    name = "knn"
    default_params: ClassVar[Mapping[str, Any]] = {
        "k": None,  # None: choose on the validation split from k_grid
        "k_grid": [1, 2, 3, 5, 8, 12, 20, 30, 50],
        "weights": "uniform",  # uniform | distance
        "standardize": True,  # distances on CpGs scaled to unit training SD
    }
    param_constraints = {
        "k": [None, Interval(int, 1, None)],
        "k_grid": [ListOf(Interval(int, 1, None), min_len=1)],
        "weights": [Options("uniform", "distance")],
        "standardize": [BOOL],
    }
    check_params: ClassVar[Mapping[str, Any]] = {"k_grid": [1, 3]}
    seed_dependent = False

    @classmethod
    def skip_reason(cls, params: Mapping[str, Any], train: PairedData, val: PairedData) -> str | None:
        k = params.get("k")
        if k is not None and k > train.n_samples:
            return f"knn: k = {k} is larger than the training split ({train.n_samples} samples): lower k"
        return _empty_val("knn", "k", val) if k is None else None

    def chosen(self) -> Chosen:
        return {"k": int(self.k_)}

    @classmethod
    def search_space(cls, trial: Any) -> dict[str, Any]:
        return {
            "k": trial.suggest_int("k", 1, 50, log=True),
            "weights": trial.suggest_categorical("weights", ["uniform", "distance"]),
            "standardize": trial.suggest_categorical("standardize", [False, True]),
        }

    def fit(self, train: PairedData, val: PairedData, context: FitContext) -> KNN:
        x = train.b.astype(np.float32)
        self.x_mean_ = x.mean(axis=0)
        sd = x.std(axis=0) if self.params["standardize"] else np.ones(x.shape[1], np.float32)
        self.x_scale_ = np.where(sd > 0, sd, 1.0).astype(np.float32)
        self.x_train_ = (x - self.x_mean_) / self.x_scale_
        self.y_train_ = train.a.astype(np.float32)
        if self.params["k"] is not None:
            self.k_ = int(self.params["k"])
        else:
            if val.n_samples == 0:
                raise PluginError(_empty_val("knn", "k", val) or "")
            grid = [k for k in self.params["k_grid"] if k <= train.n_samples] or [train.n_samples]
            yv = val.a.astype(np.float32)
            order, dist = self._neighbours(val.b, max(grid))
            mse = [float(((self._average(order[:, :k], dist[:, :k]) - yv) ** 2).mean()) for k in grid]
            self.k_ = int(grid[int(np.argmin(mse))])
        self.k_ = min(self.k_, train.n_samples)
        return self

    def _neighbours(self, b: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        q = (np.asarray(b, dtype=np.float32) - self.x_mean_) / self.x_scale_
        d2 = (q**2).sum(1)[:, None] - 2 * q @ self.x_train_.T + (self.x_train_**2).sum(1)[None, :]
        d2 = np.maximum(d2, 0.0)
        order = np.argsort(d2, axis=1, kind="stable")[:, :k]
        return order, np.sqrt(np.take_along_axis(d2, order, axis=1))

    def _average(self, order: np.ndarray, dist: np.ndarray) -> np.ndarray:
        if self.params["weights"] == "uniform":
            return self.y_train_[order].mean(axis=1)
        w = 1.0 / np.maximum(dist, 1e-12)
        w /= w.sum(axis=1, keepdims=True)
        return np.einsum("nk,nkg->ng", w, self.y_train_[order])

    def predict(self, b: np.ndarray) -> np.ndarray:
        order, dist = self._neighbours(b, self.k_)
        return self._average(order, dist).astype(np.float32)

    def get_state(self) -> dict[str, np.ndarray]:
        return {
            "x_mean": self.x_mean_,
            "x_scale": self.x_scale_,
            "x_train": self.x_train_,
            "y_train": self.y_train_,
            "k": np.array(self.k_),
        }

    def set_state(self, state: Mapping[str, np.ndarray]) -> None:
        self.x_mean_, self.x_scale_ = state["x_mean"], state["x_scale"]
        self.x_train_, self.y_train_, self.k_ = state["x_train"], state["y_train"], int(state["k"])

    def refit_params(self) -> dict[str, Any]:
        """Pins the k chosen on validation (for ``refit: train+val``)."""
        return {"k": int(self.k_)}


@hookimpl
def omibench_register_translators(register) -> None:
    from omibench_plugins.scikit import SklearnTranslator  # registered here: no entry point of its own

    for cls in (TrainMean, Ridge, PCR, KNN, SklearnTranslator):
        register(cls)
