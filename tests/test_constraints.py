"""Declared parameter constraints, applicability (skip_reason), chosen settings and model-folder errors."""

import json

import numpy as np
import pytest

from omibench import FitContext, PluginError, Translator
from omibench.contract.constraints import Interval, ListOf, Options, describe
from omibench.contract.registry import load_registry
from omibench.contract.translator import read_model_meta, validate_params
from omibench.data import make_synthetic

REG = load_registry()


def _parts(n=90, p=40, g=8, n_val=20):
    d = make_synthetic(n_samples=n, n_cpgs=p, n_genes=g, seed=0)
    return d.subset(np.arange(0, 50)), d.subset(np.arange(50, 50 + n_val)), d.subset(np.arange(70, n))


def test_interval_options_and_lists_admit_and_describe():
    positive = Interval(float, 0.0, None, closed="neither")
    assert positive.admits(0.5) and positive.admits(3) and not positive.admits(0.0) and not positive.admits(-5)
    assert not positive.admits(True) and not positive.admits("1") and not positive.admits(float("nan"))
    assert not Interval(int, 1, None).admits(2.0)
    unit = Interval(float, 0.0, 1.0, closed="left")
    assert unit.admits(0.0) and not unit.admits(1.0)
    assert str(positive) == "a number in (0, inf)" and str(Interval(int, 1, 10)) == "an int in [1, 10]"
    assert Options("a", "b").admits("a") and not Options(True, False).admits(1) and not Options(1).admits(True)
    grid = ListOf(positive, 2, 2, increasing=True)
    assert grid.admits([1e-3, 1.0]) and not grid.admits([1.0, 1e-3]) and not grid.admits([1.0]) and not grid.admits(1.0)
    assert describe([None, positive]) == "null or a number in (0, inf)"


@pytest.mark.parametrize(
    "name, params, says",
    [
        ("lasso", {"alpha": -5}, "parameter 'alpha' = -5 is not allowed: must be null or a number in (0, inf)"),
        (
            "omitrans_fc",
            {"gan_mode": "wgan"},
            "parameter 'gan_mode' = 'wgan' is not allowed: must be one of 'vanilla', 'lsgan'",
        ),
        ("omitrans_fc", {"epochs": 10, "epochs_decay": 20}, "epochs_decay (20) must not exceed epochs (10)"),
        ("omitrans_fc", {"dist_loss": "BCE"}, "dist_loss BCE needs zo_norm"),
        ("omitrans_cnn", {"kernel": 8}, "kernel (8) must be odd"),
        ("omitrans_cnn", {"output_bias": "train_mean"}, "needs a per-gene output layer"),
        ("ridge", {"alpha_grid": [10.0, 1e-6]}, "a list of 2 items, each a number in (0, inf), increasing"),
        ("knn", {"weights": "gaussian"}, "one of 'uniform', 'distance'"),
        ("knn", {"k": 0}, "'k' = 0 is not allowed: must be null or an int in [1, inf)"),
        ("tdimpute", {"batch_size": 1}, "'batch_size' = 1 is not allowed: must be an int in [2, inf)"),
        ("tdimpute", {"select": "best"}, "one of 'final', 'best_val'"),
        ("stack", {"members": ["ridge", "forest"]}, "'members'"),
        ("stack", {"members": []}, "'members'"),
        ("stack", {"members": ["ridge", "ridge"]}, "members lists ridge more than once"),
        ("pcr", {"n_components": -1}, "'n_components' = -1"),
    ],
)
def test_out_of_range_and_unknown_choices_are_one_line_errors(name, params, says):
    with pytest.raises(PluginError) as info:
        validate_params(REG.translator(name), params)
    text = str(info.value)
    assert says in text and f"translator {name!r}" in text and "\n" not in text


def test_every_builtin_default_satisfies_its_constraints_and_names_only_declared_parameters():
    for name in REG.translators:
        cls = REG.translator(name)
        validate_params(cls, {})
        assert set(cls.param_constraints) <= set(cls.default_params), name


class Unconstrained(Translator):
    """A third-party translator written before constraints existed: kind checks still apply."""

    name = "unconstrained"
    default_params = {"shrink": 0.5, "mode": "a"}


def test_translators_without_constraints_keep_working():
    assert Unconstrained(shrink=-3.0, mode="zzz").params == {"shrink": -3.0, "mode": "zzz"}
    with pytest.raises(PluginError, match="must be float like its default"):
        Unconstrained(shrink="big")
    with pytest.raises(PluginError, match="no parameter 'shrnk'; did you mean 'shrink'"):
        Unconstrained(shrnk=1.0)


@pytest.mark.parametrize(
    "name, params",
    [
        ("ridge", {}),
        ("pcr", {}),
        ("knn", {}),
        ("lasso", {}),
        ("krr", {}),
        ("stack", {}),
        ("tdimpute", {"select": "best_val"}),
        ("omitrans_fc", {"select": "best_val"}),
    ],
)
def test_translators_that_choose_on_validation_refuse_an_empty_validation_split(name, params):
    train, val, _ = _parts()
    cls = REG.translator(name)
    full = validate_params(cls, params)
    assert cls.skip_reason(full, train, val) is None
    reason = cls.skip_reason(full, train, val.subset(np.arange(0)))
    assert reason and "validation" in reason


