"""GPU detection, in one place, without initialising CUDA in the calling process."""

from __future__ import annotations

import os
import subprocess
import sys
from functools import lru_cache

__all__ = ["gpu_count", "torch_device"]


@lru_cache(maxsize=1)
def gpu_count() -> int:
    """Visible NVIDIA GPUs (honouring ``CUDA_VISIBLE_DEVICES``), without touching CUDA here: a
    process that forks jobs or starts workers must not initialise it first."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None and visible.strip() in ("", "-1"):
        return 0
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return 0
    found = sum(line.startswith("GPU ") for line in out.stdout.splitlines()) if out.returncode == 0 else 0
    if visible:
        return min(found, len([v for v in visible.split(",") if v.strip()]))
    return found


def torch_device() -> str:
    """``"cuda"`` when torch sees a GPU, else ``"cpu"`` (imports torch only when one may exist)."""
    if gpu_count() == 0 and "torch" not in sys.modules:
        return "cpu"
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"
