"""TDimpute (Zhou et al. 2020) as compared in OmiTrans: one hidden layer of sigmoid units.

B -> Linear(4000) -> sigmoid -> Linear(n_genes) -> sigmoid, trained with an RMSE loss and Adam
(lr 1e-4, default betas) on targets scaled to [0, 1]; predictions are scaled back before scoring.
Scaling: the original divides log-scale expression by the training maximum (+0.001); we use
(a - lo) / (max + 0.001 - lo) with lo = min(0, training minimum), which is exactly that for
non-negative data such as log2(FPKM+1) and still maps negative data (log ratios) into [0, 1].

Transfer (``transfer: true``): pre-train on the experiment's ``source_data`` (e.g. other cancer
types; batch 128, 300 epochs), then fine-tune the same weights and optimiser state on the target
training rows (batch 16, 150 epochs). Without transfer: batch 16, 100 epochs (TDimpute_self).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import torch
from torch import nn

from omibench import (
    TORCH_CONSTRAINTS,
    FitContext,
    Interval,
    Options,
    PairedData,
    PluginError,
    Resources,
    TorchTranslator,
    adam,
    as_tensor,
    batches,
    hookimpl,
)


class TDimpute(TorchTranslator):
    """TDimpute (Zhou et al. 2020): one sigmoid hidden layer from methylation to [0, 1]-scaled expression."""

    name = "tdimpute"
    resources = Resources(gpus=1)
    default_params: ClassVar[Mapping[str, Any]] = {
        "hidden": 4000,
        "lr": 1e-4,
        "dropout": 0.0,
        "epochs": 100,  # fine-tuning epochs with transfer (the original: 150), training epochs without
        "batch_size": 16,
        "transfer": False,
        "pretrain_epochs": 300,
        "pretrain_batch_size": 128,
        "select": "final",
        "val_every": 1,
    }
    param_constraints = {
        **TORCH_CONSTRAINTS,
        "hidden": [Interval(int, 1, None)],
        "lr": [Interval(float, 0.0, None, closed="neither")],
        "dropout": [Interval(float, 0.0, 1.0, closed="left")],
        "transfer": [Options(True, False)],
        "pretrain_epochs": [Interval(int, 0, None)],
        "pretrain_batch_size": [Interval(int, 2, None)],
    }
    check_params: ClassVar[Mapping[str, Any]] = {"hidden": 16, "epochs": 3, "pretrain_epochs": 2}

    @classmethod
    def search_space(cls, trial: Any) -> dict[str, Any]:
        return {
            "lr": trial.suggest_float("lr", 1e-5, 1e-2, log=True),
            "hidden": trial.suggest_categorical("hidden", [500, 1000, 2000, 4000]),
        }

    def fit_scaling(self, train: PairedData) -> None:
        self.lo_ = min(0.0, float(train.a.min()))
        self.hi_ = float(train.a.max()) + 0.001

    def extra_state(self) -> dict[str, Any]:
        return {"lo": self.lo_, "hi": self.hi_}

    def load_extra_state(self, state: Mapping[str, Any]) -> None:
        self.lo_, self.hi_ = state["lo"], state["hi"]

    def to_model_scale(self, a: torch.Tensor) -> torch.Tensor:
        return (a - self.lo_) / (self.hi_ - self.lo_)

    def from_model_scale(self, a: torch.Tensor) -> torch.Tensor:
        return a * (self.hi_ - self.lo_) + self.lo_

    def build(self, n_in: int, n_out: int) -> None:
        p = self.params
        layers: list[nn.Module] = [nn.Linear(n_in, p["hidden"]), nn.Sigmoid()]
        if p["dropout"] > 0:
            layers.append(nn.Dropout(p["dropout"]))
        layers += [nn.Linear(p["hidden"], n_out), nn.Sigmoid()]
        self.net = nn.Sequential(*layers)
        for m in self.net:
            if isinstance(m, nn.Linear):  # TensorFlow's default: glorot uniform, zero bias
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)
        self.opt = adam(self.net.parameters(), lr=p["lr"])
        self._batch_size = p["batch_size"]

    def fit(self, train: PairedData, val: PairedData, context: FitContext) -> TDimpute:
        if self.params["transfer"]:
            source = context.source
            if source is None:
                raise PluginError("tdimpute with transfer: true needs the experiment's source_data block")
            self._pretrain(source, train, context)
        return super().fit(train, val, context)  # type: ignore[return-value]

    def _pretrain(self, source: PairedData, train: PairedData, context: FitContext) -> None:
        """Build the net and train it on the source cohort; ``fit`` then fine-tunes it."""
        torch.manual_seed(context.seed)
        generator = torch.Generator().manual_seed(context.seed + 1)
        self.fit_scaling(train)
        self.build(train.b.shape[1], train.a.shape[1])
        device = torch.device(context.device)
        self.net.to(device)
        b = as_tensor(source.b, device)
        a = self.to_model_scale(as_tensor(source.a, device)).clamp(0, 1)
        self._batch_size = self.params["pretrain_batch_size"]
        for epoch in range(1, self.params["pretrain_epochs"] + 1):
            losses = self.train_epoch(b, a, epoch, generator)
            context.report(epoch, pretrain_loss=losses["loss_rmse"])
        self._batch_size = self.params["batch_size"]
        self._pretrained = True

    def prepare(self, train: PairedData) -> None:
        if not getattr(self, "_pretrained", False):  # after pre-training, fine-tune the same net
            super().prepare(train)

    def train_epoch(self, b: torch.Tensor, a: torch.Tensor, epoch: int, generator: torch.Generator) -> dict[str, float]:
        self.net.train()
        total = torch.zeros((), device=b.device)
        n = 0
        for idx in batches(len(b), self._batch_size, generator, b.device):
            self.opt.zero_grad(set_to_none=True)
            loss = torch.sqrt(((self.net(b[idx]) - a[idx]) ** 2).mean())
            loss.backward()
            self.opt.step()
            total += loss.detach()
            n += 1
        return {"loss_rmse": float(total) / max(n, 1)}

    def refit_params(self) -> dict[str, Any]:
        """Pins the epoch count: the epoch kept on validation with ``select: best_val``, then trained
        to that epoch and kept (``select: final``); with ``select: final``, the same epochs."""
        if self.params.get("select") == "best_val" and getattr(self, "best_epoch_", -1) > 0:
            return {"epochs": int(self.best_epoch_), "select": "final"}
        return {"select": "final"}


@hookimpl
def omibench_register_translators(register) -> None:
    register(TDimpute)
