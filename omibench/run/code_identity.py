"""What identifies a translator's code in a job key, so that editing a plugin reruns its jobs."""

from __future__ import annotations

import hashlib
import inspect
import sys
from functools import lru_cache
from importlib import metadata
from pathlib import Path

__all__ = ["code_identity"]


def code_identity(cls: type) -> str:
    """``sha256:<12 hex>`` of the source file defining ``cls`` when it is a local file (a plugins
    folder, an editable install), else ``<distribution>==<version>`` of the installed package that
    provides it; ``""`` when neither is known (e.g. a class defined interactively)."""
    module = sys.modules.get(cls.__module__)
    try:
        source = inspect.getsourcefile(cls) or (getattr(module, "__file__", None) if module else None)
    except TypeError:
        source = None
    if source is None:
        return ""
    path = Path(source).resolve()
    if "site-packages" not in path.parts and "dist-packages" not in path.parts:
        return _file_hash(str(path))
    dist = _distribution(cls.__module__.split(".")[0])
    return dist or _file_hash(str(path))


def _file_hash(path: str) -> str:
    try:
        stat = Path(path).stat()
    except OSError:
        return ""
    return _hash_of(path, stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=256)
def _hash_of(path: str, mtime_ns: int, size: int) -> str:
    """Cached per (path, modification time, size): an edited file is read again."""
    try:
        return "sha256:" + hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]
    except OSError:
        return ""


@lru_cache(maxsize=64)
def _distribution(top: str) -> str:
    names = metadata.packages_distributions().get(top, [])
    if not names:
        return ""
    return f"{names[0]}=={metadata.version(names[0])}"
