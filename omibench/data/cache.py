"""A cache of loaded datasets, keyed by the hash of the data block, its input files and omibench's
version, so reruns and worker processes do not parse large matrices again.

Each entry is a folder of ``.npy`` arrays (memory-mapped when read back) plus ``meta.json``.
Entries are written to a temporary folder and renamed, so a killed process leaves no half entry.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np

from ..config import canonical_hash
from .paired import PairedData
from .paths import resolve
from .sources import DataSource

__all__ = ["load_cached", "cache_key"]

log = logging.getLogger(__name__)


def cache_key(source: DataSource, block: dict[str, Any]) -> str:
    """Hash of the YAML block, the size and modification time of every input file, and omibench's version."""
    params = source.params.model_dump()
    root = Path(params.get("root") or ".")
    files = []
    for name, value in sorted(params.items()):
        if isinstance(value, Path) and name != "root":
            path = resolve(value, root)
            if path.is_file():
                st = path.stat()
                files.append((str(path.resolve()), st.st_size, st.st_mtime_ns))
    if root.is_dir() and not files:  # a folder source (e.g. mogonet): every file in it
        files = [(str(p.resolve()), p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(root.iterdir()) if p.is_file()]
    return canonical_hash({"block": block, "files": files, "omibench": version("omibench")})


def load_cached(source: DataSource, block: dict[str, Any], cache_dir: Path | None) -> PairedData:
    """``source.load()``, through the cache when ``cache_dir`` is given and the source is file-based."""
    if cache_dir is None or source.name == "synthetic":  # synthetic data is faster to make than to read
        return source.load()
    entry = Path(cache_dir) / cache_key(source, block)
    if (entry / "meta.json").is_file():
        log.info("data: cache hit %s", entry)
        return _read(entry)
    data = source.load()
    _write(entry, data)
    return data


def _write(entry: Path, data: PairedData) -> None:
    tmp = entry.with_name(entry.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    np.save(tmp / "b.npy", data.b)
    np.save(tmp / "a.npy", data.a)
    meta = {"sample_ids": data.sample_ids.tolist(), "b_features": data.b_features.tolist(),
            "a_features": data.a_features.tolist(), "labels": None if data.labels is None else data.labels.tolist(),
            "name": data.name, "given_test_ids": data.given_test_ids, "fingerprint": data.fingerprint()}
    (tmp / "meta.json").write_text(json.dumps(meta))
    try:
        tmp.rename(entry)
    except OSError:  # another process wrote the same entry first
        shutil.rmtree(tmp, ignore_errors=True)


def _read(entry: Path) -> PairedData:
    meta = json.loads((entry / "meta.json").read_text())
    data = PairedData(
        b=np.load(entry / "b.npy", mmap_mode="r"), a=np.load(entry / "a.npy", mmap_mode="r"),
        sample_ids=np.array(meta["sample_ids"], dtype=object), b_features=np.array(meta["b_features"], dtype=object),
        a_features=np.array(meta["a_features"], dtype=object),
        labels=None if meta["labels"] is None else np.array(meta["labels"], dtype=object), name=meta["name"],
        given_test_ids=None if meta["given_test_ids"] is None else tuple(meta["given_test_ids"]),
    )
    data._fingerprint.append(meta["fingerprint"])
    return data
