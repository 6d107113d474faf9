"""Tell a real interruption (Ctrl-C, SIGTERM) from a ``KeyboardInterrupt`` a translator raises.

While :func:`watching` is active (main thread, Python's default SIGINT handler in place), SIGINT
marks itself as real before raising; the CLI's SIGTERM handler marks itself too. A job that sees
an unmarked ``KeyboardInterrupt`` knows its translator raised it, and fails alone.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

__all__ = ["mark", "real", "reset", "watching"]

_REAL = False


def mark() -> None:
    global _REAL
    _REAL = True


def real() -> bool:
    return _REAL


def reset() -> None:
    """Forget an earlier interruption (a new run loop starts)."""
    global _REAL
    _REAL = False


@contextmanager
def watching() -> Iterator[None]:
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    ):
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        mark()
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)
