"""The public base class of torch translators: device data, index batching, schedules, selection.

Write a neural translator by subclassing :class:`TorchTranslator` (``omibench.TorchTranslator``)
and implementing ``build`` and ``train_epoch``; seeding, the epoch loop, validation, ``best_val``
selection, prediction and safe saving (weights loadable with ``weights_only=True``) come with it.

Data contract: the whole training (and validation) matrices are moved to the device once as
float32 tensors; batches are index slices of a seeded permutation, so there is no per-sample
Python work and no per-batch host-device copy.
"""

from __future__ import annotations

import copy
import io
import json
import math
import pickle
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from omibench.contract.constraints import Interval, Options
from omibench.contract.translator import Chosen, FitContext, ParamConstraints, Translator, read_model_meta
from omibench.data.paired import PairedData
from omibench.errors import PluginError, one_line

__all__ = [
    "TorchTranslator",
    "DivergenceError",
    "TORCH_CONSTRAINTS",
    "adam",
    "batches",
    "linear_decay_multiplier",
    "as_tensor",
]

#: Constraints of the parameters every ``TorchTranslator`` has; merge them into your own.
TORCH_CONSTRAINTS: ParamConstraints = {
    "epochs": [Interval(int, 1, None)],
    # a last batch of one sample is dropped (batch norm), so a batch size of 1 would train nothing
    "batch_size": [Interval(int, 2, None)],
    "select": [Options("final", "best_val")],
    "val_every": [Interval(int, 1, None)],
}


class DivergenceError(FloatingPointError):
    """A training loss became NaN or infinite: the run fails instead of scoring garbage."""


def as_tensor(x: np.ndarray, device: torch.device | str) -> torch.Tensor:
    """``x`` (samples x features) as a float32 tensor on ``device``, sharing memory on CPU when it can.

    Prepared data read from the data cache are read-only memory maps; torch warns that it cannot
    protect such an array from writes, and the warning is silenced here: the tensor may share that
    read-only memory, so never modify it in place (``x.clamp(0, 1)``, not ``x.clamp_(0, 1)``; an
    in-place write would crash the job).
    """
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).to(device)


def linear_decay_multiplier(epochs: int, epochs_decay: int) -> Callable[[int], float]:
    """OmiTrans's 'linear' policy (pix2pix's ``lambda_rule`` in the OmiTrans code): constant for
    ``epochs - epochs_decay`` epochs, then
    multiplier 1 - (k + 1 - n_const) / (epochs_decay + 1) after scheduler step k. With 800 / 100
    that is 1e-4 for epochs 1-700, 1e-4*100/101 at 701 and 1e-4/101 at 800 (never exactly 0)."""
    n_const = epochs - epochs_decay

    def multiplier(k: int) -> float:
        return 1.0 - max(0, k + 1 - n_const) / float(epochs_decay + 1)

    return multiplier


def adam(params: Iterable[torch.nn.Parameter], **options: Any) -> torch.optim.Adam:
    """Adam with the fused kernel (one pass over weights, gradients and both moments): 8x faster
    than the per-tensor loop on CPU for the paper's 419 M-parameter generator (0.26 s vs 2.0 s per
    step, benchmarks/run.py). Same update rule; only float rounding can differ."""
    return torch.optim.Adam(params, fused=True, **options)


def batches(n: int, batch_size: int, generator: torch.Generator, device: torch.device) -> Iterator[torch.Tensor]:
    """Shuffled index batches; a last batch of one sample is dropped (batch norm cannot use it)."""
    perm = torch.randperm(n, generator=generator).to(device)
    for start in range(0, n, batch_size):
        idx = perm[start : start + batch_size]
        if len(idx) >= 2 or n == 1:
            yield idx


def validation_scores(pred: torch.Tensor, true: torch.Tensor) -> tuple[float, float]:
    """Validation MSE and median featurewise R² (scikit-learn's rule for constant genes), computed
    on the device with one host sync: the per-epoch values used for selection and pruning."""
    err = ((pred - true) ** 2).sum(dim=0)
    tot = ((true - true.mean(dim=0)) ** 2).sum(dim=0)
    r2 = torch.where(tot > 0, 1 - err / tot.clamp_min(1e-30), (err == 0).to(err.dtype))
    mse, med = torch.stack([err.sum() / true.numel(), torch.quantile(r2, 0.5)]).tolist()  # numpy's median
    return mse, med


