import numpy as np
import pytest
from sklearn.linear_model import Lasso as SkLasso

from omibench import FitContext, PluginError
from omibench.contract.registry import load_registry
from omibench.data import make_synthetic

REG = load_registry()


def _parts(n=50, p=80, g=6, seed=0):
    d = make_synthetic(n_samples=n, n_cpgs=p, n_genes=g, seed=seed)
    return d.subset(np.arange(0, 30)), d.subset(np.arange(30, 40)), d.subset(np.arange(40, n))


def test_linear_regression_is_minimum_norm_least_squares_when_p_exceeds_n():
    train, val, _ = _parts()
    model = REG.translator("linear_regression")().fit(train, val, FitContext())
    x = train.b.astype(np.float64)
    x -= x.mean(0)
    y = train.a.astype(np.float64)
    y -= y.mean(0)
    w_pinv = np.linalg.pinv(x) @ y
    w_ours = model.v_.astype(np.float64) @ model.c_.astype(np.float64)
    np.testing.assert_allclose(w_ours, w_pinv, rtol=1e-3, atol=1e-4)
    # p > n: the training data is interpolated
    np.testing.assert_allclose(model.predict(train.b), train.a, atol=1e-3)
    assert model.rank_ == 29  # centred 30 x 80 matrix has rank n - 1


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_lasso_fixed_alpha_matches_scikit_learn():
    train, val, test = _parts(n=80, p=20, g=4)
    model = REG.translator("lasso")(alpha=0.01, tol=1e-8).fit(train, val, FitContext())
    for j in range(4):
        sk = SkLasso(alpha=0.01, tol=1e-10, max_iter=100_000).fit(train.b, train.a[:, j])
        np.testing.assert_allclose(model.coef_[:, j].toarray().ravel(), sk.coef_, atol=1e-4)
        np.testing.assert_allclose(model.predict(test.b)[:, j], sk.predict(test.b), atol=1e-3)


def test_lasso_chooses_alpha_per_gene_on_validation():
    train, val, _ = _parts(n=120, p=30, g=5)
    model = REG.translator("lasso")(n_alphas=6).fit(train, val, FitContext(n_jobs=2))
    assert model.alpha_.shape == (5,)
    assert (model.alpha_ > 0).all()
    with pytest.raises(PluginError, match="validation split"):
        REG.translator("lasso")().fit(train, val.subset([]), FitContext())
