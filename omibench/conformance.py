"""A conformance check for translator plugins, in the spirit of scikit-learn's ``check_estimator``.

``check_translator(cls)`` fits the translator on a tiny synthetic cohort with its
``check_params`` and returns one :class:`CheckResult` per property; ``omibench check-plugin NAME``
prints them, and the test suite runs every built-in translator through it.
"""

from __future__ import annotations

import json
import tempfile
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from .data.splits import make_split
from .data.synthetic import make_synthetic
from .translator import FitContext, Translator, resolve_device, validate_params

__all__ = ["CheckResult", "check_translator"]


@dataclass(frozen=True)
class CheckResult:
    name: str
    passed: bool
    detail: str = ""


def check_translator(cls: type[Translator], device: str | None = None) -> list[CheckResult]:
    """Run every check; a check that raises is reported as failed with the exception."""
    data = make_synthetic(n_samples=60, n_cpgs=40, n_genes=24, n_classes=3, seed=7)
    rows = make_split(data, seed=0, val_fraction=0.2, test_fraction=0.2).rows(data)
    train, val, test = (data.subset(rows[k]) for k in ("train", "val", "test"))
    device = device or resolve_device(cls.resources)
    state: dict[str, object] = {}

    def ctx(seed: int) -> FitContext:
        return FitContext(seed=seed, device=device, n_jobs=1)

    def fitted(seed: int) -> Translator:
        return cls(**cls.check_params).fit(train, val, ctx(seed))

    def declares() -> str:
        assert isinstance(cls.name, str) and cls.name.strip(), "class attribute `name` must be a non-empty string"
        json.dumps(dict(cls.default_params))
        unknown = set(cls.check_params) - set(cls.default_params)
        assert not unknown, f"check_params names undeclared parameters {sorted(unknown)}"
        return f"name {cls.name!r}, {len(cls.default_params)} parameters"

    def rejects_unknown_param() -> str:
        try:
            cls(this_is_not_a_parameter=1)
        except Exception:  # noqa: BLE001
            return "unknown parameter rejected"
        raise AssertionError("constructor accepted an undeclared parameter")

    def search_space_valid() -> str:
        from .tuning import BoundTrial

        for upper in (False, True):
            drawn = cls.search_space(BoundTrial(upper))
            cls(**validate_params(cls, {**cls.check_params, **drawn}))
        return f"tunable: {', '.join(sorted(drawn))}; both ends valid" if drawn else "no search space (not tunable)"

    def fit_returns_self() -> str:
        model = cls(**cls.check_params)
        b_before = train.b.copy()
        out = model.fit(train, val, ctx(0))
        assert out is model, "fit must return self"
        assert np.array_equal(train.b, b_before), "fit modified its input"
        state["model"] = model
        return ""

    def predict_contract() -> str:
        pred = state["model"].predict(test.b)  # type: ignore[attr-defined]
        assert isinstance(pred, np.ndarray), f"predict returned {type(pred).__name__}, not a numpy array"
        assert pred.shape == test.a.shape, f"predict shape {pred.shape}, expected {test.a.shape}"
        assert pred.dtype == np.float32, f"predict dtype {pred.dtype}, expected float32"
        assert np.isfinite(pred).all(), "predict returned NaN or inf"
        one = state["model"].predict(test.b[:1])  # type: ignore[attr-defined]
        assert one.shape == (1, test.a.shape[1]), f"a single sample gives shape {one.shape}"
        np.testing.assert_allclose(one[0], pred[0], rtol=1e-4, atol=1e-5, err_msg="prediction depends on the batch")
        state["pred"] = pred
        return f"shape {pred.shape}, float32"

    def deterministic_under_seed() -> str:
        again = fitted(0).predict(test.b)
        np.testing.assert_allclose(again, state["pred"], rtol=1e-5, atol=1e-6, err_msg="two fits with seed 0 differ")
        return "two fits with the same seed agree"

    def save_load_round_trip() -> str:
        with tempfile.TemporaryDirectory() as tmp:
            state["model"].save(Path(tmp) / "model")  # type: ignore[attr-defined]
            loaded = cls.load(Path(tmp) / "model")
            pred = loaded.predict(test.b)
        np.testing.assert_allclose(pred, state["pred"], rtol=1e-5, atol=1e-6, err_msg="loaded model predicts differently")
        return "identical predictions after load"

    checks: list[Callable[[], str]] = [declares, rejects_unknown_param, search_space_valid, fit_returns_self,
                                       predict_contract, deterministic_under_seed, save_load_round_trip]
    results = []
    for check in checks:
        needs_model = check not in (declares, rejects_unknown_param, search_space_valid, fit_returns_self)
        if needs_model and ("model" not in state or (check is not predict_contract and "pred" not in state)):
            results.append(CheckResult(check.__name__, False, "skipped: an earlier check failed"))
            continue
        try:
            results.append(CheckResult(check.__name__, True, check()))
        except Exception as exc:  # noqa: BLE001
            last = traceback.format_exception_only(type(exc), exc)[-1].strip()
            results.append(CheckResult(check.__name__, False, last))
    return results
