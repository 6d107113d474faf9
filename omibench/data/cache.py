"""A cache of loaded datasets, keyed by the hash of the data block, its input files and omibench's
version, so reruns and worker processes do not parse large matrices again.

Matrices streamed headers-first (:mod:`omibench.data.xena`) are cached as what the runs use: the
three parts after preprocessing (float32) and the fitted steps, keyed also on the split and
preprocess blocks (:func:`prepared_key`). Other sources cache the loaded data (:func:`load_cached`).
Nothing is written until the caller has validated everything (it calls the returned writer).
Each entry is a folder of ``.npy`` arrays (memory-mapped when read back) plus ``meta.json``.
Entries are written to a temporary folder and renamed, so a killed process leaves no half entry.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np

from omibench.config import canonical_hash
from omibench.data.paired import PairedData
from omibench.data.paths import resolve
from omibench.data.sources import DataSource, FilesSource

__all__ = ["load_cached", "cache_key", "prepared_key", "read_prepared", "write_prepared"]

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
        files = [
            (str(p.resolve()), p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(root.iterdir()) if p.is_file()
        ]
    return canonical_hash({"block": block, "files": files, "omibench": version("omibench")})


def load_cached(
    source: DataSource, block: dict[str, Any], cache_dir: Path | None
) -> tuple[PairedData, Callable[[], None]]:
    """``source.load()``, through the cache when ``cache_dir`` is given and the source is file-based,
    and the function that writes the cache entry: called by the caller once every check has passed."""
    if cache_dir is None or source.name == "synthetic":  # synthetic data is faster to make than to read
        return source.load(), lambda: None
    entry = Path(cache_dir) / cache_key(source, block)
    if (entry / "meta.json").is_file():
        log.info("data: cache hit %s", entry)
        return _read(entry), lambda: None
    data = source.load()
    return data, lambda: _write(entry, data)


def _write(entry: Path, data: PairedData) -> None:
    tmp = entry.with_name(entry.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    np.save(tmp / "b.npy", data.b)
    np.save(tmp / "a.npy", data.a)
    meta = {
        "sample_ids": data.sample_ids.tolist(),
        "b_features": data.b_features.tolist(),
        "a_features": data.a_features.tolist(),
        "labels": None if data.labels is None else data.labels.tolist(),
        "name": data.name,
        "given_test_ids": data.given_test_ids,
        "fingerprint": data.fingerprint(),
    }
    (tmp / "meta.json").write_text(json.dumps(meta))
    try:
        tmp.rename(entry)
    except OSError:  # another process wrote the same entry first
        shutil.rmtree(tmp, ignore_errors=True)


def _read(entry: Path) -> PairedData:
    meta = json.loads((entry / "meta.json").read_text())
    return PairedData.with_fingerprint(
        meta["fingerprint"],
        b=np.load(entry / "b.npy", mmap_mode="r"),
        a=np.load(entry / "a.npy", mmap_mode="r"),
        sample_ids=np.array(meta["sample_ids"], dtype=object),
        b_features=np.array(meta["b_features"], dtype=object),
        a_features=np.array(meta["a_features"], dtype=object),
        labels=None if meta["labels"] is None else np.array(meta["labels"], dtype=object),
        name=meta["name"],
        given_test_ids=None if meta["given_test_ids"] is None else tuple(meta["given_test_ids"]),
    )


def prepared_key(source: FilesSource, config: Any, extra_files: list[Path]) -> str:
    """Hash of what a prepared (split, filtered, fitted) dataset depends on: the data, split and
    preprocess blocks, the size and modification time of every file they name, omibench's version."""
    files = []
    b, a, labels = source.paths()
    for path in [b, a, labels, *extra_files]:
        if path is not None and Path(path).is_file():
            st = Path(path).stat()
            files.append((str(Path(path).resolve()), st.st_size, st.st_mtime_ns))
    semantic = config.semantic_dict()
    return canonical_hash(
        {
            "prepared": [semantic["data"], semantic["split"], semantic["preprocess"]],
            "files": files,
            "omibench": version("omibench"),
        }
    )


def read_prepared(entry: Path) -> Any | None:
    """A prepared dataset written by :func:`write_prepared` (arrays memory-mapped), or None."""
    from omibench.data.preprocess import Preprocessor
    from omibench.data.splits import Split
    from omibench.data.xena import Streamed

    if not (entry / "meta.json").is_file():
        return None
    meta = json.loads((entry / "meta.json").read_text())
    parts = {}
    for part in ("train", "val", "test"):
        m = meta["parts"][part]
        parts[part] = PairedData(
            b=np.load(entry / f"{part}_b.npy", mmap_mode="r"),
            a=np.load(entry / f"{part}_a.npy", mmap_mode="r"),
            sample_ids=np.array(m["sample_ids"], dtype=object),
            b_features=np.array(meta["b_features"], dtype=object),
            a_features=np.array(meta["a_features"], dtype=object),
            labels=None if m["labels"] is None else np.array(m["labels"], dtype=object),
            name=meta["name"],
        )
    pre, _ = Preprocessor.load(entry / "preprocess")
    split = Split(
        tuple(parts["train"].sample_ids),
        tuple(parts["val"].sample_ids),
        tuple(parts["test"].sample_ids),
        tuple(meta["notes"]),
    )
    log.info("data: prepared cache hit %s", entry)
    return Streamed(parts, split, pre, meta["dataset_hash"], {})


def write_prepared(entry: Path, prepared: Any) -> None:
    """Write the parts (``.npy``), the fitted preprocessing (JSON + npz) and ids; atomic by rename."""
    tmp = entry.with_name(entry.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    meta: dict[str, Any] = {
        "parts": {},
        "name": prepared.parts["train"].name,
        "dataset_hash": prepared.dataset_hash,
        "notes": list(prepared.split.notes),
    }
    for part, data in prepared.parts.items():
        np.save(tmp / f"{part}_b.npy", np.ascontiguousarray(data.b))
        np.save(tmp / f"{part}_a.npy", np.ascontiguousarray(data.a))
        meta["parts"][part] = {
            "sample_ids": data.sample_ids.tolist(),
            "labels": None if data.labels is None else data.labels.tolist(),
        }
        meta["b_features"], meta["a_features"] = data.b_features.tolist(), data.a_features.tolist()
    prepared.preprocessor.save(tmp / "preprocess")
    (tmp / "meta.json").write_text(json.dumps(meta))
    try:
        tmp.rename(entry)
    except OSError:  # another process wrote the same entry first
        shutil.rmtree(tmp, ignore_errors=True)
