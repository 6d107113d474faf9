import numpy as np
import pytest

from omibench import Translator
from omibench.conformance import check_translator
from omibench.plugins import load_registry

BUILTINS = sorted(load_registry().translators)


@pytest.mark.parametrize("name", BUILTINS)
def test_builtin_translators_conform(name):
    results = check_translator(load_registry().translator(name))
    failed = [r for r in results if not r.passed]
    assert not failed, failed
    assert len(results) == 7


class Noisy(Translator):
    """Ignores the seed: the determinism check must catch it."""

    name = "noisy"

    def fit(self, train, val, context):
        self.mean_ = train.a.mean(axis=0) + np.random.default_rng().normal(size=train.a.shape[1])
        return self

    def predict(self, b):
        return np.tile(self.mean_, (len(b), 1)).astype(np.float32)

    def get_state(self):
        return {"m": self.mean_}

    def set_state(self, state):
        self.mean_ = state["m"]


class WrongShape(Noisy):
    name = "wrong_shape"

    def predict(self, b):
        return np.zeros((len(b), 3), dtype=np.float64)


def test_checks_catch_broken_translators():
    by_name = {r.name: r for r in check_translator(Noisy)}
    assert not by_name["deterministic_under_seed"].passed
    assert by_name["save_load_round_trip"].passed
    by_name = {r.name: r for r in check_translator(WrongShape)}
    assert not by_name["predict_contract"].passed
    assert "predict shape" in by_name["predict_contract"].detail


class BadSearchSpace(Noisy):
    """Its search space names a parameter it never declared."""

    name = "bad_search_space"
    default_params = {"shrink": 0.5}

    @classmethod
    def search_space(cls, trial):
        return {"shrink": trial.suggest_float("shrink", 0.0, 1.0), "shrinkage": trial.suggest_int("k", 1, 3)}


def test_check_catches_a_search_space_with_undeclared_parameters():
    by_name = {r.name: r for r in check_translator(BadSearchSpace)}
    assert not by_name["search_space_valid"].passed
    assert "shrinkage" in by_name["search_space_valid"].detail
    assert by_name["declares"].passed