@pytest.mark.parametrize(
    "name, params",
    [
        ("ridge", {"alpha": 0.1}),
        ("pcr", {"n_components": 3}),
        ("knn", {"k": 3}),
        ("lasso", {"alpha": 0.1}),
        ("tdimpute", {}),
        ("omitrans_fc", {}),
        ("train_mean", {}),
        ("linear_regression", {}),
    ],
)
def test_fixed_settings_need_no_validation_split(name, params):
    train, val, _ = _parts()
    cls = REG.translator(name)
    assert cls.skip_reason(validate_params(cls, params), train, val.subset(np.arange(0))) is None


def test_skip_reasons_about_the_data_shape():
    train, val, _ = _parts(p=12)
    knn = REG.translator("knn")
    assert "larger than the training split (50 samples)" in knn.skip_reason(validate_params(knn, {"k": 80}), train, val)
    pcr = REG.translator("pcr")
    assert "exceeds the rank" in pcr.skip_reason(validate_params(pcr, {"n_components": 20}), train, val)
    cnn = REG.translator("omitrans_cnn")
    assert "at least 16 input features; the data has 12" in cnn.skip_reason(validate_params(cnn, {}), train, val)
    stack = REG.translator("stack")
    assert "2+" in stack.skip_reason(validate_params(stack, {}), train, val.subset(np.arange(1)))


def test_seed_dependence_is_declared_by_the_deterministic_translators():
    deterministic = {"ridge", "lasso", "pcr", "knn", "krr", "stack", "linear_regression", "train_mean"}
    assert all(not REG.translator(n).seed_dependent for n in deterministic)
    assert all(REG.translator(n).seed_dependent for n in ("omitrans_fc", "omitrans_cnn", "cgan", "tdimpute"))


def test_chosen_settings_after_fit():
    train, val, _ = _parts()
    ctx = FitContext()
    ridge = REG.translator("ridge")().fit(train, val, ctx)
    grid = np.geomspace(1e-6, 10.0, 50)
    assert np.isclose(grid, ridge.chosen()["alpha"]).any()
    assert ridge.chosen()["alpha"] == pytest.approx(float(grid[np.argmin(ridge.val_mse_path_)]))
    knn = REG.translator("knn")().fit(train, val, ctx)
    assert knn.chosen() == {"k": knn.k_}
    pcr = REG.translator("pcr")().fit(train, val, ctx)
    assert isinstance(pcr.chosen()["n_components"], int) and 1 <= pcr.chosen()["n_components"] <= 49
    lasso = REG.translator("lasso")(n_alphas=4).fit(train, val, ctx)
    c = lasso.chosen()
    assert c["alpha_q25"] <= c["alpha_median"] <= c["alpha_q75"]
    assert REG.translator("lasso")(alpha=0.05).fit(train, val, ctx).chosen() == {"alpha": 0.05}
    krr = REG.translator("krr")().fit(train, val, ctx)
    assert krr.chosen()["bandwidth"] in (0.3, 1.0, 3.0, 10.0)
    stack = REG.translator("stack")().fit(train, val, ctx)
    weights = {k: v for k, v in stack.chosen().items() if k.startswith("weight_")}
    assert set(weights) == {"weight_ridge", "weight_ridge_std", "weight_krr", "weight_knn"}
    assert all(w >= 0 for w in weights.values()) and sum(weights.values()) > 0
    assert "ridge.alpha" in stack.chosen() or weights["weight_ridge"] == 0
    td = REG.translator("tdimpute")(hidden=8, epochs=4, select="best_val", lr=1e-2).fit(train, val, ctx)
    assert td.chosen() == {"best_epoch": td.best_epoch_} and 1 <= td.best_epoch_ <= 4
    assert REG.translator("tdimpute")(hidden=8, epochs=2).fit(train, val, ctx).chosen() == {}


def test_chosen_survives_save_and_load(tmp_path):
    train, val, _ = _parts()
    for name in ("ridge", "knn", "stack", "krr"):
        model = REG.translator(name)().fit(train, val, FitContext())
        model.save(tmp_path / name)
        assert REG.translator(name).load(tmp_path / name).chosen() == model.chosen(), name


@pytest.mark.parametrize(
    "content, says",
    [
        (None, "translator.json: missing"),
        ("{not json", "translator.json: not readable JSON"),
        ("[1, 2]", "expected an object"),
        (json.dumps({"translator": "lasso", "params": {}}), "holds a 'lasso' model, not 'ridge'"),
    ],
)
def test_bad_translator_json_is_one_line_naming_the_file(tmp_path, content, says):
    train, val, _ = _parts()
    ridge = REG.translator("ridge")
    ridge().fit(train, val, FitContext()).save(tmp_path / "m")
    if content is None:
        (tmp_path / "m" / "translator.json").unlink()
    else:
        (tmp_path / "m" / "translator.json").write_text(content)
    with pytest.raises(PluginError) as info:
        ridge.load(tmp_path / "m")
    assert says in str(info.value) and str(tmp_path / "m") in str(info.value) and "\n" not in str(info.value)


def test_read_model_meta_without_a_class_returns_the_name(tmp_path):
    (tmp_path / "translator.json").write_text(json.dumps({"translator": "knn"}))
    assert read_model_meta(tmp_path) == {"translator": "knn", "params": {}}


def test_damaged_weights_of_a_torch_model_are_one_line(tmp_path):
    train, val, _ = _parts()
    td = REG.translator("tdimpute")
    td(hidden=4, epochs=1).fit(train, val, FitContext()).save(tmp_path / "m")
    (tmp_path / "m" / "weights.pt").write_bytes(b"garbage")
    with pytest.raises(PluginError, match="weights.pt: cannot be loaded"):
        td.load(tmp_path / "m")
