"""Memory a data source needs, checked before it allocates: a cohort too large for this machine is
one line, not numpy's ``_ArrayMemoryError`` (or the kernel's OOM killer) minutes later.

As the CNN translator does for its fit (``plugins/_memory.py``), a source that allocates from
*declared* sizes (``synthetic``: ``n_samples`` x ``n_cpgs`` / ``n_genes``) estimates its bytes from
them and compares with the memory available now: ``MemAvailable`` of ``/proc/meminfo`` (what the
kernel can hand out without swapping), ``os.sysconf`` where that file is absent. Sources that read
files allocate what the file holds and are not estimated here.
"""

from __future__ import annotations

import os

from omibench.errors import DataError

__all__ = ["GIB", "available_bytes", "require_memory"]

GIB = 1024**3


def available_bytes(device: str = "cpu") -> int | None:
    """Bytes that can still be allocated on ``device`` without swapping ("cpu", or "cuda[:i]": the
    GPU's free memory, ``torch.cuda.mem_get_info``); None where it cannot be told. The one reader of
    available memory: data sources use it here, plugins through ``omibench.available_bytes``."""
    if device.startswith("cuda"):
        import torch

        free, _ = torch.cuda.mem_get_info(torch.device(device))
        return int(free)
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def require_memory(need: int, what: str, advice: str, available: int | None = None) -> None:
    """Raise a one-line :class:`DataError` when ``need`` bytes exceed ``available`` (default: the
    memory available now). ``what`` names the data and its declared sizes, ``advice`` says what to
    change. An unknown availability lets the allocation go ahead."""
    available = available_bytes() if available is None else available
    if available is None or need <= available:
        return
    raise DataError(
        f"{what} needs about {need / GIB:.1f} GiB but this machine has {available / GIB:.1f} GiB available: {advice}"
    )
