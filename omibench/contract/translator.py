"""The translator contract: what every B -> A model implements, and what the harness gives it."""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import numpy as np

from omibench.contract.constraints import Constraint, first_violation
from omibench.errors import PluginError, one_line

if TYPE_CHECKING:
    from omibench.data.paired import PairedData

__all__ = [
    "BoundTrial",
    "Translator",
    "FitContext",
    "Resources",
    "resolve_device",
    "validate_params",
    "read_model_meta",
    "Chosen",
    "ParamConstraints",
]

T = TypeVar("T")
Self = TypeVar("Self", bound="Translator")


@dataclass(frozen=True)
class Resources:
    """What one fit needs: ``gpus=0`` runs on CPU; ``gpus=1`` wants one GPU and falls back to CPU."""

    gpus: int = 0


def resolve_device(resources: Resources) -> str:
    """``"cuda"`` when the translator wants a GPU and one is visible, else ``"cpu"``.

    torch is imported only for translators that ask for a GPU, so CPU-only runs stay light.
    """
    if resources.gpus <= 0:
        return "cpu"
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


Reporter = Callable[[int, Mapping[str, float]], None]
Chosen = dict[str, float | int | str]
ParamConstraints = Mapping[str, Sequence[Constraint | None]]


@dataclass
class FitContext:
    """What the harness hands to ``Translator.fit``.

    - ``seed``: seeds every random choice of the fit (weights, batches, dropout).
    - ``device``: ``"cpu"`` or ``"cuda"``; already resolved from the translator's resources.
    - ``n_jobs``: CPU workers the fit may use (e.g. LASSO fits genes in parallel). Pass it to
      joblib / scikit-learn explicitly; never rely on a library's default pool. The harness caps
      torch's and the BLAS pools' threads at it (:func:`omibench.run.threads.limit_threads`).
    - ``report(step, **values)``: per-epoch values such as ``val_mse``; the harness logs them to
      MLflow as step metrics (and, for tuning, passes them to Optuna for pruning).
    - ``progress(iterable)``: wraps long loops in a progress bar.
    - ``source``: the experiment's optional ``source_data`` (e.g. other cohorts for transfer
      learning), preprocessed like the training split and on the same features; else ``None``.
    """

    seed: int = 0
    device: str = "cpu"
    n_jobs: int = 1
    reporter: Reporter | None = None
    show_progress: bool = False
    source: PairedData | None = None
    reported: list[tuple[int, dict[str, float]]] = field(default_factory=list, repr=False)

    def report(self, step: int, **values: float) -> None:
        clean = {k: float(v) for k, v in values.items()}
        self.reported.append((step, clean))
        if self.reporter is not None:
            self.reporter(step, clean)

    def progress(self, iterable: Iterable[T], total: int | None = None, desc: str | None = None) -> Iterator[T]:
        if not self.show_progress:
            return iter(iterable)
        from tqdm.auto import tqdm

        return iter(tqdm(iterable, total=total, desc=desc, leave=False, dynamic_ncols=True))


