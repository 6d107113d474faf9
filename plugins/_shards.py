"""A training batch as shards (``micro_batch`` of the OmiTrans family, plugins/omitrans.py).

A batch of ``n`` rows runs as ``ceil(n / micro_batch)`` equal shards (never a shard of one row,
which batch norm refuses), each loss weighted by its shard's share of the batch, so the accumulated
gradient is the batch's mean and one optimizer step follows each batch. Batch norm normalises each
shard alone: the original code's arrangement on several GPUs (``DataParallel`` gives every replica
its share of the batch, and each replica's batch norm sees that share only).

The generator's forward for the discriminator step runs without a graph (only one shard's graph is
ever alive); the generator step replays it with a graph (:func:`replay`): same RNG state, so the
same dropout masks, and batch norm's running statistics updated once.
"""

from __future__ import annotations

import contextlib
import math
from typing import Any

import torch
from omibench_plugins._nets import frozen_running_stats
from torch import nn

__all__ = ["RngState", "rng_state", "replay", "shards"]

RngState = tuple[torch.Tensor, "torch.Tensor | None"]


def shards(idx: torch.Tensor, micro_batch: int | None) -> list[torch.Tensor]:
    """``idx`` (a batch's row indices) as equal shards of at most ``micro_batch`` rows; ``[idx]``
    when ``micro_batch`` is None or not smaller than the batch."""
    if not micro_batch or micro_batch >= len(idx):
        return [idx]
    return list(idx.tensor_split(math.ceil(len(idx) / micro_batch)))


def rng_state(device: torch.device) -> RngState:
    """The generators a forward on ``device`` draws from (CPU always; the CUDA device's when on one)."""
    return torch.get_rng_state(), torch.cuda.get_rng_state(device) if device.type == "cuda" else None


def replay(
    net: nn.Module, b: torch.Tensor, state: RngState, autocast: contextlib.AbstractContextManager[Any]
) -> torch.Tensor:
    """``net(b)`` again, with a graph, as first run from RNG ``state``; the global RNG is left as it was."""
    cuda = b.device.type == "cuda"
    with torch.random.fork_rng(devices=[b.device.index or 0] if cuda else []):
        torch.set_rng_state(state[0])
        if state[1] is not None:
            torch.cuda.set_rng_state(state[1], b.device)
        with frozen_running_stats(net.modules()), autocast:
            return net(b)
