"""Conformance checks for translator plugins, in the spirit of scikit-learn's ``check_estimator``.

Each check is a function ``check_x(cls) -> str`` that fits the translator on a tiny synthetic
cohort (60 samples, 40 CpGs, 24 genes) with its ``check_params``, returns a one-line detail when
the property holds and raises ``AssertionError`` when it does not. Fits are cached per
(class, seed), so running every check costs about two fits.

- In a plugin's own tests, one test id per (translator, check)::

      from omibench.contract.conformance import parametrize_with_checks

      @parametrize_with_checks([MyTranslator])
      def test_conformance(translator, check):
          check(translator)

- ``check_translator(cls)`` runs them all in this process and returns :class:`CheckResult` s.
- ``run_checks(name, plugin_dirs)`` (``omibench check-plugin``) runs them in a child process, so a
  plugin that calls ``sys.exit``/``os._exit`` or raises ``KeyboardInterrupt`` is reported as failing
  instead of ending the check with nothing said.
"""

from __future__ import annotations

import json
import math
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from omibench.contract.constraints import Interval, Options
from omibench.contract.translator import BoundTrial, FitContext, Translator, resolve_device, validate_params
from omibench.data.paired import PairedData
from omibench.errors import OmibenchError, one_line

__all__ = [
    "CheckResult",
    "check_translator",
    "failure_detail",
    "parametrize_with_checks",
    "run_checks",
    "translator_checks",
]

Check = Callable[[type[Translator]], str]


@dataclass(frozen=True)
class CheckResult:
    name: str
    passed: bool
    detail: str = ""


@dataclass(frozen=True)
class _Cohort:
    train: PairedData
    val: PairedData
    test: PairedData


@lru_cache(maxsize=1)
def _cohort() -> _Cohort:
    from omibench.data.splits import make_split
    from omibench.data.synthetic import make_synthetic

    data = make_synthetic(n_samples=60, n_cpgs=40, n_genes=24, n_classes=3, seed=7)
    rows = make_split(data, seed=0, val_fraction=0.2, test_fraction=0.2).rows(data)
    return _Cohort(*(data.subset(rows[k]) for k in ("train", "val", "test")))


def _fresh(part: PairedData) -> PairedData:
    """A private copy, so a translator that writes into its input cannot spoil later checks."""
    return part.subset(np.arange(part.n_samples))


@dataclass
class _Fit:
    model: Translator | None = None
    pred: np.ndarray | None = None
    returned_self: bool = False
    input_unchanged: bool = False
    error: str = ""


_FITS: dict[tuple[type, int], _Fit] = {}


def _fit(cls: type[Translator], seed: int = 0) -> _Fit:
    """Fit ``cls(**check_params)`` with ``seed`` once (cached, failures too) and predict the test part."""
    key = (cls, seed)
    if key not in _FITS:
        cohort = _cohort()
        train, val = _fresh(cohort.train), _fresh(cohort.val)
        result = _Fit()
        try:
            model = cls(**cls.check_params)
            out = model.fit(train, val, FitContext(seed=seed, device=resolve_device(cls.resources), n_jobs=1))
            result.model, result.returned_self = model, out is model
            result.input_unchanged = bool(
                np.array_equal(train.b, cohort.train.b) and np.array_equal(train.a, cohort.train.a)
            )
            result.pred = _predict(model, _fresh(cohort.test))
        except BaseException as exc:  # a check failure, whatever it is: SystemExit included
            result.error = failure_detail(exc)
        if len(_FITS) > 64:
            _FITS.clear()
        _FITS[key] = result
    return _FITS[key]


def _predict(model: Translator, part: PairedData) -> np.ndarray:
    """``predict(b)``, or for a control declaring ``uses_test_labels`` ``predict_with_labels(b, labels)``
    with the check cohort's labels, as the harness does."""
    if type(model).uses_test_labels:
        return model.predict_with_labels(part.b, part.labels)
    return model.predict(part.b)


