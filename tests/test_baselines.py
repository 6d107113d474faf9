import numpy as np
import pytest
from sklearn.decomposition import PCA
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.neighbors import KNeighborsRegressor

from omibench import FitContext, PluginError
from omibench.contract.registry import load_registry
from omibench.data import make_synthetic
from omibench.metrics.reconstruction import score

REG = load_registry()


def _parts(n=90, p=40, g=8, seed=0):
    d = make_synthetic(n_samples=n, n_cpgs=p, n_genes=g, seed=seed)
    return d.subset(np.arange(0, 50)), d.subset(np.arange(50, 70)), d.subset(np.arange(70, n))


def test_train_mean_is_the_floor():
    train, val, test = _parts()
    pred = REG.translator("train_mean")().fit(train, val, FitContext()).predict(test.b)
    np.testing.assert_allclose(pred, np.tile(train.a.mean(0), (test.n_samples, 1)), rtol=1e-5)


@pytest.mark.parametrize("standardize", [False, True])
def test_ridge_fixed_alpha_matches_scikit_learn(standardize):
    train, val, test = _parts()
    model = REG.translator("ridge")(alpha=0.05, standardize=standardize).fit(train, val, FitContext())
    x = train.b.astype(np.float64)
    sd = x.std(0) if standardize else np.ones(x.shape[1])
    s0 = np.linalg.svd((x - x.mean(0)) / sd, compute_uv=False)[0]
    sk = Ridge(alpha=0.05 * s0**2).fit(x / sd, train.a)
    np.testing.assert_allclose(model.predict(test.b), sk.predict(test.b / sd), rtol=1e-4, atol=1e-4)


def test_ridge_chooses_the_penalty_with_lowest_validation_mse():
    train, val, _ = _parts()
    model = REG.translator("ridge")(n_alphas=12).fit(train, val, FitContext())
    alphas = np.geomspace(1e-6, 10.0, 12)
    direct = [
        ((REG.translator("ridge")(alpha=a).fit(train, val, FitContext()).predict(val.b) - val.a) ** 2).mean()
        for a in alphas
    ]
    np.testing.assert_allclose(model.val_mse_path_, direct, rtol=1e-4)
    assert model.chosen_ == pytest.approx(alphas[int(np.argmin(direct))])
    with pytest.raises(PluginError, match="validation split"):
        REG.translator("ridge")().fit(train, val.subset([]), FitContext())


def test_pcr_matches_pca_then_least_squares():
    train, val, test = _parts()
    model = REG.translator("pcr")(n_components=5).fit(train, val, FitContext())
    pca = PCA(n_components=5, svd_solver="full").fit(train.b)
    sk = LinearRegression().fit(pca.transform(train.b), train.a)
    np.testing.assert_allclose(model.predict(test.b), sk.predict(pca.transform(test.b)), rtol=1e-4, atol=1e-4)
    chosen = REG.translator("pcr")().fit(train, val, FitContext())
    assert 1 <= chosen.chosen_ <= 49


@pytest.mark.parametrize("weights", ["uniform", "distance"])
def test_knn_matches_scikit_learn(weights):
    train, val, test = _parts()
    model = REG.translator("knn")(k=7, weights=weights, standardize=False).fit(train, val, FitContext())
    sk = KNeighborsRegressor(n_neighbors=7, weights=weights).fit(train.b, train.a)
    np.testing.assert_allclose(model.predict(test.b), sk.predict(test.b), rtol=1e-4, atol=1e-4)


def test_baselines_find_the_linear_signal_of_synthetic_data():
    train, val, test = (
        make_synthetic(n_samples=300, n_cpgs=60, n_genes=10, seed=3).subset(r)
        for r in (np.arange(200), np.arange(200, 250), np.arange(250, 300))
    )
    floor = score(test.a, REG.translator("train_mean")().fit(train, val, FitContext()).predict(test.b))
    for name in ("ridge", "pcr", "knn"):
        got = score(test.a, REG.translator(name)().fit(train, val, FitContext()).predict(test.b))
        assert got.summary["mse"] < floor.summary["mse"], name
        assert got.summary["median_r2_featurewise"] > 0.1, name


def test_stack_blends_members_with_nonnegative_validation_weights():
    train, val, test = (
        make_synthetic(n_samples=260, n_cpgs=50, n_genes=12, seed=5).subset(r)
        for r in (np.arange(160), np.arange(160, 210), np.arange(210, 260))
    )
    model = REG.translator("stack")().fit(train, val, FitContext())
    assert (model.weights_ > 0).all() and set(model.names_) <= {"ridge", "ridge_std", "krr", "knn"}
    # the blend is at least as good on validation as its best member (the members' mix includes it)
    blend = ((model.predict(val.b) - val.a) ** 2).mean()
    for name in ("ridge", "knn"):
        member = REG.translator(name)().fit(train, val, FitContext())
        assert blend <= ((member.predict(val.b) - val.a) ** 2).mean() + 1e-6
    assert score(test.a, model.predict(test.b)).summary["median_r2_featurewise"] > 0.1
