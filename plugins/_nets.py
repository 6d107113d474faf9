"""OmiTrans networks (Zhang & Guo; the OmiTrans code's ``networks.py``), every size computed from the data.

- ``FCGenerator`` (OT ``fcg``): B -> hidden... -> latent -> ...hidden reversed -> A, linear output.
- ``FCDiscriminator`` (OT ``fcd``): concat(A, B) -> disc_hidden... -> Linear(disc_out) logits.
- ``UNetGenerator`` (OT ``unet_in``) and ``CNNDiscriminator`` (OT ``multi_conv_new``): 1-D convs.
FC blocks are Linear -> norm -> Dropout -> LeakyReLU(0.2). ``norm="instance"`` reproduces the
original code's quirk: its "batch" norm became a per-sample InstanceNorm over the features, i.e.
LayerNorm without affine parameters, identical in train and eval mode.

The two convolutional nets can train with activation checkpointing (``net.checkpointing = True``):
each level is a segment (the U-Net's input block, four down and four up levels; the discriminator's
two branches and three stages; its 1-channel head), whose internals backward recomputes one segment
at a time, so only the segments' inputs stay saved through backward (:func:`checkpointed`). The two
largest levels, the U-Net's last up level and the discriminator's first stage, run as two segments
each (head: pooling or upsampling, dropout and the first conv -> norm -> LeakyReLU; tail: the
second): of the splits tried, the one with the lowest peak estimate (plugins/_memory.py) at the
paper's sizes (33.8 GiB of activations at batch 128, against 38.6 with one segment per level and
185.3 without checkpointing). Same numbers as without checkpointing.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterable, Iterator, Sequence

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

__all__ = [
    "FCGenerator",
    "FCDiscriminator",
    "UNetGenerator",
    "CNNDiscriminator",
    "SegmentedNet",
    "init_weights",
    "checkpointed",
    "frozen_running_stats",
]

SLOPE = 0.2


def _norm(kind: str, dim: int) -> nn.Module:
    if kind == "instance":
        return nn.LayerNorm(dim, elementwise_affine=False)
    if kind == "batch":
        return nn.BatchNorm1d(dim)
    if kind == "layer":
        return nn.LayerNorm(dim)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"norm must be instance, batch, layer or none, got {kind!r}")


def fc_block(n_in: int, n_out: int, norm: str, dropout: float, activation: bool = True) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Linear(n_in, n_out), _norm(norm, n_out)]
    if 0 < dropout <= 1:
        layers.append(nn.Dropout(dropout))
    if activation:
        layers.append(nn.LeakyReLU(SLOPE))
    return nn.Sequential(*layers)


class FCGenerator(nn.Module):
    """[N, n_in] -> [N, n_out]. Paper sizes: 39,464 -> 4096 -> 1024 -> 512 -> 256 -> ... -> 60,483."""

    def __init__(self, n_in: int, n_out: int, hidden: Sequence[int], latent: int, norm: str, dropout: float) -> None:
        super().__init__()
        widths = [n_in, *hidden, latent, *reversed(hidden)]
        self.body = nn.Sequential(*(fc_block(a, b, norm, dropout) for a, b in zip(widths[:-1], widths[1:])))
        self.out = nn.Linear(widths[-1], n_out)

    def forward(self, b: torch.Tensor) -> torch.Tensor:
        return self.out(self.body(b))


class FCDiscriminator(nn.Module):
    """(A, B) -> [N, disc_out] logits; conditioned on B by concatenation (A first, as OT)."""

    def __init__(self, n_a: int, n_b: int, hidden: Sequence[int], n_logits: int, norm: str) -> None:
        super().__init__()
        widths = [n_a + n_b, *hidden]
        self.body = nn.Sequential(*(fc_block(a, b, norm, 0.0) for a, b in zip(widths[:-1], widths[1:])))
        self.out = nn.Linear(widths[-1], n_logits)

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return self.out(self.body(torch.cat([a, b], dim=1)))


# --- activation checkpointing --------------------------------------------------------------------
def checkpointed(fn: Callable[..., torch.Tensor], norms: Sequence[nn.BatchNorm1d], *xs: torch.Tensor) -> torch.Tensor:
    """``fn(*xs)`` as one checkpointed segment: autograd keeps only the inputs; backward reruns
    the segment to get its internals back (``torch.utils.checkpoint``, non-reentrant).

    The rerun replays the forward exactly: the RNG state is restored (``preserve_rng_state``, so
    dropout draws the same masks) and batch norm uses the same batch statistics. Batch norm's
    running statistics (of ``norms``, the net's) are updated by the forward only, so evaluation-mode
    predictions equal the uncheckpointed ones: during the rerun the momentum is 0 (the running
    values are kept as they are: 1 x running + 0 x batch) and the batch counter is put back.
    (Turning ``track_running_stats`` off instead would save fewer tensors than the forward did,
    which the checkpoint refuses.)
    """
    calls = 0

    def run(*args: torch.Tensor) -> torch.Tensor:
        nonlocal calls
        calls += 1
        if calls == 1:
            return fn(*args)
        with frozen_running_stats(norms):
            return fn(*args)

    out = checkpoint(run, *xs, use_reentrant=False, preserve_rng_state=True)
    assert isinstance(out, torch.Tensor)
    return out


@contextlib.contextmanager
def frozen_running_stats(norms: Iterable[nn.Module]) -> Iterator[None]:
    """A forward that replays one already run: batch norm uses the batch's statistics as before but
    its running statistics stay as they are (momentum 0: 1 x running + 0 x batch) and its batch
    counter is put back, so they are updated once per real forward."""
    kept = [
        (m, m.momentum, m.num_batches_tracked.clone())
        for m in norms
        if isinstance(m, nn.BatchNorm1d) and m.num_batches_tracked is not None
    ]
    for m, _, _ in kept:
        m.momentum = 0.0
    try:
        yield
    finally:
        for m, momentum, count in kept:
            m.momentum = momentum
            assert m.num_batches_tracked is not None
            m.num_batches_tracked.copy_(count)


class SegmentedNet(nn.Module):
    """A net whose forward runs its parts through :meth:`segment`: checkpointed when ``checkpointing``
    is on, in training, with gradients enabled (never at prediction). ``observer``, when set, runs
    each segment instead (plugins/_memory.py counts what each segment keeps that way)."""

    checkpointing: bool = False
    observer: Callable[..., torch.Tensor] | None = None

    def segment(self, fn: Callable[..., torch.Tensor], *xs: torch.Tensor) -> torch.Tensor:
        if self.observer is not None:
            return self.observer(fn, *xs)
        if self.checkpointing and self.training and torch.is_grad_enabled():
            return checkpointed(fn, [m for m in self.modules() if isinstance(m, nn.BatchNorm1d)], *xs)
        return fn(*xs)

    #: the levels run as two segments (the rest run as one)
    split: frozenset[str] = frozenset()

    def level(
        self,
        key: str,
        head: Callable[..., torch.Tensor],
        tail: Callable[[torch.Tensor], torch.Tensor],
        *xs: torch.Tensor,
    ) -> torch.Tensor:
        """A level (head then tail) as one segment, or as two when ``key`` is in ``split``."""
        if key in self.split:
            return self.segment(tail, self.segment(head, *xs))
        return self.segment(lambda *ys: tail(head(*ys)), *xs)


# --- convolutional nets ------------------------------------------------------------------------
def _conv(c_in: int, c_out: int, k: int) -> list[nn.Module]:
    # in place: the batch norm's backward needs its input, not its output, and LeakyReLU's backward
    # with a positive slope reads the sign of its result; so one activation per layer is not kept
    # (same numbers, about a third less activation memory)
    return [
        nn.Conv1d(c_in, c_out, k, padding=k // 2, bias=False),
        nn.BatchNorm1d(c_out),
        nn.LeakyReLU(SLOPE, inplace=True),
    ]


def double_conv(c_in: int, c_out: int, k: int) -> nn.Sequential:
    return nn.Sequential(*_conv(c_in, c_out, k), *_conv(c_out, c_out, k))


class _Down(nn.Module):
    def __init__(self, c_in: int, c_out: int, k: int, ratio: int, dropout: float) -> None:
        super().__init__()
        self.pool = nn.MaxPool1d(ratio) if ratio > 1 else nn.Identity()
        self.drop = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.conv = double_conv(c_in, c_out, k)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.tail(self.head(x))

    def head(self, x: torch.Tensor) -> torch.Tensor:
        """Pool, dropout and the first conv -> norm -> LeakyReLU (the first checkpointed segment)."""
        return self.conv[:3](self.drop(self.pool(x)))

    def tail(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv[3:](x)


class _Up(nn.Module):
    """Upsample the deep tensor by ``ratio`` and its skip by 2, crop the skip, concat, DoubleConv."""

    def __init__(self, c_deep: int, c_skip: int, c_out: int, k: int, ratio: int, dropout: float) -> None:
        super().__init__()
        self.up = nn.ConvTranspose1d(c_deep, c_out, ratio, stride=ratio)
        self.up_skip = nn.ConvTranspose1d(c_skip, c_skip, 2, stride=2)
        self.drop = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.conv = double_conv(c_skip + c_out, c_out, k)

    def forward(self, deep: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return self.tail(self.head(deep, skip))

    def head(self, deep: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        """Both upsamplings, the concat, dropout and the first conv -> norm -> LeakyReLU."""
        up = self.up(deep)
        skip = self.up_skip(skip)[..., : up.shape[-1]]
        return self.conv[:3](self.drop(torch.cat([skip, up], dim=1)))

    def tail(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv[3:](x)


class UNetGenerator(SegmentedNet):
    """OT ``unet_in``: 4 max-pool levels (x2), ConvTranspose up path (x4 then x2 x2 x2), 1x1 output.

    The output has about twice the input length and is cropped to ``n_out`` (the paper: 78,912
    positions, first 60,483 kept). When twice the input is shorter than ``n_out``, a final
    transposed convolution stretches it enough (not needed at the paper's sizes).
    """

    split = frozenset({"up3"})  # checkpointed as two segments: the largest level

    def __init__(self, n_in: int, n_out: int, filters: int = 64, kernel: int = 9, dropout: float = 0.0) -> None:
        super().__init__()
        if n_in < 16:
            raise ValueError(f"the U-Net needs at least 16 input features for its 4 poolings, got {n_in}")
        f = filters
        self.n_out = n_out
        self.inc = double_conv(1, f, kernel)
        self.down = nn.ModuleList(
            [
                _Down(f, 2 * f, kernel, 2, 0.0),
                _Down(2 * f, 4 * f, kernel, 2, dropout),
                _Down(4 * f, 8 * f, kernel, 2, 0.0),
                _Down(8 * f, 16 * f, kernel, 2, dropout),
            ]
        )
        self.up = nn.ModuleList(
            [
                _Up(16 * f, 8 * f, 8 * f, kernel, 4, 0.0),
                _Up(8 * f, 4 * f, 4 * f, kernel, 2, dropout),
                _Up(4 * f, 2 * f, 2 * f, kernel, 2, 0.0),
                _Up(2 * f, f, f, kernel, 2, dropout),
            ]
        )
        lengths = [n_in]
        for _ in range(4):
            lengths.append(lengths[-1] // 2)
        out_len = lengths[4] * 4 * 2 * 2 * 2
        stretch = math.ceil(n_out / out_len)
        self.stretch = nn.ConvTranspose1d(f, f, stretch, stride=stretch) if stretch > 1 else nn.Identity()
        self.outc = nn.Conv1d(f, 1, 1)
        self.out_length = out_len * stretch

    def forward(self, b: torch.Tensor) -> torch.Tensor:
        x = self.level("inc", self.inc[:3], self.inc[3:], b.unsqueeze(1))
        skips = [x]
        for i, down in enumerate(self.down):
            assert isinstance(down, _Down)
            x = self.level(f"down{i}", down.head, down.tail, x)
            skips.append(x)
        for i, (up, skip) in enumerate(zip(self.up, reversed(skips[:-1]))):
            assert isinstance(up, _Up)
            x = self.level(f"up{i}", up.head, up.tail, x, skip)
        return self.outc(self.stretch(x))[:, 0, : self.n_out]


class CNNDiscriminator(SegmentedNet):
    """OT ``multi_conv_new``: conv branches for A and for B (stretched x2 and cropped to A's length),
    concat, three (MaxPool4 -> DoubleConv) stages, 1-channel map, FC block -> Linear(64) logits."""

    split = frozenset({"stage0"})  # checkpointed as two segments: the largest level

    def __init__(
        self, n_a: int, n_b: int, filters: int = 64, kernel: int = 9, dropout: float = 0.0, n_logits: int = 64
    ) -> None:
        super().__init__()
        f = filters
        self.n_a = n_a
        self.a_branch = nn.Sequential(double_conv(1, f, kernel), nn.Conv1d(f, f, kernel, padding=kernel // 2))
        stretch = max(2, math.ceil(n_a / n_b))
        self.b_branch = nn.Sequential(double_conv(1, f, kernel), nn.ConvTranspose1d(f, f, stretch, stride=stretch))
        stages, length, c = [], n_a, 2 * f
        for _ in range(3):
            ratio = 4 if length // 4 >= 1 else 1
            stages.append(_Down(c, 2 * c, kernel, ratio, dropout))
            length //= ratio
            c *= 2
        self.stages = nn.Sequential(*stages)
        singles: list[nn.Module] = []
        while c > f:
            singles += _conv(c, c // 2, kernel)
            c //= 2
        self.singles = nn.Sequential(*singles, nn.Conv1d(f, 1, 1))
        self.fc = nn.Sequential(fc_block(length, 64, "instance", dropout), nn.Linear(64, n_logits))

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        xa = self.level("a", *self._halves(self.a_branch), a.unsqueeze(1))
        xb = self.level("b", *self._halves(self.b_branch), b.unsqueeze(1))
        x = torch.cat([xa, xb[..., : self.n_a]], dim=1)
        for i, stage in enumerate(self.stages):
            assert isinstance(stage, _Down)
            x = self.level(f"stage{i}", stage.head, stage.tail, x)
        return self.fc(self.segment(self.singles, x)[:, 0])

    @staticmethod
    def _halves(branch: nn.Sequential) -> tuple[nn.Module, Callable[[torch.Tensor], torch.Tensor]]:
        """A branch's first conv -> norm -> LeakyReLU; then its second and its last (transposed) conv."""
        conv, last = branch[0], branch[1]
        assert isinstance(conv, nn.Sequential)
        return conv[:3], lambda x: last(conv[3:](x))


def init_weights(module: nn.Module, kind: str = "normal", gain: float = 0.02) -> None:
    """OT ``init_weights``: conv/linear weights ~ N(0, gain) (or xavier/kaiming/orthogonal), bias 0;
    batch-norm weights ~ N(1, gain), bias 0."""
    for m in module.modules():
        if isinstance(m, (nn.Linear, nn.Conv1d, nn.ConvTranspose1d)):
            if kind == "normal":
                nn.init.normal_(m.weight, 0.0, gain)
            elif kind == "xavier":
                nn.init.xavier_normal_(m.weight, gain=gain)
            elif kind == "kaiming":
                nn.init.kaiming_normal_(m.weight, a=0, mode="fan_in")
            elif kind == "orthogonal":
                nn.init.orthogonal_(m.weight, gain=gain)
            else:
                raise ValueError(f"init must be normal, xavier, kaiming or orthogonal, got {kind!r}")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm1d):
            nn.init.normal_(m.weight, 1.0, gain)
            nn.init.zeros_(m.bias)
