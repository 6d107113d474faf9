"""Child processes that die with their driver: ``PR_SET_PDEATHSIG`` (Linux) plus cleanup on SIGTERM."""

from __future__ import annotations

import os
import shutil
import signal
import sys
from types import FrameType

__all__ = ["die_with_parent", "remove_on_term"]

_PR_SET_PDEATHSIG = 1


def die_with_parent(sig: int = signal.SIGTERM) -> None:
    """Ask the kernel to send ``sig`` to this process when its parent dies (SIGKILL included).
    Runs in the child (a ``preexec_fn`` or the start of a forked child); a no-op off Linux."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
    except (OSError, AttributeError):
        return


def remove_on_term(folder: str) -> None:
    """On SIGTERM (the driver died or stopped the job), delete the job's folder and exit at once."""

    def handler(signum: int, frame: FrameType | None) -> None:
        shutil.rmtree(folder, ignore_errors=True)
        os._exit(128 + signum)

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
