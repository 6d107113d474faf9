from pathlib import Path

import numpy as np
import pytest

from omibench import PluginError, Translator
from omibench.contract.conformance import check_translator, parametrize_with_checks, run_checks, translator_checks
from omibench.contract.constraints import Interval
from omibench.contract.registry import load_registry

PLUGINS = Path(__file__).parent / "fixtures" / "plugins"
BUILTINS = [load_registry().translator(name) for name in sorted(load_registry().translators)]


@parametrize_with_checks(BUILTINS)
def test_builtin_translators_conform(translator, check):
    check(translator)


def test_every_builtin_is_checked_with_every_check():
    names = {cls.name for cls in BUILTINS}
    assert {"ridge", "lasso", "omitrans_fc", "omitrans_cnn", "tdimpute", "stack", "sklearn"} <= names
    assert len(list(translator_checks(BUILTINS[0]))) == 12


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


class SeededNoise(Noisy):
    """Uses the seed, yet claims not to: the seed_dependent check must catch it."""

    name = "seeded_noise"
    seed_dependent = False

    def fit(self, train, val, context):
        self.mean_ = train.a.mean(axis=0) + np.random.default_rng(context.seed).normal(size=train.a.shape[1])
        return self


def _by_name(cls):
    return {r.name: r for r in check_translator(cls)}


def test_checks_catch_broken_translators():
    by_name = _by_name(Noisy)
    assert not by_name["deterministic_under_seed"].passed
    assert by_name["save_load_round_trip"].passed
    by_name = _by_name(WrongShape)
    assert not by_name["predict_contract"].passed
    assert "predict shape" in by_name["predict_contract"].detail


def test_a_translator_declaring_no_seed_dependence_must_not_depend_on_the_seed():
    by_name = _by_name(SeededNoise)
    assert by_name["deterministic_under_seed"].passed
    assert not by_name["seed_dependent_declared"].passed
    assert "seeds 0 and 1" in by_name["seed_dependent_declared"].detail


class BadSearchSpace(Noisy):
    """Its search space names a parameter it never declared."""

    name = "bad_search_space"
    default_params = {"shrink": 0.5}

    @classmethod
    def search_space(cls, trial):
        return {"shrink": trial.suggest_float("shrink", 0.0, 1.0), "shrinkage": trial.suggest_int("k", 1, 3)}


def test_check_catches_a_search_space_with_undeclared_parameters():
    by_name = _by_name(BadSearchSpace)
    assert not by_name["search_space_valid"].passed
    assert "shrinkage" in by_name["search_space_valid"].detail
    assert by_name["declares"].passed


class OutOfRangeSearch(Noisy):
    name = "out_of_range_search"
    default_params = {"shrink": 0.5}
    param_constraints = {"shrink": [Interval(float, 0.0, 1.0)]}

    @classmethod
    def search_space(cls, trial):
        return {"shrink": trial.suggest_float("shrink", 0.0, 2.0)}


def test_check_catches_a_search_space_beyond_the_declared_range_and_accepts_the_range():
    by_name = _by_name(OutOfRangeSearch)
    assert not by_name["search_space_valid"].passed and "shrink" in by_name["search_space_valid"].detail
    assert by_name["rejects_out_of_range"].passed
    assert "refused" in by_name["rejects_out_of_range"].detail


class DefaultOutsideConstraints(Noisy):
    name = "default_outside"
    default_params = {"k": 0}
    param_constraints = {"k": [Interval(int, 1, None)]}


def test_check_catches_defaults_that_break_their_own_constraints():
    by_name = _by_name(DefaultOutsideConstraints)
    assert not by_name["declares"].passed and "'k'" in by_name["declares"].detail


class CustomJsonLoad(Noisy):
    """Writes and reads its own translator.json with json.loads: a garbled file is a traceback."""

    name = "custom_json_load"

    def save(self, path):
        import json
        from pathlib import Path

        Path(path).mkdir(parents=True, exist_ok=True)
        (Path(path) / "translator.json").write_text(json.dumps({"translator": self.name, "m": self.mean_.tolist()}))

    @classmethod
    def load(cls, path):
        import json
        from pathlib import Path

        model = cls()
        model.mean_ = np.array(json.loads((Path(path) / "translator.json").read_text())["m"])
        return model


def test_check_catches_a_load_that_crashes_on_a_garbled_file():
    by_name = _by_name(CustomJsonLoad)
    assert by_name["save_load_round_trip"].passed
    assert not by_name["load_rejects_garbled_file"].passed
    assert "JSONDecodeError" in by_name["load_rejects_garbled_file"].detail


@pytest.fixture(scope="module")
def escaping():
    return PLUGINS / "escaping"  # translators that call sys.exit, raise KeyboardInterrupt or os._exit, and a good one


@pytest.mark.parametrize(
    "name, check, says",
    [
        ("exit_zero", "fit_returns_self", "sys.exit(0)"),
        ("raises_interrupt", "predict_contract", "KeyboardInterrupt"),
        ("hard_exit", "fit_returns_self", "exited with status 0 without a result"),
    ],
)
def test_a_plugin_that_exits_or_interrupts_is_reported_failing(escaping, name, check, says):
    results = run_checks(name, [escaping])
    by_name = {r.name: r for r in results}
    assert not by_name[check].passed
    assert says in by_name[check].detail
    assert {r.name for r in results} == {n for n, _ in translator_checks(Translator)}
    if name == "hard_exit":
        assert "about to leave" in by_name[check].detail  # the child's last output is kept
        assert all(
            not r.passed
            for r in results
            if r.name
            not in ("declares", "rejects_unknown_param", "rejects_out_of_range", "search_space_valid", "skip_reason")
        )


def test_a_good_plugin_passes_in_a_child_process(escaping):
    problems = []
    results = run_checks("good_mean", [escaping], on_problem=problems.append)
    assert all(r.passed for r in results), [r for r in results if not r.passed]
    assert problems == []


def test_run_checks_names_an_unknown_translator_and_reports_broken_plugins():
    problems = []
    with pytest.raises(PluginError, match="unknown translator 'nope'"):
        run_checks("nope", [PLUGINS / "exits_at_import"], on_problem=problems.append)  # broken.py: sys.exit(3)
    assert any("broken.py" in p and "SystemExit" in p for p in problems)


def test_a_hanging_check_is_stopped_and_named():
    results = run_checks("hang", [PLUGINS / "hang"], timeout_s=6)
    by_name = {r.name: r for r in results}
    assert not by_name["fit_returns_self"].passed
    assert "timed out after 6 s" in by_name["fit_returns_self"].detail