def check_finite(losses: Mapping[str, float], epoch: int) -> None:
    bad = {k: v for k, v in losses.items() if not math.isfinite(v)}
    if bad:
        raise DivergenceError(f"training diverged at epoch {epoch}: {', '.join(f'{k}={v}' for k, v in bad.items())}")


class TorchTranslator(Translator):
    """Base of the torch translators: seeding, device tensors, epoch-wise validation and selection.

    Subclasses build ``self.net`` (the module whose output is the translation) in ``build`` and
    run one epoch in ``train_epoch``; this class handles the rest. Parameters every subclass must
    declare in ``default_params`` (and may constrain with :data:`TORCH_CONSTRAINTS`): ``epochs``,
    ``batch_size``, ``select`` ("final": the last epoch, as the paper; "best_val": the epoch with
    the lowest validation MSE) and ``val_every`` (epochs between validation passes).

    A minimal subclass::

        class MLP(TorchTranslator):
            name = "mlp"
            default_params = {"epochs": 50, "batch_size": 32, "select": "final", "val_every": 1, "lr": 1e-3}
            param_constraints = {**TORCH_CONSTRAINTS, "lr": [Interval(float, 0, None, closed="neither")]}

            def build(self, n_in, n_out):
                self.net = torch.nn.Sequential(torch.nn.Linear(n_in, 256), torch.nn.ReLU(), torch.nn.Linear(256, n_out))
                self.opt = adam(self.net.parameters(), lr=self.params["lr"])

            def train_epoch(self, b, a, epoch, generator):
                for idx in batches(len(b), self.params["batch_size"], generator, b.device):
                    self.opt.zero_grad(set_to_none=True)
                    loss = torch.nn.functional.mse_loss(self.net(b[idx]), a[idx])
                    loss.backward()
                    self.opt.step()
                return {"loss": float(loss)}

    Data contract: as :class:`~omibench.Translator`; ``b`` and ``a`` in ``train_epoch`` are the
    whole training matrices as float32 tensors on ``context.device`` (``a`` on the model scale,
    see ``to_model_scale``). ``fit`` reports ``val_mse`` and ``val_median_r2_featurewise`` per
    validation pass; with ``select: best_val`` the kept epoch is ``chosen()["best_epoch"]``.
    """

    param_constraints = TORCH_CONSTRAINTS
    net: torch.nn.Module  # built by ``build``: the module whose output is the translation

    @classmethod
    def skip_reason(cls, params: Mapping[str, Any], train: PairedData, val: PairedData) -> str | None:
        if train.n_samples < 2:
            return f"{cls.name} trains on batches of at least 2 samples; the training split has {train.n_samples}"
        if params.get("select") == "best_val" and val.n_samples < 2:
            return (
                f"{cls.name} with select: best_val picks its epoch on the validation split, which has "
                f"{val.n_samples} sample(s): set split.val_fraction so that it has 2+, or select: final"
            )
        return None

    def chosen(self) -> Chosen:
        if self.params.get("select") == "best_val" and getattr(self, "best_epoch_", -1) > 0:
            return {"best_epoch": int(self.best_epoch_)}
        return {}

    def build(self, n_in: int, n_out: int) -> None:
        """Create ``self.net`` (and any other modules / optimisers) for these sizes."""
        raise NotImplementedError

    def prepare(self, train: PairedData) -> None:
        """Before the first epoch: learn scaling statistics, then build the networks."""
        self.fit_scaling(train)
        self.build(train.b.shape[1], train.a.shape[1])

    def fit_scaling(self, train: PairedData) -> None:
        """Learn target-scaling statistics from the training rows (saved via ``extra_state``)."""

    def train_epoch(self, b: torch.Tensor, a: torch.Tensor, epoch: int, generator: torch.Generator) -> dict[str, float]:
        """One pass over the training tensors (already on the device); returns mean losses."""
        raise NotImplementedError

    def end_epoch(self, epoch: int) -> None:
        """Hook after each epoch (learning-rate schedulers)."""

    # --- scaling of the target: identity unless a subclass trains on another scale ----------
    def to_model_scale(self, a: torch.Tensor) -> torch.Tensor:
        return a

    def from_model_scale(self, a: torch.Tensor) -> torch.Tensor:
        return a

    def fit(self, train: PairedData, val: PairedData, context: FitContext) -> TorchTranslator:
        torch.manual_seed(context.seed)
        generator = torch.Generator().manual_seed(context.seed)
        self.device_ = torch.device(context.device)
        self.n_in_, self.n_out_ = train.b.shape[1], train.a.shape[1]
        self.prepare(train)
        self.net.to(self.device_)
        b = as_tensor(train.b, self.device_)
        a = self.to_model_scale(as_tensor(train.a, self.device_))
        has_val = val.n_samples >= 2
        vb = as_tensor(val.b, self.device_) if has_val else None
        va = as_tensor(val.a, self.device_) if has_val else None

        select = self.params["select"]
        best: tuple[float, int, dict[str, Any] | None] = (math.inf, -1, None)
        epochs = self.params["epochs"]
        for epoch in context.progress(range(1, epochs + 1), total=epochs, desc=self.name):
            self.net.train()
            losses = self.train_epoch(b, a, epoch, generator)
            check_finite(losses, epoch)
            self.end_epoch(epoch)
            values = dict(losses)
            if vb is not None and va is not None and (epoch % self.params["val_every"] == 0 or epoch == epochs):
                val_mse, val_r2 = validation_scores(self._predict_tensor(vb), va)
                values.update(val_mse=val_mse, val_median_r2_featurewise=val_r2)
                if select == "best_val" and val_mse < best[0]:
                    best = (val_mse, epoch, copy.deepcopy(self.net.state_dict()))
            context.report(epoch, **values)
        if select == "best_val" and best[2] is not None:
            self.net.load_state_dict(best[2])
        self.best_epoch_ = best[1] if select == "best_val" else epochs
        self.net.eval()
        return self

    @torch.no_grad()
    def _predict_tensor(self, b: torch.Tensor, batch_size: int = 512) -> torch.Tensor:
        self.net.eval()
        out = [self.from_model_scale(self.net(b[i : i + batch_size])) for i in range(0, len(b), batch_size)]
        return torch.cat(out)

    def predict(self, b: np.ndarray) -> np.ndarray:
        device = getattr(self, "device_", torch.device("cpu"))
        x = as_tensor(b, device)
        return self._predict_tensor(x).cpu().numpy().astype(np.float32)

    # --- persistence: weights as a plain state dict, loadable with weights_only=True ----------
    def extra_state(self) -> dict[str, Any]:
        """JSON-able values beyond the weights that ``build`` / scaling need after loading."""
        return {}

    def load_extra_state(self, state: Mapping[str, Any]) -> None:
        pass

    def save(self, path: str | Path) -> None:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        meta = {
            "translator": self.name,
            "params": self.params,
            "n_in": self.n_in_,
            "n_out": self.n_out_,
            "best_epoch": self.best_epoch_,
            "extra": self.extra_state(),
        }
        (path / "translator.json").write_text(json.dumps(meta, indent=2, default=str))
        state = {k: v.detach().cpu() for k, v in self.net.state_dict().items()}
        torch.save(state, path / "weights.pt")

    @classmethod
    def load(cls, path: str | Path) -> TorchTranslator:
        path = Path(path)
        meta = read_model_meta(path, cls)
        missing = [k for k in ("n_in", "n_out", "best_epoch", "extra") if k not in meta]
        if missing:
            raise PluginError(f"{path / 'translator.json'}: lacks {', '.join(missing)}: save the model again")
        model = cls(**meta["params"])
        model.n_in_, model.n_out_, model.best_epoch_ = meta["n_in"], meta["n_out"], meta["best_epoch"]
        model.load_extra_state(meta["extra"])
        model.build(model.n_in_, model.n_out_)
        weights = path / "weights.pt"
        try:
            state = torch.load(io.BytesIO(weights.read_bytes()), weights_only=True, map_location="cpu")
            model.net.load_state_dict(state)
        except (OSError, RuntimeError, pickle.UnpicklingError, KeyError, ValueError) as exc:
            first = one_line(exc, with_type=False)
            raise PluginError(
                f"{weights}: cannot be loaded as {cls.name!r} weights ({first}): save the model again"
            ) from None
        model.net.eval()
        model.device_ = torch.device("cpu")
        return model