def _fitted(cls: type[Translator], seed: int = 0) -> tuple[Translator, np.ndarray]:
    fit = _fit(cls, seed)
    if fit.error:
        raise AssertionError(f"fit/predict with seed {seed} failed: {fit.error}")
    assert fit.model is not None and fit.pred is not None
    return fit.model, fit.pred


# --- the checks ----------------------------------------------------------------------------------


def check_declares(cls: type[Translator]) -> str:
    """Name, JSON-able defaults, ``check_params`` and ``param_constraints`` naming declared
    parameters, and defaults and check parameters that pass the constraints."""
    assert isinstance(cls.name, str) and cls.name.strip(), "class attribute `name` must be a non-empty string"
    json.dumps(dict(cls.default_params))
    unconstrained = set(cls.param_constraints) - set(cls.default_params)
    assert not unconstrained, f"param_constraints names undeclared parameters {sorted(unconstrained)}"
    assert isinstance(cls.seed_dependent, bool), "seed_dependent must be True or False"
    assert isinstance(cls.control, bool) and isinstance(cls.uses_test_labels, bool), (
        "control and uses_test_labels must be True or False"
    )
    assert cls.control or not cls.uses_test_labels, (
        "uses_test_labels without control = True: only a control may read the labels of the samples it predicts"
    )
    for label, params in (("default_params", {}), ("check_params", dict(cls.check_params))):
        try:
            validate_params(cls, params)
        except OmibenchError as exc:
            raise AssertionError(f"{label} break the declared constraints: {exc}") from None
    return f"name {cls.name!r}, {len(cls.default_params)} parameters, {len(cls.param_constraints)} constrained"


def check_rejects_unknown_param(cls: type[Translator]) -> str:
    try:
        cls(this_is_not_a_parameter=1)
    except OmibenchError:
        return "unknown parameter rejected"
    raise AssertionError("constructor accepted an undeclared parameter (call omibench.translator.validate_params)")


def check_rejects_out_of_range(cls: type[Translator]) -> str:
    """A value outside a declared interval or choice is refused with a one-line PluginError."""
    for name, alternatives in cls.param_constraints.items():
        bad = _outside(alternatives)
        if bad is _NOTHING:
            continue
        try:
            cls(**{**cls.check_params, name: bad})
        except OmibenchError as exc:
            text = str(exc)
            assert "\n" not in text and name in text, f"the error should be one line naming {name!r}: {text!r}"
            return f"{name}={bad!r} refused"
        raise AssertionError(f"constructor accepted {name}={bad!r}, outside its declared constraints")
    return "no range or choice declared (kinds only)"


def check_search_space_valid(cls: type[Translator]) -> str:
    """Both ends of the search space are valid parameters."""
    drawn: dict[str, Any] = {}
    for upper in (False, True):
        drawn = cls.search_space(BoundTrial(upper))
        cls(**validate_params(cls, {**cls.check_params, **drawn}))
    return f"tunable: {', '.join(sorted(drawn))}; both ends valid" if drawn else "no search space (not tunable)"


def check_skip_reason(cls: type[Translator]) -> str:
    """``skip_reason`` accepts the check cohort and answers (None or a sentence) for an empty
    validation split without raising."""
    cohort = _cohort()
    params = validate_params(cls, cls.check_params)
    reason = cls.skip_reason(params, cohort.train, cohort.val)
    assert reason is None, f"skip_reason refuses the check cohort: {reason}"
    empty = cohort.val.subset(np.arange(0))
    reason = cls.skip_reason(params, cohort.train, empty)
    assert reason is None or (isinstance(reason, str) and reason.strip()), f"skip_reason returned {reason!r}"
    return f"empty validation split: {reason}" if reason else "runs without a validation split"


def check_fit_returns_self(cls: type[Translator]) -> str:
    fit = _fit(cls, 0)
    if fit.model is None:
        raise AssertionError(f"fit failed: {fit.error}")
    assert fit.returned_self, "fit must return self"
    assert fit.input_unchanged, "fit modified its input"
    return ""


