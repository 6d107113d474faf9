import numpy as np
import pytest
import skops.io
from sklearn.cross_decomposition import PLSRegression
from sklearn.svm import SVR

from omibench import FitContext, PluginError
from omibench.contract.registry import load_registry
from omibench.data import make_synthetic

SK = load_registry().translator("sklearn")


def _parts():
    d = make_synthetic(n_samples=70, n_cpgs=25, n_genes=6, seed=3)
    return d.subset(np.arange(0, 40)), d.subset(np.arange(40, 55)), d.subset(np.arange(55, 70))


def test_pls_through_the_translator_equals_scikit_learn():
    train, val, test = _parts()
    model = SK(estimator="sklearn.cross_decomposition.PLSRegression", n_components=3).fit(train, val, FitContext())
    expected = PLSRegression(n_components=3).fit(train.b, train.a).predict(test.b.astype(np.float32))
    pred = model.predict(test.b)
    assert pred.dtype == np.float32 and pred.shape == test.a.shape
    np.testing.assert_allclose(pred, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "params, message",
    [
        ({"estimator": "os.system"}, "must be the import path of a scikit-learn class"),
        ({"estimator": "sklearn.nothing_here.Model"}, "no module 'sklearn.nothing_here'"),
        ({"estimator": "sklearn.linear_model.Ridgee"}, "did you mean sklearn.linear_model.Ridge"),
        ({"estimator": "sklearn.linear_model.LogisticRegression"}, "is a classifier"),
        (
            {"estimator": "sklearn.linear_model.Ridge", "alpa": 1.0},
            "Ridge has no parameter 'alpa'; did you mean 'alpha'",
        ),
        (
            {"estimator": "sklearn.cross_decomposition.PLSRegression", "n_components": 0},
            "'n_components' parameter of PLSRegression must be an int in the range",
        ),
        ({"estimator": "sklearn.linear_model.Ridge", "alpha": -1.0}, "'alpha' parameter of Ridge"),
    ],
)
def test_bad_estimators_and_parameters_are_one_line_errors(params, message):
    with pytest.raises(PluginError, match="sklearn") as info:
        SK(**params)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_a_single_output_regressor_is_wrapped_per_gene_with_the_context_workers():
    train, val, test = _parts()
    model = SK(estimator="sklearn.svm.SVR", C=2.0).fit(train, val, FitContext(n_jobs=2))
    assert type(model.estimator_).__name__ == "MultiOutputRegressor" and model.estimator_.n_jobs == 2
    expected = SVR(C=2.0).fit(train.b, train.a[:, 1]).predict(test.b.astype(np.float32))
    np.testing.assert_allclose(model.predict(test.b)[:, 1], expected, rtol=1e-4, atol=1e-4)


def test_n_jobs_and_random_state_come_from_the_context_unless_set():
    train, val, _ = _parts()
    forest = SK(estimator="sklearn.ensemble.RandomForestRegressor", n_estimators=3).fit(
        train, val, FitContext(seed=11, n_jobs=2)
    )
    assert forest.estimator_.n_jobs == 2 and forest.estimator_.random_state == 11
    fixed = SK(estimator="sklearn.ensemble.RandomForestRegressor", n_estimators=3, random_state=5, n_jobs=1).fit(
        train, val, FitContext(seed=11, n_jobs=2)
    )
    assert fixed.estimator_.n_jobs == 1 and fixed.estimator_.random_state == 5


def test_chosen_reports_what_an_estimator_with_internal_cv_picked():
    train, val, _ = _parts()
    model = SK(estimator="sklearn.linear_model.RidgeCV", alphas=[0.01, 1.0, 100.0]).fit(train, val, FitContext())
    assert model.chosen()["alpha"] in (0.01, 1.0, 100.0)
    assert model.chosen()["alpha"] == model.estimator_.alpha_


def test_save_load_round_trip_without_pickle(tmp_path):
    train, val, test = _parts()
    model = SK(estimator="sklearn.ensemble.RandomForestRegressor", n_estimators=3).fit(train, val, FitContext())
    model.save(tmp_path / "m")
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["estimator.skops", "translator.json"]
    np.testing.assert_array_equal(SK.load(tmp_path / "m").predict(test.b), model.predict(test.b))


class Planted:
    """A type from outside scikit-learn: loading it could run its code."""


def test_a_model_file_with_foreign_types_is_refused(tmp_path):
    train, val, _ = _parts()
    model = SK(estimator="sklearn.linear_model.Ridge").fit(train, val, FitContext())
    model.save(tmp_path / "m")
    model.estimator_.planted_ = Planted()
    skops.io.dump(model.estimator_, tmp_path / "m" / "estimator.skops")
    with pytest.raises(PluginError, match="outside scikit-learn.*Planted"):
        SK.load(tmp_path / "m")


def test_skip_reason_refuses_more_components_than_the_training_data_has():
    train, val, _ = _parts()
    params = SK(estimator="sklearn.cross_decomposition.PLSRegression", n_components=30).params
    assert "n_components 30" in SK.skip_reason(params, train, val)
    assert (
        SK.skip_reason(SK(estimator="sklearn.cross_decomposition.PLSRegression", n_components=3).params, train, val)
        is None
    )
