"""Memory a conditional GAN's training needs, estimated from the shapes before anything is allocated.

The estimate of one training step at batch ``n``:

- activations: the bytes autograd saves for backward in one generator forward followed by one
  discriminator forward (the largest graph alive in ``train_epoch``: the generator step), counted
  exactly on the meta device (no arithmetic, no memory) for a batch of 2 and of 3; the difference is
  the per-sample cost, which is linear in the batch (every saved tensor has the batch as its first
  dimension);
- parameters x 4: weights, gradients and Adam's two moments;
- the training matrices B and A as float32 (``fit`` holds them as tensors on the device).

With activation checkpointing (``checkpoint=True``: nets that run their parts through
``segment``, plugins/_nets.py) the activations are the largest of what is alive while backward
recomputes one segment: that segment's internals, plus every segment input (each tensor once, by
storage: a U-Net skip feeds two segments) and every tensor saved outside the segments that the
forward made before it (backward runs in reverse, so what came later is already freed), plus
the same at the end of the forward (nothing recomputed). Counted in the same meta-device pass, with
an ``observer`` that runs each segment in place of the checkpoint.

It is a lower bound of the peak (backward's transient gradient buffers come on top), so a fit it
declines would certainly not have fitted. It counts float32 (``precision: bf16`` keeps most saved
activations at half that, so for bf16 the estimate is on the high side). Available memory:
``MemAvailable`` of ``/proc/meminfo`` on CPU (``os.sysconf`` where that file is absent),
``torch.cuda.mem_get_info`` on a GPU.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from omibench_plugins._nets import SegmentedNet
from torch import nn

from omibench import available_bytes as omibench_available_bytes

__all__ = ["StepMemory", "available_bytes", "step_memory", "memory_reason"]

GIB = 1024**3


@dataclass(frozen=True)
class StepMemory:
    """Bytes of one training step: ``fixed`` (parameters x 4 + training data) + ``per_sample`` x batch."""

    per_sample: int
    parameters: int
    data: int

    def total(self, batch: int) -> int:
        return self.fixed + self.per_sample * batch

    @property
    def fixed(self) -> int:
        return 4 * self.parameters + self.data

    def largest_batch(self, available: int) -> int:
        """The largest batch whose estimate fits ``available`` bytes (0 if none does)."""
        return max(0, (available - self.fixed) // self.per_sample) if self.per_sample else 1 << 30


def _saved_bytes(make: Callable[[], tuple[nn.Module, nn.Module]], n_in: int, batch: int, checkpoint: bool) -> list[int]:
    """Bytes saved for backward and still alive at each moment of backward: while each segment is
    recomputed (in forward order), then at the end of the forward. Without ``checkpoint``, only the
    last: everything the forward saved."""
    inputs: dict[int, tuple[int, int]] = {}  # storage -> (first segment that takes it, bytes)
    outside: list[tuple[int, int]] = []  # (segments started before the save, bytes)
    inside: list[int] = []  # bytes saved inside each segment
    current = [-1]

    def pack(t: torch.Tensor) -> torch.Tensor:
        size = t.numel() * t.element_size()
        if current[-1] < 0:
            outside.append((len(inside), size))
        else:
            inside[current[-1]] += size
        return t

    def observe(fn: Callable[..., torch.Tensor], *xs: torch.Tensor) -> torch.Tensor:
        for x in xs:
            storage = x.untyped_storage()
            inputs.setdefault(storage._cdata, (len(inside), storage.nbytes()))
        current.append(len(inside))
        inside.append(0)
        try:
            return fn(*xs)
        finally:
            current.pop()

    with torch.device("meta"):
        gen, disc = make()
        gen.train(), disc.train()
        for net in (gen, disc):
            if isinstance(net, SegmentedNet):  # counted here, whatever the nets were built to do
                net.checkpointing = False
                net.observer = observe if checkpoint else None
        b = torch.empty(batch, n_in)
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            disc(gen(b), b)
    alive = [
        internal
        + sum(size for first, size in inputs.values() if first <= k)
        + sum(size for started, size in outside if started <= k)
        for k, internal in enumerate(inside)
    ]
    return [*alive, sum(size for _, size in inputs.values()) + sum(size for _, size in outside)]


def step_memory(
    make: Callable[[], tuple[nn.Module, nn.Module]], n_train: int, n_in: int, n_out: int, checkpoint: bool = False
) -> StepMemory:
    """The memory model of one training step for networks built by ``make()`` (generator, discriminator;
    built on the meta device here) on ``n_train`` x ``n_in`` -> ``n_out`` float32 training data;
    with ``checkpoint``, of the step whose nets run their ``segments()`` checkpointed."""
    # batches of 2 and 3: batch norm refuses a batch of 1 where a layer's length is down to 1
    two, three = _saved_bytes(make, n_in, 2, checkpoint), _saved_bytes(make, n_in, 3, checkpoint)
    # per sample, moment by moment (the counts include the weights that layers save, which do not
    # grow with the batch: the peak is the moment with the largest per-sample slope)
    per_sample = max(c - d for c, d in zip(three, two))
    with torch.device("meta"):
        gen, disc = make()
    params = sum(p.numel() * p.element_size() for m in (gen, disc) for p in m.parameters())
    return StepMemory(per_sample=per_sample, parameters=params, data=n_train * (n_in + n_out) * 4)


def available_bytes(device: str) -> int:
    """Memory a fit can still take on ``device`` ("cpu" or "cuda[:i]"), in bytes (omibench's reader;
    where it cannot be told, nothing is declined on a guess)."""
    known = omibench_available_bytes(device)
    return 1 << 62 if known is None else known


def memory_reason(
    name: str,
    estimate: StepMemory,
    batch: int,
    device: str,
    available: int,
    checkpointed: bool = False,
    micro_batch: int | None = None,
) -> str | None:
    """A one-line reason to decline when the step at ``batch`` does not fit ``available`` bytes, else None
    (``checkpointed``: the estimate is of the activation-checkpointed step, and the reason says so;
    ``micro_batch``: the batch runs in shards of that many rows, so only one shard's activations live)."""
    rows = min(batch, micro_batch or batch)
    need = estimate.total(rows)
    if need <= available:
        return None
    fits = estimate.largest_batch(available)
    where = "GPU" if device.startswith("cuda") else "RAM"
    if fits >= 2:
        shard = f"micro_batch: {fits} or smaller (batch norm then normalises each micro-batch alone)"
        advice = f"set batch_size: {fits} or smaller, or {shard}" if rows == batch else f"set {shard}"
    else:
        advice = "no batch of 2 or more fits here"
    shards = f" in micro-batches of {rows}" if rows < batch else ""
    return (
        f"{name} needs about {need / GIB:.1f} GiB for one training step at batch_size {batch}{shards} "
        f"{'with activation checkpointing ' if checkpointed else ''}"
        f"(activations {estimate.per_sample * rows / GIB:.1f} GiB, parameters + Adam "
        f"{4 * estimate.parameters / GIB:.2f} GiB, training data {estimate.data / GIB:.2f} GiB) but {device} has "
        f"{available / GIB:.1f} GiB {where} available: {advice}, or run on a GPU with at least "
        f"{math.ceil(need / GIB * 1.25)} GiB"
    )