def check_predict_contract(cls: type[Translator]) -> str:
    model, pred = _fitted(cls)
    test = _cohort().test
    assert isinstance(pred, np.ndarray), f"predict returned {type(pred).__name__}, not a numpy array"
    assert pred.shape == test.a.shape, f"predict shape {pred.shape}, expected {test.a.shape}"
    assert pred.dtype == np.float32, f"predict dtype {pred.dtype}, expected float32"
    assert np.isfinite(pred).all(), "predict returned NaN or inf"
    one = _predict(model, test.subset(np.arange(1)))
    assert one.shape == (1, test.a.shape[1]), f"a single sample gives shape {one.shape}"
    np.testing.assert_allclose(one[0], pred[0], rtol=1e-4, atol=1e-5, err_msg="prediction depends on the batch")
    return f"shape {pred.shape}, float32"


def check_deterministic_under_seed(cls: type[Translator]) -> str:
    _, pred = _fitted(cls)
    again = _fit_uncached(cls, 0)
    np.testing.assert_allclose(again, pred, rtol=1e-5, atol=1e-6, err_msg="two fits with seed 0 differ")
    return "two fits with the same seed agree"


def check_seed_dependent_declared(cls: type[Translator]) -> str:
    """A translator declaring ``seed_dependent = False`` gives the same predictions for two seeds
    (the harness fits it once per split and reuses the result for every seed)."""
    if cls.seed_dependent:
        return "declares seed_dependent (fitted once per seed)"
    _, pred0 = _fitted(cls, 0)
    _, pred1 = _fitted(cls, 1)
    np.testing.assert_allclose(
        pred1,
        pred0,
        rtol=1e-5,
        atol=1e-6,
        err_msg="declares seed_dependent = False, but seeds 0 and 1 predict differently",
    )
    return "seed_dependent = False: seeds 0 and 1 agree"


def check_chosen(cls: type[Translator]) -> str:
    """``chosen()`` is a flat dict of names to finite numbers or strings (logged as MLflow params)."""
    model, _ = _fitted(cls)
    chosen = model.chosen()
    assert isinstance(chosen, dict), f"chosen() returned {type(chosen).__name__}, not a dict"
    for key, value in chosen.items():
        assert isinstance(key, str) and key, f"chosen() key {key!r} is not a non-empty string"
        ok = isinstance(value, str) or (
            isinstance(value, (int, float, np.integer, np.floating))
            and not isinstance(value, bool)
            and math.isfinite(float(value))
        )
        assert ok, f"chosen()[{key!r}] = {value!r} is not a finite number or a string"
    return ", ".join(f"{k}={_short(v)}" for k, v in chosen.items()) or "nothing chosen on validation"


def check_save_load_round_trip(cls: type[Translator]) -> str:
    model, pred = _fitted(cls)
    with tempfile.TemporaryDirectory() as tmp:
        model.save(Path(tmp) / "saved")
        loaded = cls.load(Path(tmp) / "saved")
        again = _predict(loaded, _cohort().test)
    np.testing.assert_allclose(again, pred, rtol=1e-5, atol=1e-6, err_msg="loaded model predicts differently")
    return "identical predictions after load"


def check_load_rejects_garbled_file(cls: type[Translator]) -> str:
    """A garbled ``translator.json`` is a one-line OmibenchError naming the file, not a traceback."""
    model, _ = _fitted(cls)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "saved"
        model.save(folder)
        (folder / "translator.json").write_text('{"translator": ')
        try:
            cls.load(folder)
        except OmibenchError as exc:
            assert "translator.json" in str(exc), f"the error should name translator.json: {exc}"
            return "refused with one line"
        except Exception as exc:
            raise AssertionError(
                f"raised {type(exc).__name__}, not an OmibenchError (use "
                f"omibench.translator.read_model_meta): {one_line(exc, every_line=True)}"
            ) from None
    raise AssertionError("loaded a garbled translator.json without complaint")


