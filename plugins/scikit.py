"""``sklearn``: any scikit-learn regressor as a translator, with no code.

.. code-block:: yaml

    translators:
      - {name: sklearn, params: {estimator: sklearn.cross_decomposition.PLSRegression, n_components: 20}}

- ``estimator``: the import path of a scikit-learn regressor class (``sklearn.*`` only: a model
  folder names it, and loading a model must not import arbitrary modules). Every other parameter is
  passed to the estimator, checked against its ``get_params()`` names and its own declared
  constraints before anything runs.
- Estimators without multi-output support (e.g. ``sklearn.svm.SVR``) are wrapped in
  ``MultiOutputRegressor`` (one fit per gene, ``context.n_jobs`` workers).
- ``n_jobs`` and ``random_state``, when the estimator has them and the experiment does not set
  them, come from the fit context (the job's CPU share and seed).
- Fitted on the training split only; validation is not used (estimators with internal CV, such as
  ``RidgeCV``, choose on training folds; what they chose is reported by ``chosen()``).
- Saved with skops (``estimator.skops``), never pickle; loading trusts only scikit-learn's own types.
"""

from __future__ import annotations

import difflib
import importlib
import json
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from omibench import Chosen, FitContext, PairedData, PluginError, Translator, read_model_meta

__all__ = ["SklearnTranslator"]

_PREFIX = "sklearn."


def resolve_estimator(path: str) -> type:
    """The scikit-learn regressor class at import path ``path``; a one-line PluginError otherwise."""
    where = "translator 'sklearn': parameter 'estimator'"
    if not isinstance(path, str) or not path.startswith(_PREFIX) or "." not in path[len(_PREFIX) :]:
        raise PluginError(
            f"{where} = {path!r} must be the import path of a scikit-learn class, "
            "e.g. sklearn.cross_decomposition.PLSRegression (other libraries: write a translator plugin)"
        )
    module_name, _, attr = path.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        raise PluginError(f"{where} = {path!r}: no module {module_name!r} in scikit-learn") from None
    cls = getattr(module, attr, None)
    if cls is None:
        public = [n for n in dir(module) if not n.startswith("_") and isinstance(getattr(module, n), type)]
        close = difflib.get_close_matches(attr, public, n=1)
        hint = f"; did you mean {module_name}.{close[0]}?" if close else ""
        raise PluginError(f"{where} = {path!r}: {module_name} has no {attr!r}{hint}")
    if not (
        isinstance(cls, type)
        and callable(getattr(cls, "fit", None))
        and callable(getattr(cls, "predict", None))
        and hasattr(cls, "get_params")
    ):
        raise PluginError(f"{where} = {path!r} is not an estimator class with fit and predict")
    from sklearn.base import is_classifier

    try:
        if is_classifier(cls()):
            raise PluginError(f"{where} = {path!r} is a classifier; a translator needs a regressor")
    except PluginError:
        raise
    except Exception:
        pass
    return cls


