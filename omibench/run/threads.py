"""Thread limits for one fit: torch's intra-op pool and the BLAS / OpenMP pools, set and restored.

Under load (several jobs, or another process on the machine) the default pools, sized to every
core, oversubscribe the CPU: TDimpute took 14-18 s per epoch against 0.4-1.2 s with one thread,
with identical results. The harness therefore runs each fit inside ``limit_threads(n_jobs)``.

torch keeps its own OpenMP/MKL pool, which threadpoolctl can see but torch does not re-read, so it
is set with ``torch.set_num_threads`` as well; torch is touched only when it is already imported
(a CPU-only linear run never pays for importing it).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import Any

__all__ = ["limit_threads", "current_threads", "pin_openmp_single"]

# Set in a forked child whose parent already ran OpenMP (torch): the inherited pool deadlocks the
# child's first parallel region with more than one thread, so OpenMP and torch stay at one thread
# there whatever a job is given (BLAS pools are fork-safe and still get their share).
_OPENMP_PINNED = False

# threadpoolctl finds the pools by scanning every loaded shared library (about 20 ms with torch
# loaded, more than scoring a fast translator's split); the scan is kept until a module is imported
_CONTROLLER: Any = None
_CONTROLLER_MODULES = -1


def _controller() -> Any:
    global _CONTROLLER, _CONTROLLER_MODULES
    if _CONTROLLER is None or len(sys.modules) != _CONTROLLER_MODULES:
        from threadpoolctl import ThreadpoolController

        _CONTROLLER = ThreadpoolController()
        _CONTROLLER_MODULES = len(sys.modules)
    return _CONTROLLER


def pin_openmp_single() -> None:
    """From now on in this process, torch and the OpenMP pools run one thread (see above)."""
    global _OPENMP_PINNED
    _OPENMP_PINNED = True
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(1)


@contextlib.contextmanager
def limit_threads(n: int) -> Iterator[None]:
    """Run the block with exactly ``n`` threads in torch's intra-op pool and in every BLAS /
    OpenMP pool threadpoolctl finds (OpenBLAS, MKL, BLIS, libgomp...); restore them afterwards.

    ``n`` must be a positive integer (the job's ``n_jobs``). Pools loaded inside the block (a
    library imported there) keep their own size: import torch / numpy before entering.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"limit_threads needs a positive number of threads, got {n!r}")
    torch = sys.modules.get("torch")
    before = torch.get_num_threads() if torch is not None else None
    limits: int | dict[str, int] = {"blas": n, "openmp": 1} if _OPENMP_PINNED else n
    with _controller().limit(limits=limits):
        if torch is not None:
            torch.set_num_threads(1 if _OPENMP_PINNED else n)
        try:
            yield
        finally:
            if torch is not None and before is not None:
                torch.set_num_threads(before)


def current_threads() -> dict[str, int]:
    """Threads per pool now: ``{"torch": 4, "openblas": 4, "openmp": 4, ...}`` (for logs and tests)."""
    from threadpoolctl import threadpool_info

    out: dict[str, int] = {}
    for pool in threadpool_info():
        key = str(pool.get("internal_api") or pool.get("user_api"))
        out[key] = max(out.get(key, 0), pool["num_threads"])
    torch = sys.modules.get("torch")
    if torch is not None:
        out["torch"] = torch.get_num_threads()
    return out
