"""What one fit costs: wall and CPU time of the fit, peak resident memory and peak GPU memory.

CPU time is user + system time of this process and of its waited-for children (joblib / loky
workers that ended), from ``resource.getrusage``. Peak RSS is the process's high-water mark: on
Linux it is reset at the start (``/proc/self/clear_refs``) so a worker process reused for several
jobs reports each job's own peak, data already loaded included; elsewhere it is the lifetime peak.
A child's peak counts where it exceeds the process's (children cannot be reset, so only a new
higher child peak is seen). GPU: ``torch.cuda.max_memory_allocated`` when the fit runs on CUDA.
"""

from __future__ import annotations

import resource
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Any

if sys.version_info >= (3, 11):
    from typing import Self
else:  # pragma: no cover
    from typing_extensions import Self

__all__ = ["ResourceMeter", "peak_rss_mb"]

_MB = 1024.0 * 1024.0


def _cpu_s() -> float:
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        use = resource.getrusage(who)
        total += use.ru_utime + use.ru_stime
    return total


def _maxrss_mb(who: int) -> float:
    kb_or_bytes = resource.getrusage(who).ru_maxrss
    return kb_or_bytes / _MB if sys.platform == "darwin" else kb_or_bytes / 1024.0  # bytes on macOS, KiB elsewhere


def _reset_peak_rss() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def peak_rss_mb() -> float:
    """This process's resident high-water mark in MiB (``VmHWM`` where /proc has it)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return float(line.split()[1]) / 1024.0
    except OSError:
        pass
    return _maxrss_mb(resource.RUSAGE_SELF)


def _torch_cuda() -> Any:
    torch = sys.modules.get("torch")
    if torch is None or not torch.cuda.is_available():
        return None
    return torch.cuda


class ResourceMeter:
    """``with ResourceMeter(device): fit()`` then ``metrics()`` (after predicting, so the peaks
    cover the predictions too): ``fit_cpu_s``, ``peak_rss_mb`` and, on CUDA, ``peak_gpu_mb``."""

    def __init__(self, device: str = "cpu") -> None:
        self.device = device
        self.wall_s = 0.0
        self.cpu_s = 0.0

    def __enter__(self) -> Self:
        _reset_peak_rss()
        self._children_peak = _maxrss_mb(resource.RUSAGE_CHILDREN)
        self._cuda = _torch_cuda() if self.device.startswith("cuda") else None
        if self._cuda is not None:
            self._cuda.reset_peak_memory_stats()
        self._cpu0, self._wall0 = _cpu_s(), time.perf_counter()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.wall_s = time.perf_counter() - self._wall0
        self.cpu_s = _cpu_s() - self._cpu0

    def metrics(self) -> dict[str, float]:
        peak = peak_rss_mb()
        children = _maxrss_mb(resource.RUSAGE_CHILDREN)
        if children > self._children_peak:
            peak = max(peak, children)
        out = {"fit_cpu_s": self.cpu_s, "peak_rss_mb": peak}
        cuda = self._cuda if self.device.startswith("cuda") else None
        if cuda is None and self.device.startswith("cuda"):
            cuda = _torch_cuda()  # torch imported by the fit itself
        if cuda is not None:
            out["peak_gpu_mb"] = cuda.max_memory_allocated() / _MB
        return out