class SklearnTranslator(Translator):
    """A scikit-learn regressor fitted on all genes at once (B -> A)."""

    name = "sklearn"
    default_params = {"estimator": "sklearn.linear_model.Ridge"}
    check_params = {"estimator": "sklearn.cross_decomposition.PLSRegression", "n_components": 2}

    @classmethod
    def extra_params(cls, extra: Mapping[str, Any], params: Mapping[str, Any]) -> dict[str, Any]:
        estimator = resolve_estimator(params["estimator"])
        try:
            known = estimator().get_params(deep=False)
        except Exception as exc:
            raise PluginError(
                f"translator 'sklearn': {params['estimator']} cannot be built with defaults "
                f"({type(exc).__name__}: {exc})"
            ) from None
        for key, value in extra.items():
            if key not in known:
                close = difflib.get_close_matches(key, list(known), n=1)
                hint = f"did you mean {close[0]!r}?" if close else f"known: {', '.join(sorted(known)) or 'none'}"
                raise PluginError(f"translator 'sklearn': {estimator.__name__} has no parameter {key!r}; {hint}")
            try:
                json.dumps(value)
            except (TypeError, ValueError):
                raise PluginError(
                    f"translator 'sklearn': parameter {key!r} = {value!r} must be plain data "
                    "(number, string, list, mapping)"
                ) from None
        built = estimator(**extra)
        validate = getattr(built, "_validate_params", None)
        if callable(validate):  # scikit-learn's own declared constraints (ranges, choices)
            try:
                validate()
            except (ValueError, TypeError) as exc:
                raise PluginError(f"translator 'sklearn': {str(exc).splitlines()[0]}") from None
        return dict(extra)

    @classmethod
    def skip_reason(cls, params: Mapping[str, Any], train: PairedData, val: PairedData) -> str | None:
        k = params.get("n_components")
        if isinstance(k, int) and k > min(train.n_samples, train.b.shape[1]):
            return (
                f"sklearn {params['estimator']}: n_components {k} exceeds min(training samples, CpGs) = "
                f"{min(train.n_samples, train.b.shape[1])}: lower it"
            )
        return None

    def _build(self, context: FitContext) -> Any:
        from sklearn.multioutput import MultiOutputRegressor
        from sklearn.utils import get_tags

        estimator_cls = resolve_estimator(self.params["estimator"])
        extra = {k: v for k, v in self.params.items() if k != "estimator"}
        known = estimator_cls().get_params(deep=False)
        if "n_jobs" in known and "n_jobs" not in extra:
            extra["n_jobs"] = context.n_jobs
        if "random_state" in known and "random_state" not in extra:
            extra["random_state"] = context.seed
        estimator = estimator_cls(**extra)
        if not get_tags(estimator).target_tags.multi_output:
            return MultiOutputRegressor(estimator, n_jobs=context.n_jobs)
        return estimator

    def fit(self, train: PairedData, val: PairedData, context: FitContext) -> SklearnTranslator:
        self.estimator_ = self._build(context).fit(train.b, train.a)
        self.n_out_ = train.a.shape[1]
        return self

    def predict(self, b: np.ndarray) -> np.ndarray:
        pred = np.asarray(self.estimator_.predict(np.asarray(b, dtype=np.float32)), dtype=np.float32)
        return pred.reshape(len(b), -1)

    def chosen(self) -> Chosen:
        """Scalar settings the estimator picked while fitting (``alpha_`` of ``RidgeCV``...)."""
        out: Chosen = {}
        for key, value in vars(self.estimator_).items():
            if key.endswith("_") and not key.startswith("_") and key not in ("n_features_in_", "n_iter_"):
                if (
                    isinstance(value, (int, float, np.integer, np.floating))
                    and not isinstance(value, bool)
                    and np.isfinite(value)
                ):
                    out[key.rstrip("_")] = value.item() if isinstance(value, np.generic) else value
                elif isinstance(value, str):
                    out[key.rstrip("_")] = value
        return out

    # --- persistence: skops, whose loader builds only the types it is told to trust -------------
    def save(self, path: str | Path) -> None:
        import sklearn
        import skops.io

        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        meta = {"translator": self.name, "params": self.params, "n_out": self.n_out_, "sklearn": sklearn.__version__}
        (path / "translator.json").write_text(json.dumps(meta, indent=2))
        skops.io.dump(self.estimator_, path / "estimator.skops")

    @classmethod
    def load(cls, path: str | Path) -> SklearnTranslator:
        import sklearn
        import skops.io

        path = Path(path)
        meta = read_model_meta(path, cls)
        model = cls(**meta["params"])
        file = path / "estimator.skops"
        try:
            untrusted = skops.io.get_untrusted_types(file=file)
        except Exception as exc:
            raise PluginError(f"{file}: cannot be read ({type(exc).__name__}: {exc}): save the model again") from None
        foreign = [t for t in untrusted if not t.startswith(_PREFIX)]
        if foreign:
            raise PluginError(
                f"{file}: holds types outside scikit-learn ({', '.join(foreign[:3])}); "
                "not loaded, since loading them could run code"
            )
        if meta.get("sklearn") and meta["sklearn"] != sklearn.__version__:
            warnings.warn(
                f"{file}: saved with scikit-learn {meta['sklearn']}, loaded with {sklearn.__version__}", stacklevel=2
            )
        model.estimator_ = skops.io.load(file, trusted=untrusted)
        model.n_out_ = int(meta.get("n_out", 0))
        return model
