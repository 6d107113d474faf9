"""``stack``: omibench's own translator, a validation-weighted blend of complementary regressors.

Why this design (docs/results.md has the numbers): on every real cohort a single ridge penalty,
chosen on the validation split, beats every translator of the paper; the neural translators and
LASSO trail it. What is left to gain at a few hundred samples is variance, not bias, so ``stack``
averages models that err differently instead of growing one:

- ``ridge`` on raw and on standardised CpGs (one SVD each, penalty chosen on validation),
- ``krr``: kernel ridge regression with a Gaussian kernel on standardised CpGs (the only
  non-linear member; bandwidth and penalty chosen on validation from one eigendecomposition per
  bandwidth),
- ``knn`` (k chosen on validation).

Each member is fitted on the training split; the blend weights (non-negative, one per member,
shared by all genes) minimise the validation MSE of the blend. Members with zero weight are
dropped. Data contract as every translator: float32 in, float32 out on the scale of ``train.a``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import scipy.linalg
import scipy.optimize
from omibench_plugins.baselines import KNN, POSITIVE, Ridge

from omibench import Chosen, FitContext, Interval, ListOf, Options, PairedData, PluginError, Translator, hookimpl

MEMBERS = ("ridge", "ridge_std", "krr", "knn")


class KernelRidge(Translator):
    """Gaussian-kernel ridge regression, all genes at once; bandwidth and penalty chosen on validation.

    Bandwidths are multiples of the median squared distance between training samples; penalties are
    relative to the largest eigenvalue of the centred kernel (the same path trick as ``ridge``).
    """

    name = "krr"
    default_params: ClassVar[Mapping[str, Any]] = {
        "bandwidths": [0.3, 1.0, 3.0, 10.0],  # x median squared distance
        "alpha_grid": [1e-4, 10.0],
        "n_alphas": 20,
    }
    param_constraints = {
        "bandwidths": [ListOf(POSITIVE, min_len=1)],
        "alpha_grid": [ListOf(POSITIVE, 2, 2, increasing=True)],
        "n_alphas": [Interval(int, 1, None)],
    }
    seed_dependent = False
    bandwidth_: float
    alpha_: float

    @classmethod
    def skip_reason(cls, params: Mapping[str, Any], train: PairedData, val: PairedData) -> str | None:
        if train.n_samples < 2:
            return (
                f"krr scales its kernel by distances between training samples; the training split has {train.n_samples}"
            )
        if val.n_samples == 0:
            return (
                "krr chooses its bandwidth and penalty on the validation split, which is empty: "
                "set split.val_fraction > 0"
            )
        return None

    def chosen(self) -> Chosen:
        return {"bandwidth": float(self.bandwidth_), "alpha": float(self.alpha_)}

    def fit(self, train: PairedData, val: PairedData, context: FitContext) -> KernelRidge:
        if val.n_samples == 0:
            raise PluginError("krr chooses its bandwidth and penalty on the validation split, which is empty")
        x = train.b.astype(np.float64)
        self.x_mean_ = x.mean(axis=0)
        sd = x.std(axis=0)
        self.x_scale_ = np.where(sd > 0, sd, 1.0)
        self.x_train_ = ((x - self.x_mean_) / self.x_scale_).astype(np.float32)
        y = train.a.astype(np.float64)
        self.y_mean_ = y.mean(axis=0)
        yc = y - self.y_mean_
        d_train = self._sqdist(self.x_train_)
        d_val = self._sqdist(self._scaled(val.b))
        self.median_ = float(np.median(d_train[np.triu_indices(len(d_train), 1)])) or 1.0
        yv = val.a.astype(np.float64) - self.y_mean_
        alpha_lo, alpha_hi = self.params["alpha_grid"]
        alphas = np.geomspace(alpha_lo, alpha_hi, int(self.params["n_alphas"]))
        best: tuple[float, tuple[float, float] | None, np.ndarray | None] = (np.inf, None, None)
        for bw in self.params["bandwidths"]:
            k, kv = np.exp(-d_train / (bw * self.median_)), np.exp(-d_val / (bw * self.median_))
            col_mean, all_mean = k.mean(axis=0), k.mean()
            kc = k - col_mean - col_mean[:, None] + all_mean
            kvc = kv - col_mean - kv.mean(axis=1, keepdims=True) + all_mean
            w, v = scipy.linalg.eigh(kc)
            w = np.maximum(w, 0.0)
            vty, kvv = v.T @ yc, kvc @ v
            for a in alphas:
                mse = float(np.mean((kvv @ (vty / (w + a * w.max())[:, None]) - yv) ** 2))
                if mse < best[0]:
                    best = (mse, (bw, a), v @ (vty / (w + a * w.max())[:, None]))
        chosen, dual = best[1], best[2]
        assert chosen is not None and dual is not None, "no bandwidth and penalty gave a finite validation error"
        self.bandwidth_, self.alpha_ = chosen
        self.dual_ = dual.astype(np.float32)
        self.col_mean_ = np.exp(-d_train / (self.bandwidth_ * self.median_)).mean(axis=0)
        return self

    def _scaled(self, b: np.ndarray) -> np.ndarray:
        return ((np.asarray(b, dtype=np.float64) - self.x_mean_) / self.x_scale_).astype(np.float32)

    def _sqdist(self, q: np.ndarray) -> np.ndarray:
        d = (q**2).sum(1)[:, None] - 2.0 * q @ self.x_train_.T + (self.x_train_**2).sum(1)[None, :]
        return np.maximum(d, 0.0).astype(np.float64)

    def predict(self, b: np.ndarray) -> np.ndarray:
        kv = np.exp(-self._sqdist(self._scaled(b)) / (self.bandwidth_ * self.median_))
        kvc = kv - self.col_mean_ - kv.mean(axis=1, keepdims=True) + self.col_mean_.mean()
        return (kvc @ self.dual_ + self.y_mean_).astype(np.float32)

    def get_state(self) -> dict[str, np.ndarray]:
        return {
            "x_mean": self.x_mean_,
            "x_scale": self.x_scale_,
            "x_train": self.x_train_,
            "y_mean": self.y_mean_,
            "dual": self.dual_,
            "col_mean": self.col_mean_,
            "scalars": np.array([self.bandwidth_, self.alpha_, self.median_]),
        }

    def set_state(self, state: Mapping[str, np.ndarray]) -> None:
        self.x_mean_, self.x_scale_, self.x_train_ = state["x_mean"], state["x_scale"], state["x_train"]
        self.y_mean_, self.dual_, self.col_mean_ = state["y_mean"], state["dual"], state["col_mean"]
        self.bandwidth_, self.alpha_, self.median_ = (float(v) for v in state["scalars"])

    def refit_params(self) -> dict[str, Any]:
        """Pins the bandwidth (relative to the median distance) and penalty chosen on validation."""
        return {
            "bandwidths": [float(self.bandwidth_)],
            "alpha_grid": [float(self.alpha_), 2 * float(self.alpha_)],
            "n_alphas": 1,
        }


def _member(name: str) -> Translator:
    if name == "ridge":
        return Ridge()
    if name == "ridge_std":
        return Ridge(standardize=True)
    if name == "krr":
        return KernelRidge()
    if name == "knn":
        return KNN()
    raise PluginError(f"stack: unknown member {name!r}; choose from {', '.join(MEMBERS)}")


class Stack(Translator):
    """Members fitted on training, blended with non-negative weights fitted on validation."""

    name = "stack"
    default_params: ClassVar[Mapping[str, Any]] = {"members": list(MEMBERS)}
    param_constraints = {"members": [ListOf(Options(*MEMBERS), min_len=1)]}
    check_params: ClassVar[Mapping[str, Any]] = {"members": ["ridge", "knn"]}
    seed_dependent = False

    @classmethod
    def param_conflict(cls, params: Mapping[str, Any]) -> str | None:
        members = list(params["members"])
        twice = sorted({m for m in members if members.count(m) > 1})
        return f"members lists {', '.join(twice)} more than once" if twice else None

    @classmethod
    def skip_reason(cls, params: Mapping[str, Any], train: PairedData, val: PairedData) -> str | None:
        if val.n_samples < 2:
            return (
                "stack fits its blend on the validation split, which has "
                f"{val.n_samples} sample(s): set split.val_fraction so that it has 2+"
            )
        for name in params["members"]:
            member = _member(name)
            reason = type(member).skip_reason(member.params, train, val)
            if reason:
                return f"stack member {name}: {reason}"
        return None

    def chosen(self) -> Chosen:
        """Blend weight per member (0 for a dropped one) and what each kept member chose."""
        out: Chosen = {f"weight_{n}": 0.0 for n in self.params["members"]}
        for name, weight, model in zip(self.names_, self.weights_, self.models_):
            out[f"weight_{name}"] = float(weight)
            out.update({f"{name}.{k}": v for k, v in model.chosen().items()})
        return out

    @classmethod
    def search_space(cls, trial: Any) -> dict[str, Any]:
        chosen = [m for m in MEMBERS if m == "ridge" or trial.suggest_categorical(f"use_{m}", [True, False])]
        return {"members": chosen}

    def fit(self, train: PairedData, val: PairedData, context: FitContext) -> Stack:
        if val.n_samples < 2:
            raise PluginError(self.skip_reason(self.params, train, val) or "")
        names = list(self.params["members"])
        if not names:
            raise PluginError("stack: members is empty")
        models = [_member(n).fit(train, val, context) for n in names]
        yv = val.a.astype(np.float64) - train.a.astype(np.float64).mean(axis=0)
        preds = [m.predict(val.b).astype(np.float64) - train.a.astype(np.float64).mean(axis=0) for m in models]
        gram = np.array([[np.sum(p * q) for q in preds] for p in preds])
        rhs = np.array([np.sum(p * yv) for p in preds])
        # min ||sum w_m P_m - Yv||² over w >= 0, through a Cholesky factor of the (tiny) Gram matrix
        r = scipy.linalg.cholesky(gram + 1e-10 * np.trace(gram) * np.eye(len(gram)))
        weights, _ = scipy.optimize.nnls(r, scipy.linalg.solve_triangular(r, rhs, trans="T"))
        keep = weights > 1e-6
        self.names_ = [n for n, k in zip(names, keep) if k]
        self.models_ = [m for m, k in zip(models, keep) if k]
        self.weights_ = weights[keep]
        self.y_mean_ = train.a.astype(np.float64).mean(axis=0)
        return self

    def predict(self, b: np.ndarray) -> np.ndarray:
        out = self.y_mean_ * (1.0 - self.weights_.sum())
        for w, m in zip(self.weights_, self.models_):
            out = out + w * m.predict(b).astype(np.float64)
        return np.asarray(out, dtype=np.float32)

    def get_state(self) -> dict[str, np.ndarray]:
        state: dict[str, np.ndarray] = {
            "weights": self.weights_,
            "y_mean": self.y_mean_,
            "names": np.array(self.names_),
        }
        for i, m in enumerate(self.models_):
            state.update({f"m{i}.{k}": v for k, v in m.get_state().items()})
        return state

    def set_state(self, state: Mapping[str, np.ndarray]) -> None:
        self.weights_, self.y_mean_ = state["weights"], state["y_mean"]
        self.names_ = [str(n) for n in state["names"]]
        self.models_ = []
        for i, name in enumerate(self.names_):
            model = _member(name)
            model.set_state({k.split(".", 1)[1]: v for k, v in state.items() if k.startswith(f"m{i}.")})
            self.models_.append(model)


@hookimpl
def omibench_register_translators(register) -> None:
    register(KernelRidge)
    register(Stack)