_CHECKS: tuple[Check, ...] = (
    check_declares,
    check_rejects_unknown_param,
    check_rejects_out_of_range,
    check_search_space_valid,
    check_skip_reason,
    check_fit_returns_self,
    check_predict_contract,
    check_deterministic_under_seed,
    check_seed_dependent_declared,
    check_chosen,
    check_save_load_round_trip,
    check_load_rejects_garbled_file,
)


def translator_checks(cls: type[Translator]) -> Iterator[tuple[str, Check]]:
    """``(name, check)`` for every check; call ``check(cls)``."""
    for check in _CHECKS:
        yield check.__name__.removeprefix("check_"), check


def parametrize_with_checks(classes: Iterable[type[Translator]]) -> Any:
    """A ``pytest.mark.parametrize("translator, check", ...)`` over every (class, check), with
    test ids ``"<name>-<check>"``."""
    import pytest

    cases = [(cls, name, check) for cls in classes for name, check in translator_checks(cls)]
    return pytest.mark.parametrize(
        "translator, check", [(c, chk) for c, _, chk in cases], ids=[f"{c.name or c.__name__}-{n}" for c, n, _ in cases]
    )


def check_translator(cls: type[Translator]) -> list[CheckResult]:
    """Run every check in this process; a check that raises anything (``SystemExit`` and
    ``KeyboardInterrupt`` included) is a failure, detailed by :func:`failure_detail`. The device
    follows ``cls.resources``."""
    results = []
    for name, check in translator_checks(cls):
        try:
            results.append(CheckResult(name, True, check(cls)))
        except BaseException as exc:  # a plugin's sys.exit or KeyboardInterrupt is its failure
            results.append(CheckResult(name, False, failure_detail(exc)))
    return results


def run_checks(
    name: str,
    plugin_dirs: Iterable[str | Path] = (),
    timeout_s: float = 900.0,
    on_problem: Callable[[str], None] | None = None,
) -> list[CheckResult]:
    """Every check of the translator registered as ``name``, run in a child process.

    A child that dies (``os._exit``, a signal, a crash), exits without a result (``sys.exit``) or
    outlives ``timeout_s`` yields a failed :class:`CheckResult` for the check it was in, naming what
    happened, and "not run" for the rest. An unknown name or broken plugin folder raises the
    child's one-line :class:`~omibench.PluginError` / ``ConfigError``. ``on_problem`` receives each
    problem met while loading the plugins (default: logged as a warning).
    """
    from omibench.contract.isolation import run_in_child

    return run_in_child(name, [str(d) for d in plugin_dirs], timeout_s, on_problem)


# --- helpers ------------------------------------------------------------------------------------


def _fit_uncached(cls: type[Translator], seed: int) -> np.ndarray:
    cohort = _cohort()
    model = cls(**cls.check_params).fit(
        _fresh(cohort.train), _fresh(cohort.val), FitContext(seed=seed, device=resolve_device(cls.resources), n_jobs=1)
    )
    return _predict(model, _fresh(cohort.test))


_NOTHING = object()


def _outside(alternatives: Iterable[Any]) -> Any:
    """A value no alternative admits, from the first bounded interval or choice list; else _NOTHING."""
    alternatives = list(alternatives)
    candidates: list[Any] = []
    for c in alternatives:
        if isinstance(c, Interval):
            if c.low is not None:
                candidates.append(c.kind(c.low - 1))
            if c.high is not None:
                candidates.append(c.kind(c.high + 1))
        elif isinstance(c, Options) and all(isinstance(v, str) for v in c.values):
            candidates.append("not-a-choice")
    for value in candidates:
        if not any(value is None if c is None else c.admits(value) for c in alternatives):
            return value
    return _NOTHING


def _short(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def failure_detail(exc: BaseException) -> str:
    """A failed check's detail: the exception in one line (every line of its message: numpy's
    assertions say what differs on their later lines), naming a translator's ``sys.exit`` or
    ``KeyboardInterrupt`` as such."""
    if isinstance(exc, SystemExit):
        return f"SystemExit: the translator called sys.exit({exc.code!r})"
    if isinstance(exc, KeyboardInterrupt):
        return "KeyboardInterrupt raised by the translator"
    return one_line(exc, every_line=True)
