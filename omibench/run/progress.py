"""Progress for people: a tqdm bar on a terminal, plain lines elsewhere (``nohup``, ``tee``, CI logs).

tqdm's bar rewrites one line with carriage returns, which a log file shows as one huge line or not
at all; outside a terminal a long phase instead prints one line every ``every`` steps.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sized
from typing import TypeVar

__all__ = ["progress"]

T = TypeVar("T")


def _is_tty() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def progress(
    items: Iterable[T],
    desc: str,
    echo: Callable[[str], None],
    total: int | None = None,
    every: int = 10,
    tty: bool | None = None,
) -> Iterator[T]:
    """Iterate ``items`` showing progress: a tqdm bar when stderr is a terminal (``tty`` overrides the
    check), else ``echo("<desc> i/total (elapsed)")`` every ``every`` items and at the last one."""
    if tty if tty is not None else _is_tty():
        from tqdm.auto import tqdm

        yield from tqdm(items, desc=desc, total=total, leave=False)
        return
    if total is None and isinstance(items, Sized):
        total = len(items)
    start = time.monotonic()
    i = 0
    for i, item in enumerate(items, 1):
        yield item
        if i % every == 0 or i == total:
            of = f"/{total}" if total else ""
            echo(f"    {desc} {i}{of} ({time.monotonic() - start:.0f} s)")
