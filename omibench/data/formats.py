"""Data sources for other layouts: MOGONET's benchmark folders and scverse AnnData / MuData files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict

from omibench.config import PathField
from omibench.data.paired import PairedData
from omibench.data.sources import DataSource
from omibench.errors import ConfigError, DataError

__all__ = ["MogonetSource", "AnnDataSource"]


class MogonetSource(DataSource):
    """A MOGONET folder: ``{k}_tr.csv`` / ``{k}_te.csv`` (samples in rows, no header, no ids),
    ``{k}_featname.csv``, ``labels_tr.csv`` / ``labels_te.csv``; omics ``k`` = 1 mRNA, 2 methylation.
    Samples are named ``tr0000..`` and ``te0000..``; the given test samples are the ``te`` rows
    (use them with ``split.given: true``)."""

    name = "mogonet"

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")
        root: PathField
        b: str = "2"
        a: str = "1"
        label_names: dict[int, str] | None = None

    def load(self) -> PairedData:
        p = self.params
        assert isinstance(p, MogonetSource.Params)
        parts = {}
        for part in ("tr", "te"):
            b = _headerless(p.root / f"{p.b}_{part}.csv")
            a = _headerless(p.root / f"{p.a}_{part}.csv")
            y = _headerless(p.root / f"labels_{part}.csv").ravel()
            if not (len(b) == len(a) == len(y)):
                raise DataError(
                    f"{p.root}: {part} files disagree on the number of samples ({len(b)}, {len(a)}, {len(y)})"
                )
            parts[part] = (b, a, y)
        b_feat = _names(p.root / f"{p.b}_featname.csv", parts["tr"][0].shape[1])
        a_feat = _names(p.root / f"{p.a}_featname.csv", parts["tr"][1].shape[1])
        ids = [f"{part}{i:04d}" for part in ("tr", "te") for i in range(len(parts[part][0]))]
        labels = np.concatenate([parts["tr"][2], parts["te"][2]]).astype(int)
        names = p.label_names or {}
        return PairedData(
            b=np.vstack([parts["tr"][0], parts["te"][0]]).astype(np.float32),
            a=np.vstack([parts["tr"][1], parts["te"][1]]).astype(np.float32),
            sample_ids=np.array(ids, dtype=object),
            b_features=b_feat,
            a_features=a_feat,
            labels=np.array([names.get(v, str(v)) for v in labels], dtype=object),
            name=str(p.root),
            given_test_ids=tuple(i for i in ids if i.startswith("te")),
        )


def _headerless(path: Path) -> np.ndarray:
    if not path.is_file():
        raise DataError(f"{path}: file not found (a MOGONET folder has 1_tr.csv, 2_tr.csv, labels_tr.csv, ...)")
    return pd.read_csv(path, header=None).to_numpy(dtype=np.float64)


def _names(path: Path, n: int) -> np.ndarray:
    names = pd.read_csv(path, header=None)[0].astype(str).to_numpy(dtype=object) if path.is_file() else None
    if names is None or len(names) != n:
        raise DataError(f"{path}: expected {n} feature names, one per line")
    return names


class AnnDataSource(DataSource):
    """scverse files: two ``.h5ad`` files (``b`` and ``a``, samples = obs) or one ``.h5mu`` with a
    modality for each (``b_modality``, ``a_modality``). Samples pair on ``obs_names``; labels come
    from an ``obs`` column. Needs ``pip install 'omibench[scverse]'``."""

    name = "anndata"

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")
        root: PathField = Path(".")
        b: PathField | None = None
        a: PathField | None = None
        mudata: PathField | None = None
        b_modality: str = "methylation"
        a_modality: str = "rna"
        layer: str | None = None
        label_column: str | None = None
        strict: bool = False

    def load(self) -> PairedData:
        p = self.params
        assert isinstance(p, AnnDataSource.Params)
        try:
            import anndata
        except ImportError:
            raise ConfigError("the anndata data source needs anndata: pip install 'omibench[scverse]'") from None
        if p.mudata is not None:
            try:
                import mudata
            except ImportError:
                raise ConfigError("reading .h5mu needs mudata: pip install 'omibench[scverse]'") from None
            mdata = mudata.read_h5mu(_exists(p.root / p.mudata))
            for mod in (p.b_modality, p.a_modality):
                if mod not in mdata.mod:
                    raise DataError(f"{p.mudata}: no modality {mod!r}; it has {', '.join(mdata.mod)}")
            b_ad, a_ad = mdata.mod[p.b_modality], mdata.mod[p.a_modality]
        elif p.b is not None and p.a is not None:
            b_ad, a_ad = anndata.read_h5ad(_exists(p.root / p.b)), anndata.read_h5ad(_exists(p.root / p.a))
        else:
            raise ConfigError("data: the anndata source needs either mudata: FILE.h5mu or both b: and a: (.h5ad files)")
        b_df, a_df = _frame(b_ad, p.layer), _frame(a_ad, p.layer)
        shared = [s for s in a_df.index if s in set(b_df.index)]
        only = len(b_df) + len(a_df) - 2 * len(shared)
        if not shared:
            raise DataError(f"{p.root}: B and A share no obs_names")
        if only and p.strict:
            raise DataError(f"{p.root}: {only} samples are in only one of B and A; strict pairing is on")
        labels = None
        if p.label_column is not None:
            obs = a_ad.obs if p.label_column in a_ad.obs else b_ad.obs
            if p.label_column not in obs:
                raise DataError(f"{p.root}: no obs column {p.label_column!r} for labels")
            labels = np.array(
                [None if pd.isna(v) else str(v) for v in obs[p.label_column].reindex(shared)], dtype=object
            )
        return PairedData(
            b=b_df.loc[shared].to_numpy(np.float32),
            a=a_df.loc[shared].to_numpy(np.float32),
            sample_ids=np.array(shared, dtype=object),
            b_features=np.array(b_df.columns, dtype=object),
            a_features=np.array(a_df.columns, dtype=object),
            labels=labels,
            name=str(p.root),
        )


def _exists(path: Path) -> Path:
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    return path


def _frame(adata: object, layer: str | None) -> pd.DataFrame:
    matrix = adata.layers[layer] if layer else adata.X  # type: ignore[attr-defined]
    if hasattr(matrix, "toarray"):
        matrix = matrix.toarray()
    return pd.DataFrame(
        np.asarray(matrix, dtype=np.float32),
        index=adata.obs_names.astype(str),  # type: ignore[attr-defined]
        columns=adata.var_names.astype(str),  # type: ignore[attr-defined]
    )