class Translator:
    """Base class of every translator plugin (scikit-learn style: params declared up front).

    Subclasses set the class attributes and implement ``fit``, ``predict`` and either
    ``get_state``/``set_state`` (arrays, saved as ``.npz``) or ``save``/``load`` themselves.

    - ``name``: unique registry name used in experiment YAML (``translators: [{name: lasso}]``).
    - ``default_params``: every parameter with its default; unknown keys are rejected.
    - ``param_constraints``: per parameter, a list of alternatives (``None`` admits null, see
      :mod:`omibench.contract.constraints`), checked with ``param_conflict`` before anything is written.
      Parameters without an entry only have to be of their default's kind.
    - ``check_params``: overrides that make a fit tiny, used by the conformance check.
    - ``resources``: CPU only, or one GPU when present.
    - ``seed_dependent``: ``False`` when the fit ignores ``context.seed`` (closed-form or convex
      fits); the harness then fits once per split, and the conformance check verifies it.
    - ``control``: a reference method (per-gene training mean, a random training profile...): run
      with every benchmark, shown as a reference line, never ranked or compared as a winner.
    - ``anchors_skill``: for a control: whether its score anchors the skill score (0 = the best
      anchoring control of the split); a random or deliberately poor control sets False.
    - ``uses_test_labels``: only for a control (the registry refuses it otherwise). The harness
      then predicts with ``predict_with_labels(b, labels)``, giving the labels of the split being
      predicted; ``fit`` still never sees a test or validation label.
    - ``search_space(trial)``: what ``omibench tune`` may vary, next to the defaults.
    - ``skip_reason(params, train, val)``: why these data cannot be used (refused before a run).
    - ``chosen()``: after ``fit``, the settings picked on the validation split (logged).

    Data contract: ``fit`` gets the training split and the validation split as
    :class:`~omibench.PairedData` (float32, imputed, samples in rows). It may use the validation
    split to select epochs or penalties, never anything else. ``predict(b)`` takes an
    (n, n_b_features) float32 matrix and returns (n, n_a_features) float32 predictions on the
    scale of ``train.a``.
    """

    name: ClassVar[str] = ""
    default_params: ClassVar[Mapping[str, Any]] = {}
    param_constraints: ClassVar[ParamConstraints] = {}
    check_params: ClassVar[Mapping[str, Any]] = {}
    resources: ClassVar[Resources] = Resources()
    seed_dependent: ClassVar[bool] = True
    control: ClassVar[bool] = False
    anchors_skill: ClassVar[bool] = True
    uses_test_labels: ClassVar[bool] = False

    def __init__(self, **params: Any) -> None:
        self.params: dict[str, Any] = validate_params(type(self), params)

    @classmethod
    def search_space(cls, trial: Any) -> dict[str, Any]:
        """Parameters to tune, drawn from an Optuna ``trial`` (``trial.suggest_float(...)``...);
        merged over the experiment's parameters. ``{}`` (the default) means nothing to tune."""
        return {}

    @classmethod
    def extra_params(cls, extra: Mapping[str, Any], params: Mapping[str, Any]) -> dict[str, Any]:
        """Parameters not in ``default_params`` (``params``: the declared ones, validated). The
        default refuses them with a did-you-mean; a wrapper that forwards parameters to another
        library (the ``sklearn`` translator) validates and returns them instead."""
        for key in extra:
            close = difflib.get_close_matches(key, list(cls.default_params), n=1)
            known = ", ".join(sorted(cls.default_params)) or "none"
            hint = f"; did you mean {close[0]!r}?" if close else f"; known: {known}"
            raise PluginError(f"translator {cls.name!r} has no parameter {key!r}{hint}")
        return {}

    @classmethod
    def param_conflict(cls, params: Mapping[str, Any]) -> str | None:
        """Why these (individually valid, complete) parameters cannot go together, e.g.
        ``"epochs_decay (900) must not exceed epochs (800)"``; ``None`` when they can."""
        return None

    @classmethod
    def skip_reason(cls, params: Mapping[str, Any], train: PairedData, val: PairedData) -> str | None:
        """Why this translator cannot run with ``params`` on these splits, or ``None`` if it can.

        Called in preparation with the preprocessed training and validation splits, before any
        run starts, so that e.g. "chooses k on the validation split, which is empty" is a
        one-line refusal instead of a FAILED run. Cheap checks on shapes only; no fitting.
        """
        return None

    def fit(self: Self, train: PairedData, val: PairedData, context: FitContext) -> Self:
        raise NotImplementedError

    def predict(self, b: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def predict_with_labels(self, b: np.ndarray, labels: np.ndarray | None) -> np.ndarray:
        """Predictions for ``b`` given the (n,) labels of the samples predicted (``None`` entries
        for unlabelled samples). Only a control declaring ``uses_test_labels`` implements it: a
        translator that reads the samples' labels at prediction time would be scored on knowledge
        the task does not give it."""
        cls = type(self)
        if cls.control and cls.uses_test_labels:
            raise NotImplementedError(
                f"control {cls.name!r} declares uses_test_labels but does not implement predict_with_labels"
            )
        raise PluginError(
            f"translator {cls.name!r} may not read the labels of the samples it predicts: only a "
            "control (control = True, uses_test_labels = True) may; predict from b alone"
        )

    def chosen(self) -> Chosen:
        """After ``fit``: what was selected on the validation split (a penalty, k, a rank, the
        epoch kept...), as flat name -> number or string; ``{}`` when nothing was chosen."""
        return {}

    def refit_params(self) -> dict[str, Any] | None:
        """After ``fit``: parameters that pin what was chosen on validation (e.g. a one-value alpha
        grid, the epoch count with ``select: final``), for ``refit: train+val``; ``None`` (the
        default) when this translator cannot refit, which preparation refuses up front."""
        return None

    @classmethod
    def can_refit(cls) -> bool:
        return cls.refit_params is not Translator.refit_params

    # --- persistence -------------------------------------------------------------------------
    def get_state(self) -> dict[str, np.ndarray]:
        """The fitted arrays; the default ``save`` writes them to ``state.npz``."""
        raise NotImplementedError(f"{type(self).__name__} implements neither get_state nor save")

    def set_state(self, state: Mapping[str, np.ndarray]) -> None:
        raise NotImplementedError(f"{type(self).__name__} implements neither set_state nor load")

    def save(self, path: str | Path) -> None:
        """Write the fitted model into directory ``path`` (created if missing)."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        meta = {"translator": self.name, "params": self.params}
        (path / "translator.json").write_text(json.dumps(meta, indent=2, default=str))
        np.savez(path / "state.npz", **self.get_state())  # type: ignore[arg-type]  # numpy stubs bind ** to allow_pickle

    @classmethod
    def load(cls: type[Self], path: str | Path) -> Self:
        """Rebuild a fitted model from a directory written by ``save``."""
        path = Path(path)
        meta = read_model_meta(path, cls)
        model = cls(**meta["params"])
        state_file = path / "state.npz"
        try:
            with np.load(state_file, allow_pickle=False) as state:
                model.set_state({k: state[k] for k in state.files})
        except (OSError, ValueError, KeyError) as exc:
            why = one_line(exc, with_type=False)
            raise PluginError(
                f"{state_file}: cannot be read as a saved {cls.name!r} model ({why}): save the model again"
            ) from exc
        return model


def read_model_meta(path: str | Path, cls: type[Translator] | None = None) -> dict[str, Any]:
    """The ``translator.json`` of a saved model folder, checked: a JSON object naming a translator
    (``cls.name`` when given) with a ``params`` object. Anything else is a one-line PluginError
    naming the file."""
    file = Path(path) / "translator.json"
    try:
        meta = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PluginError(
            f"{file}: missing; {Path(path)} is not a saved translator (omibench run saves one per run)"
        ) from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise PluginError(
            f"{file}: not readable JSON ({one_line(exc, with_type=False)}): save the model again"
        ) from None
    if (
        not isinstance(meta, dict)
        or not isinstance(meta.get("translator"), str)
        or not isinstance(meta.get("params", {}), dict)
    ):
        raise PluginError(f'{file}: expected an object with "translator" (a name) and "params" (an object)')
    if cls is not None and meta["translator"] != cls.name:
        raise PluginError(
            f"{file}: holds a {meta['translator']!r} model, not {cls.name!r}: load it with its own translator"
        )
    meta.setdefault("params", {})
    return meta


def validate_params(cls: type[Translator], params: Mapping[str, Any]) -> dict[str, Any]:
    """Merge ``params`` over the class defaults; reject unknown names, wrong kinds of value, values
    outside ``cls.param_constraints`` and combinations ``cls.param_conflict`` refuses, each with
    one line naming the translator, the parameter, the value and what is allowed."""
    defaults = dict(cls.default_params)
    extra: dict[str, Any] = {}
    for key, value in params.items():
        if key not in defaults:
            extra[key] = value
            continue
        default = defaults[key]
        if not _same_kind(default, value):
            raise PluginError(
                f"translator {cls.name!r}: parameter {key!r} must be {type(default).__name__} "
                f"like its default {default!r}, got {value!r}"
            )
        if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        defaults[key] = value
    bad = first_violation(defaults, cls.param_constraints)
    if bad is not None:
        key, value, allowed = bad
        raise PluginError(f"translator {cls.name!r}: parameter {key!r} = {value!r} is not allowed: must be {allowed}")
    defaults.update(cls.extra_params(extra, defaults))
    conflict = cls.param_conflict(defaults)
    if conflict:
        raise PluginError(f"translator {cls.name!r}: {conflict}")
    return defaults


def _same_kind(default: Any, value: Any) -> bool:
    if default is None or value is None:
        return True
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(default, bool) and isinstance(value, bool)
    if isinstance(default, (int, float)):
        return isinstance(value, (int, float))
    if isinstance(default, (list, tuple)):
        return isinstance(value, (list, tuple))
    return isinstance(value, type(default))


class BoundTrial:
    """A stand-in Optuna trial that answers every suggestion with its lower (or upper) bound: tuning
    uses it to tell whether a search space is empty, the conformance check whether its extremes are
    valid parameters."""

    def __init__(self, upper: bool = False) -> None:
        self.upper = upper

    def suggest_float(self, name: str, low: float, high: float, **_: Any) -> float:
        return high if self.upper else low

    def suggest_int(self, name: str, low: int, high: int, **_: Any) -> int:
        return high if self.upper else low

    def suggest_categorical(self, name: str, choices: Any) -> Any:
        return list(choices)[-1 if self.upper else 0]
