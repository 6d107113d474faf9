"""OmiTrans (Zhang & Guo): conditional GAN translators, B -> A.

- ``omitrans_fc``: FC generator + FC discriminator (OT ``fcg`` + ``fcd``), objective (6):
  GAN loss + lambda * distance. Defaults are the paper's Table 2 (lr 1e-4, batch 128, dropout 0.2,
  latent 256, 800 epochs of which the last 100 decay linearly) with the code's unstated choices
  (lambda 100, L1 distance, vanilla GAN loss, Adam beta1 0.5).
- ``omitrans_cnn``: 1-D U-Net generator + CNN discriminator (OT ``unet_in`` + ``multi_conv_new``).
  ``checkpoint`` (null or "auto", true, false): activation checkpointing per level (plugins/_nets.py),
  on under null / "auto" exactly when the plain step's estimate does not fit the device's available memory
  (plugins/_memory.py); same predictions, about 5x less activation memory, one more forward per
  step. ``precision`` ("fp32", "bf16"): bf16 autocast of the training forwards, on a CUDA device
  only (a fit on CPU with bf16 is declined as not-applicable); predictions stay float32.
- ``cgan``: the FC networks with objective (4) only (lambda 0), the paper's cGAN baseline.
- All three: ``micro_batch`` (null: the whole batch) trains each batch as shards of at most that
  many rows with the batch's mean gradient, batch norm per shard as the code's DataParallel
  (plugins/_shards.py): less activation memory.

One discriminator step then one generator step per batch (as the OmiTrans code's
``optimize_parameters``). Dropout is the only noise
(pix2pix style) and is off at prediction time, so predictions are deterministic.
Deviation from the code, documented: ``zo_norm`` scales with the *training* min / max, not the
whole matrix (which included test samples).
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any, ClassVar

import torch
from omibench_plugins._memory import available_bytes, memory_reason, step_memory
from omibench_plugins._nets import (
    CNNDiscriminator,
    FCDiscriminator,
    FCGenerator,
    UNetGenerator,
    init_weights,
)
from omibench_plugins._shards import replay, rng_state, shards
from torch import nn

from omibench import (
    TORCH_CONSTRAINTS,
    FitContext,
    Interval,
    ListOf,
    NotApplicable,
    Options,
    PairedData,
    Resources,
    TorchTranslator,
    adam,
    batches,
    hookimpl,
    linear_decay_multiplier,
)

COMMON: Mapping[str, Any] = {
    "epochs": 800,  # total epochs (the paper's 800 = code's epoch_num 700 + epoch_num_decay 100)
    "epochs_decay": 100,  # last epochs with linearly decaying learning rate
    "batch_size": 128,
    "lr_g": 1e-4,
    "lr_d": 1e-4,
    "beta1": 0.5,
    "lambda_dist": 100.0,
    "dist_loss": "L1",  # L1 | MSE | BCE (BCE needs zo_norm)
    "gan_mode": "vanilla",  # vanilla (BCE with logits) | lsgan (MSE)
    "dropout": 0.2,
    "zo_norm": False,  # sigmoid output rescaled to the training min..max of A
    "init": "normal",
    "init_gain": 0.02,
    "output_bias": "zero",  # zero (the code's init) | train_mean: start the output at the training gene means
    "select": "final",  # final | best_val (lowest validation MSE)
    "val_every": 1,
    # rows per forward / backward within a batch (null: the whole batch). Smaller: less activation
    # memory, batch norm per micro-batch (as the original code's DataParallel on several GPUs); the
    # gradient is still the batch's mean
    "micro_batch": None,
}
POSITIVE = Interval(float, 0.0, None, closed="neither")
COMMON_CONSTRAINTS = {
    **TORCH_CONSTRAINTS,
    "epochs_decay": [Interval(int, 0, None)],
    "lr_g": [POSITIVE],
    "lr_d": [POSITIVE],
    "beta1": [Interval(float, 0.0, 1.0, closed="left")],
    "lambda_dist": [Interval(float, 0.0, None)],
    "dist_loss": [Options("L1", "MSE", "BCE")],
    "gan_mode": [Options("vanilla", "lsgan")],
    "dropout": [Interval(float, 0.0, 1.0, closed="left")],
    "zo_norm": [Options(True, False)],
    "init": [Options("normal", "xavier", "kaiming", "orthogonal")],
    "init_gain": [POSITIVE],
    "output_bias": [Options("zero", "train_mean")],
    "micro_batch": [None, Interval(int, 2, None)],
}
WIDTHS = ListOf(Interval(int, 1, None), min_len=1)
FC_SIZES: Mapping[str, Any] = {
    "hidden": [4096, 1024, 512],
    "latent": 256,
    "norm": "instance",
    "disc_hidden": [128, 64, 32],
    "disc_logits": 16,
}
SMALL_CHECK = {"epochs": 3, "epochs_decay": 1, "batch_size": 16}


class _ConditionalGAN(TorchTranslator):
    resources = Resources(gpus=1)
    param_constraints = COMMON_CONSTRAINTS

    @classmethod
    def param_conflict(cls, params: Mapping[str, Any]) -> str | None:
        if params["epochs_decay"] > params["epochs"]:
            return f"epochs_decay ({params['epochs_decay']}) must not exceed epochs ({params['epochs']})"
        if params["dist_loss"] == "BCE" and not params["zo_norm"]:
            return "dist_loss BCE needs zo_norm: true (probabilities), as in the original code"
        return None

    @classmethod
    def search_space(cls, trial: Any) -> dict[str, Any]:
        lr = trial.suggest_float("lr", 1e-5, 1e-3, log=True)
        # epochs are tunable because a time budget (``omibench tune --timeout``) is the budget users
        # have; the decay keeps the paper's share (the last 100 of 800 epochs)
        epochs = trial.suggest_int("epochs", 20, 800, log=True)
        space = {
            "lr_g": lr,
            "lr_d": lr,
            "dropout": trial.suggest_float("dropout", 0.0, 0.5),
            "epochs": epochs,
            "epochs_decay": max(1, epochs // 8),
        }
        if cls.default_params["lambda_dist"]:
            space["lambda_dist"] = trial.suggest_float("lambda_dist", 1.0, 1000.0, log=True)
        return space

    def make_networks(self, n_in: int, n_out: int) -> tuple[nn.Module, nn.Module]:
        raise NotImplementedError

    def fit_scaling(self, train: PairedData) -> None:
        self.a_min_, self.a_max_ = float(train.a.min()), float(train.a.max())
        self.a_mean_ = train.a.mean(axis=0)

    def extra_state(self) -> dict[str, Any]:
        return {"a_min": self.a_min_, "a_max": self.a_max_}

    def load_extra_state(self, state: Mapping[str, Any]) -> None:
        self.a_min_, self.a_max_ = state["a_min"], state["a_max"]
        self.a_mean_ = None  # the loaded weights already hold the output bias

    def build(self, n_in: int, n_out: int) -> None:
        p = self.params
        gen, self.disc = self.make_networks(n_in, n_out)
        self.net = _ZeroOneOutput(gen, self.a_min_, self.a_max_) if p["zo_norm"] else gen
        for module in (gen, self.disc):
            init_weights(module, p["init"], p["init_gain"])
        if p["output_bias"] == "train_mean" and self.a_mean_ is not None and not p["zo_norm"]:
            bias = last_linear(gen).bias
            assert bias is not None  # last_linear picks only layers with a bias
            if bias.shape != (n_out,):
                raise ValueError(f"{self.name}: output_bias train_mean needs a per-gene output layer (FC generator)")
            with torch.no_grad():
                bias.copy_(torch.from_numpy(self.a_mean_))
        self.opt_g = adam(self.net.parameters(), lr=p["lr_g"], betas=(p["beta1"], 0.999))
        self.opt_d = adam(self.disc.parameters(), lr=p["lr_d"], betas=(p["beta1"], 0.999))
        rule = linear_decay_multiplier(p["epochs"], p["epochs_decay"])
        self.schedulers = [torch.optim.lr_scheduler.LambdaLR(o, rule) for o in (self.opt_g, self.opt_d)]
        self.gan_loss = {"vanilla": nn.BCEWithLogitsLoss(), "lsgan": nn.MSELoss()}[p["gan_mode"]]
        self.dist_loss = {"L1": nn.L1Loss(), "MSE": nn.MSELoss(), "BCE": nn.BCELoss()}[p["dist_loss"]]

    def train_epoch(self, b: torch.Tensor, a: torch.Tensor, epoch: int, generator: torch.Generator) -> dict[str, float]:
        self.disc.to(b.device).train()
        totals = torch.zeros(3, device=b.device)
        n_batches = 0
        for idx in batches(len(b), self.params["batch_size"], generator, b.device):
            totals += self._step(b, a, idx)
            n_batches += 1
        loss_d, loss_gan, loss_dist = (totals / max(n_batches, 1)).tolist()  # one host sync per epoch
        return {
            "loss_d": loss_d,
            "loss_g_gan": loss_gan,
            "loss_g_dist": loss_dist,
            "lr_g": self.opt_g.param_groups[0]["lr"],
        }

    def _step(self, b: torch.Tensor, a: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        """One discriminator step then one generator step on the rows ``idx``, as shards of at most
        ``micro_batch`` rows (plugins/_shards.py); returns the batch's (loss_d, loss_g_gan, loss_g_dist)."""
        lam, device = self.params["lambda_dist"], b.device
        parts = shards(idx, self.params.get("micro_batch"))
        whole = len(parts) == 1

        def share(loss: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
            return loss if whole else loss * (len(rows) / len(idx))

        fakes, states = [], []
        for rows in parts:
            states.append(None if whole else rng_state(device))
            with torch.set_grad_enabled(whole), self.autocast(device):
                fakes.append(self.net(b[rows]))
        # discriminator: 1/2 [L(D(G(B), B), fake) + L(D(A, B), real)]. Each half is backpropagated as
        # soon as it is computed, so only one discriminator graph is alive at a time (the two passes
        # share no activations; batch norm sees each batch alone either way). The weight gradients
        # are the same two terms summed, in the same forward order (dropout draws).
        self.disc.requires_grad_(True)
        self.opt_d.zero_grad(set_to_none=True)
        loss_d = torch.zeros((), device=device)
        for rows, fake in zip(parts, fakes):
            with self.autocast(device):
                pred_fake = self.disc(fake.detach(), b[rows])
                loss_fake = share(0.5 * self.gan_loss(pred_fake, torch.zeros_like(pred_fake)), rows)
            loss_fake.backward()
            with self.autocast(device):
                pred_real = self.disc(a[rows], b[rows])
                loss_real = share(0.5 * self.gan_loss(pred_real, torch.ones_like(pred_real)), rows)
            loss_real.backward()
            loss_d += loss_fake.detach() + loss_real.detach()
        self.opt_d.step()
        # generator: L(D(G(B), B), real) + lambda * dist(G(B), A)
        self.disc.requires_grad_(False)
        self.opt_g.zero_grad(set_to_none=True)
        loss_gan_sum, loss_dist_sum = torch.zeros((), device=device), torch.zeros((), device=device)
        for rows, fake, state in zip(parts, fakes, states):
            if state is not None:  # a shard: its generator forward again, with a graph
                fake = replay(self.net, b[rows], state, self.autocast(device))
            with self.autocast(device):
                pred = self.disc(fake, b[rows])
                loss_gan = share(self.gan_loss(pred, torch.ones_like(pred)), rows)
                loss_dist = share(self._distance(fake.float(), a[rows]), rows)
            (loss_gan + lam * loss_dist if lam else loss_gan).backward()
            loss_gan_sum += loss_gan.detach()
            loss_dist_sum += loss_dist.detach()
        self.opt_g.step()
        return torch.stack([loss_d, loss_gan_sum, loss_dist_sum])

    def autocast(self, device: torch.device) -> contextlib.AbstractContextManager[Any]:
        """bf16 autocast of a training forward with ``precision: bf16`` on a CUDA device, else nothing."""
        if self.params.get("precision", "fp32") == "bf16" and device.type == "cuda":
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def _distance(self, fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        if self.params["dist_loss"] == "BCE":
            span = self.a_max_ - self.a_min_ or 1.0
            return self.dist_loss(((fake - self.a_min_) / span).clamp(0, 1), ((real - self.a_min_) / span).clamp(0, 1))
        return self.dist_loss(fake, real)

    def end_epoch(self, epoch: int) -> None:
        for s in self.schedulers:
            s.step()


def last_linear(module: nn.Module) -> nn.Linear | nn.Conv1d:
    """The module that produces the generator's output (its last Linear or 1x1 conv)."""
    last = [m for m in module.modules() if isinstance(m, (nn.Linear, nn.Conv1d)) and m.bias is not None]
    return last[-1]


class _ZeroOneOutput(nn.Module):
    """OT ``zo_norm``: sigmoid output rescaled to [a_min, a_max] (training rows' extremes)."""

    def __init__(self, gen: nn.Module, a_min: float, a_max: float) -> None:
        super().__init__()
        self.gen, self.a_min, self.span = gen, a_min, a_max - a_min

    def forward(self, b: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.gen(b)) * self.span + self.a_min


class OmiTransFC(_ConditionalGAN):
    """OmiTrans with fully connected generator and discriminator (the paper's best model)."""

    name = "omitrans_fc"
    default_params: ClassVar[Mapping[str, Any]] = {**COMMON, **FC_SIZES}
    param_constraints = {
        **COMMON_CONSTRAINTS,
        "hidden": [WIDTHS],
        "latent": [Interval(int, 1, None)],
        "norm": [Options("instance", "batch", "layer", "none")],
        "disc_hidden": [WIDTHS],
        "disc_logits": [Interval(int, 1, None)],
    }
    check_params: ClassVar[Mapping[str, Any]] = {**SMALL_CHECK, "hidden": [32, 16], "latent": 8, "disc_hidden": [16]}

    @classmethod
    def search_space(cls, trial: Any) -> dict[str, Any]:
        return {
            **super().search_space(trial),
            "latent": trial.suggest_categorical("latent", [64, 128, 256, 512]),
            "output_bias": trial.suggest_categorical("output_bias", ["zero", "train_mean"]),
        }

    def make_networks(self, n_in: int, n_out: int) -> tuple[nn.Module, nn.Module]:
        p = self.params
        gen = FCGenerator(n_in, n_out, p["hidden"], p["latent"], p["norm"], p["dropout"])
        disc = FCDiscriminator(n_out, n_in, p["disc_hidden"], p["disc_logits"], p["norm"])
        return gen, disc


class ConditionalGAN(OmiTransFC):
    """The paper's cGAN baseline: OmiTrans-FC's networks and settings with no distance term."""

    name = "cgan"
    default_params: ClassVar[Mapping[str, Any]] = {**OmiTransFC.default_params, "lambda_dist": 0.0}


class OmiTransCNN(_ConditionalGAN):
    """OmiTrans with a 1-D U-Net generator and a CNN discriminator (OT ``unet_in`` + ``multi_conv_new``)."""

    name = "omitrans_cnn"
    default_params: ClassVar[Mapping[str, Any]] = {
        **COMMON,
        "filters": 64,
        "disc_filters": 64,
        "kernel": 9,
        # activation checkpointing: null or "auto" (on when the plain step does not fit the device), true,
        # false. The default is null, not "auto": a parameter's values must be of its default's kind
        # (validate_params), and null is the one default that admits both a string and a bool.
        "checkpoint": None,
        "precision": "fp32",  # fp32 | bf16 (autocast; CUDA only)
    }
    param_constraints = {
        **COMMON_CONSTRAINTS,
        "filters": [Interval(int, 1, None)],
        "disc_filters": [Interval(int, 1, None)],
        "kernel": [Interval(int, 1, None)],
        "checkpoint": [None, Options("auto", True, False)],
        "precision": [Options("fp32", "bf16")],
    }
    check_params: ClassVar[Mapping[str, Any]] = {**SMALL_CHECK, "filters": 4, "disc_filters": 4}
    MIN_FEATURES = 16  # the U-Net's four poolings by 2

    @classmethod
    def param_conflict(cls, params: Mapping[str, Any]) -> str | None:
        if params["kernel"] % 2 == 0:
            return f"kernel ({params['kernel']}) must be odd: 'same' padding keeps the lengths the U-Net's skips need"
        if params["output_bias"] == "train_mean" and not params["zo_norm"]:
            return "output_bias train_mean needs a per-gene output layer, which the U-Net has not: use zero"
        return super().param_conflict(params)

    @classmethod
    def skip_reason(cls, params: Mapping[str, Any], train: PairedData, val: PairedData) -> str | None:
        if train.b.shape[1] < cls.MIN_FEATURES:
            return (
                f"omitrans_cnn's U-Net pools its input four times by 2 and needs at least {cls.MIN_FEATURES} "
                f"input features; the data has {train.b.shape[1]}"
            )
        return super().skip_reason(params, train, val)

    def fit(self, train: PairedData, val: PairedData, context: FitContext) -> OmiTransCNN:
        # Decided here, in the process and on the device that would train, not in ``skip_reason``:
        # the memory is the worker's machine's, and one translator that does not fit must not refuse
        # the whole experiment. The run is tagged not-applicable with this reason.
        device = str(context.device)
        if self.params["precision"] == "bf16" and not device.startswith("cuda"):
            raise NotApplicable(
                f"omitrans_cnn with precision bf16 trains under CUDA autocast and this fit runs on {device}: "
                "use precision: fp32 here"
            )
        self.checkpoint_, reason = self.plan_memory(train.n_samples, train.b.shape[1], train.a.shape[1], device)
        if reason:
            raise NotApplicable(reason)
        super().fit(train, val, context)
        return self

    def memory_reason(self, n_train: int, n_in: int, n_out: int, device: str) -> str | None:
        """Why one training step at ``batch_size`` cannot fit the memory ``device`` has available (an
        estimate from the shapes, plugins/_memory.py, checkpointed as ``checkpoint`` says), or None."""
        return self.plan_memory(n_train, n_in, n_out, device)[1]

    def plan_memory(self, n_train: int, n_in: int, n_out: int, device: str) -> tuple[bool, str | None]:
        """Whether to checkpoint, and why even that step does not fit (None when it does): under
        ``checkpoint: null`` or ``auto``, on exactly when the plain step's estimate exceeds the available memory."""
        mode, batch, available = self.params["checkpoint"], self.params["batch_size"], available_bytes(device)
        micro = self.params.get("micro_batch")

        def estimate(checkpoint: bool) -> Any:
            return step_memory(lambda: self.make_networks(n_in, n_out), n_train, n_in, n_out, checkpoint)

        if mode is not True:
            plain = estimate(False)
            reason = memory_reason(self.name, plain, batch, device, available, micro_batch=micro)
            if reason is None or mode is False:
                if reason is not None:
                    rows = min(batch, micro or batch)
                    reason += f"; with checkpoint: true about {estimate(True).total(rows) / 1024**3:.1f} GiB"
                return False, reason
        return True, memory_reason(self.name, estimate(True), batch, device, available, True, micro)

    def make_networks(self, n_in: int, n_out: int) -> tuple[nn.Module, nn.Module]:
        p = self.params
        gen = UNetGenerator(n_in, n_out, p["filters"], p["kernel"], p["dropout"])
        disc = CNNDiscriminator(n_out, n_in, p["disc_filters"], p["kernel"], p["dropout"])
        # set by ``fit`` (plan_memory); a loaded model only predicts, which never checkpoints
        gen.checkpointing = disc.checkpointing = getattr(self, "checkpoint_", False)
        return gen, disc


@hookimpl
def omibench_register_translators(register) -> None:
    for cls in (OmiTransFC, OmiTransCNN, ConditionalGAN):
        register(cls)
