"""Genomic locations of CpG probes and genes, and ordering features by them (chr 1..22, X, Y)."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from omibench.errors import DataError

__all__ = ["load_locations", "location_order", "CHROMOSOMES"]

CHROMOSOMES = [str(i) for i in range(1, 23)] + ["X", "Y"]
_RANK = {c: i for i, c in enumerate(CHROMOSOMES)}
_ID_COLUMNS = ("probe", "probeID", "probe_id", "ensembl_gene_id", "external_gene_name", "gene", "gene_id", "id")
_CHR_COLUMNS = ("chr", "chrom", "chromosome", "chromosome_name", "CHR", "Chromosome")
_POS_COLUMNS = ("pos", "position", "start", "start_position", "MAPINFO", "Genomic_Coordinate")


@lru_cache(maxsize=8)
def load_locations(path: str) -> dict[str, tuple[int, int]]:
    """Map feature id -> (chromosome rank, position) from a table with an id, a chromosome and a
    position column (names recognised: e.g. probe/chr/pos, or ensembl_gene_id/chromosome_name/
    start_position; gene tables are indexed by Ensembl id *and* gene symbol). Chromosomes outside
    1..22, X, Y (e.g. MT, patches) are ignored."""
    p = Path(path)
    if not p.is_file():
        raise DataError(
            f"{path}: location table not found (e.g. ../shared/data/annotation/hm450_probe_locations_hg19.csv.gz)"
        )
    table = pd.read_csv(p, sep=None, engine="python") if not p.name.endswith((".csv", ".csv.gz")) else pd.read_csv(p)
    cols = set(table.columns)
    ids = [c for c in _ID_COLUMNS if c in cols]
    chrom = next((c for c in _CHR_COLUMNS if c in cols), None)
    pos = next((c for c in _POS_COLUMNS if c in cols), None)
    if not ids or chrom is None or pos is None:
        raise DataError(
            f"{path}: needs an id column ({', '.join(_ID_COLUMNS)}), a chromosome column and a position column; "
            f"found {', '.join(map(str, table.columns))}"
        )
    chroms = table[chrom].astype(str).str.replace(r"^chr", "", regex=True)
    ranks = chroms.map(_RANK)
    ok = ranks.notna() & table[pos].notna()
    out: dict[str, tuple[int, int]] = {}
    for col in ids:
        for key, rank, position in zip(
            table.loc[ok, col].astype(str), ranks[ok].astype(int), table.loc[ok, pos].astype(np.int64)
        ):
            if key and key != "nan":
                out.setdefault(key, (rank, int(position)))
    return out


def _key(feature: str) -> str:
    return re.sub(r"\.\d+$", "", feature) if feature.startswith("ENSG") else feature  # drop Ensembl versions


def location_order(features: np.ndarray, table: str) -> tuple[np.ndarray, np.ndarray]:
    """(positions of located features in genomic order, positions of unlocated features)."""
    locations = load_locations(table)
    located: list[tuple[tuple[int, int], int]] = []
    missing: list[tuple[None, int]] = []
    for i, f in enumerate(features.tolist()):
        loc = locations.get(_key(str(f)))
        if loc is not None:
            located.append((loc, i))
        else:
            missing.append((None, i))
    located.sort()
    return np.array([i for _, i in located], dtype=np.int64), np.array([i for _, i in missing], dtype=np.int64)
