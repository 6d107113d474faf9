"""Speed changes that must not change results: LASSO's early-stopped validation path, the classifier's
thread limit, the CNN's memory-saving training step."""

import numpy as np
import pytest
from sklearn.linear_model import Lasso as SkLasso

from omibench import FitContext
from omibench.contract.registry import load_registry
from omibench.data import make_synthetic

REG = load_registry()


def _parts(n=120, p=60, g=8, seed=0):
    d = make_synthetic(n_samples=n, n_cpgs=p, n_genes=g, seed=seed)
    return d.subset(np.arange(0, 80)), d.subset(np.arange(80, n))


def test_lasso_early_stop_keeps_the_validation_choice_and_its_coefficients():
    train, val = _parts()
    full = REG.translator("lasso")(path_patience=None, tol=1e-8).fit(train, val, FitContext())
    early = REG.translator("lasso")(tol=1e-8).fit(train, val, FitContext())
    np.testing.assert_array_equal(early.alpha_, full.alpha_)
    np.testing.assert_allclose(early.coef_.toarray(), full.coef_.toarray(), atol=1e-5)


def test_lasso_validation_path_stops_at_the_first_minimum_with_patience_and_solves_each_alpha():
    from omibench_plugins.linear import _validation_path

    train, val = _parts(p=40)
    x = np.asfortranarray(train.b - train.b.mean(0), dtype=np.float64)
    xv = val.b - train.b.mean(0)
    y = train.a[:, 0].astype(np.float64) - train.a[:, 0].mean()
    yv = val.a[:, 0] - train.a[:, 0].mean()
    grid = np.abs(x.T @ y).max() / len(y) * np.geomspace(1, 1e-3, 12)
    mse = []
    for alpha in grid:  # each alpha solved from scratch by scikit-learn, as the reference
        w = SkLasso(alpha=alpha, fit_intercept=False, tol=1e-12, max_iter=100_000).fit(x, y).coef_
        mse.append(((xv @ w - yv) ** 2).mean())
    k_full, w_full = _validation_path(x, y, xv, yv, grid, 1e-10 * y @ y / len(y), 100, None)
    assert k_full == int(np.argmin(mse))
    first_min = next(k for k in range(len(mse)) if k == len(mse) - 1 or mse[k + 1] >= mse[k])
    k_one, _ = _validation_path(x, y, xv, yv, grid, 1e-10 * y @ y / len(y), 100, 1)
    assert k_one == first_min
    k_rise, _ = _validation_path(x, y, xv, yv, grid, 1e-10 * y @ y / len(y), 100, None, 1e-9)
    assert k_rise == first_min  # any rise stops the walk
    k_never, _ = _validation_path(x, y, xv, yv, grid, 1e-10 * y @ y / len(y), 100, None, 1e9)
    assert k_never == k_full
    w_ref = SkLasso(alpha=grid[k_full], fit_intercept=False, tol=1e-12, max_iter=100_000).fit(x, y).coef_
    np.testing.assert_allclose(w_full, w_ref, atol=1e-5)


def test_lasso_rejects_a_bad_patience():
    from omibench import PluginError

    with pytest.raises(PluginError, match="path_patience"):
        REG.translator("lasso")(path_patience=0)
