"""The translator contract: what every B -> A model implements, and what the harness gives it."""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Iterable, Iterator, Mapping, TypeVar

import numpy as np

from ._errors import PluginError

if TYPE_CHECKING:
    from .data.paired import PairedData

__all__ = ["Translator", "FitContext", "Resources", "resolve_device"]

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


@dataclass
class FitContext:
    """What the harness hands to ``Translator.fit``.

    - ``seed``: seeds every random choice of the fit (weights, batches, dropout).
    - ``device``: ``"cpu"`` or ``"cuda"``; already resolved from the translator's resources.
    - ``n_jobs``: CPU workers the fit may use (e.g. LASSO fits genes in parallel).
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
    source: "PairedData | None" = None
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
    - ``check_params``: overrides that make a fit tiny, used by the conformance check.
    - ``resources``: CPU only, or one GPU when present.
    - ``search_space(trial)``: what ``omibench tune`` may vary, next to the defaults.

    Data contract: ``fit`` gets the training split and the validation split as
    :class:`~omibench.PairedData` (float32, imputed, samples in rows). It may use the validation
    split to select epochs or penalties, never anything else. ``predict(b)`` takes an
    (n, n_b_features) float32 matrix and returns (n, n_a_features) float32 predictions on the
    scale of ``train.a``.
    """

    name: ClassVar[str] = ""
    default_params: ClassVar[Mapping[str, Any]] = {}
    check_params: ClassVar[Mapping[str, Any]] = {}
    resources: ClassVar[Resources] = Resources()

    def __init__(self, **params: Any) -> None:
        self.params: dict[str, Any] = validate_params(type(self), params)

    @classmethod
    def search_space(cls, trial: Any) -> dict[str, Any]:
        """Parameters to tune, drawn from an Optuna ``trial`` (``trial.suggest_float(...)``...);
        merged over the experiment's parameters. ``{}`` (the default) means nothing to tune."""
        return {}

    def fit(self: Self, train: "PairedData", val: "PairedData", context: FitContext) -> Self:
        raise NotImplementedError

    def predict(self, b: np.ndarray) -> np.ndarray:
        raise NotImplementedError

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
        np.savez(path / "state.npz", **self.get_state())

    @classmethod
    def load(cls: type[Self], path: str | Path) -> Self:
        """Rebuild a fitted model from a directory written by ``save``."""
        path = Path(path)
        meta = json.loads((path / "translator.json").read_text())
        model = cls(**meta["params"])
        with np.load(path / "state.npz", allow_pickle=False) as state:
            model.set_state({k: state[k] for k in state.files})
        return model


def validate_params(cls: type[Translator], params: Mapping[str, Any]) -> dict[str, Any]:
    """Merge ``params`` over the class defaults, rejecting unknown names and wrong kinds of value."""
    defaults = dict(cls.default_params)
    for key, value in params.items():
        if key not in defaults:
            close = difflib.get_close_matches(key, list(defaults), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; known: {', '.join(sorted(defaults)) or 'none'}"
            raise PluginError(f"translator {cls.name!r} has no parameter {key!r}{hint}")
        default = defaults[key]
        if not _same_kind(default, value):
            raise PluginError(
                f"translator {cls.name!r}: parameter {key!r} must be {type(default).__name__} "
                f"like its default {default!r}, got {value!r}"
            )
        if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        defaults[key] = value
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
