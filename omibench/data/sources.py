"""Data sources: turn the YAML ``data:`` block into a :class:`PairedData`.

Built-ins: ``synthetic`` (the embedded default, no download) and ``files`` (CSV / TSV / parquet in
either orientation). A plugin adds its own by subclassing :class:`DataSource` and registering it
through the ``omibench_register_datasets`` hook.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from omibench.config import PathField, Seed
from omibench.contract.hookspecs import hookimpl
from omibench.data.ids import read_labels
from omibench.data.paired import PairedData
from omibench.data.paths import resolve
from omibench.data.synthetic import make_synthetic
from omibench.data.tabular import read_paired_files
from omibench.errors import ConfigError, DataError

__all__ = ["DataSource", "SyntheticSource", "FilesSource", "build_source", "read_labels"]

log = logging.getLogger(__name__)


class DataSource:
    """One kind of input. ``Params`` (a pydantic model) declares the YAML fields it accepts."""

    name: ClassVar[str] = ""

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")

    def __init__(self, params: BaseModel) -> None:
        self.params = params

    def load(self) -> PairedData:
        """Read or make the full paired dataset (all samples, before splitting)."""
        raise NotImplementedError


class SyntheticSource(DataSource):
    """Methylation-like betas and log-scale expression from one latent structure (see make_synthetic)."""

    name = "synthetic"

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")
        n_samples: int = Field(300, ge=10, le=100_000)
        n_cpgs: int = Field(500, ge=1, le=500_000)
        n_genes: int = Field(200, ge=1, le=100_000)
        n_classes: int = Field(4, ge=1, le=100)
        rank: int = Field(8, ge=1, le=1000)
        noise: float = Field(0.5, ge=0, le=1000, allow_inf_nan=False)
        seed: Seed = 0

    def load(self) -> PairedData:
        """The cohort, after checking that it and the split parts preparation copies it into (about
        twice its matrices) fit the memory available now (one line otherwise, nothing allocated)."""
        p = self.params
        assert isinstance(p, SyntheticSource.Params)
        return make_synthetic(**p.model_dump(), copies=2)  # checks the memory, split parts included


class FilesSource(DataSource):
    """Paired matrix files. Relative paths are looked up under ``root``, then from the current
    folder (see :mod:`omibench.data.paths`).

    ``labels`` is a samples-in-rows table (first column = sample id unless ``label_id_column``);
    ``label_column`` picks the class column (default: the first other one). Label rows are matched
    by the same ``match`` rule as the data (see :func:`omibench.data.ids.read_labels`).
    """

    name = "files"

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")
        root: PathField = Path(".")
        b: PathField
        a: PathField
        labels: PathField | None = None
        label_column: str | None = None
        label_id_column: str | None = None  # the labels file's sample-id column (default: the first)
        orientation: Literal["auto", "samples_in_rows", "samples_in_columns"] = "auto"
        strict: bool = False
        match: Literal["id", "tcga_sample", "tcga_patient"] = "id"  # how sample ids pair across files
        duplicate_features: Literal["refuse", "suffix"] = "refuse"  # "suffix": keep repeats as RAB4A.1
        missing_hint: str | None = None  # said when a file is absent, e.g. where to download it

    @property
    def settings(self) -> FilesSource.Params:
        """``params``, typed."""
        assert isinstance(self.params, FilesSource.Params)
        return self.params

    def paths(self) -> tuple[Path, Path, Path | None]:
        """The B, A and label files, resolved by the rule of :mod:`omibench.data.paths`."""
        p = self.settings
        return resolve(p.b, p.root), resolve(p.a, p.root), None if p.labels is None else resolve(p.labels, p.root)

    def load(self) -> PairedData:
        p = self.settings
        b_path, a_path, labels_path = self.paths()
        for path in (b_path, a_path, labels_path):
            if path is not None and not path.is_file() and p.missing_hint:
                raise DataError(f"{path}: file not found. {p.missing_hint}")
        data = read_paired_files(
            b_path,
            a_path,
            orientation=p.orientation,
            strict=p.strict,
            name=str(p.root),
            match=p.match,
            duplicate_features=p.duplicate_features,
        )
        if p.labels is None:
            return data
        labels = read_labels(
            labels_path or p.root / p.labels, p.label_column, data.sample_ids, p.match, p.label_id_column
        )
        return PairedData(
            b=data.b,
            a=data.a,
            sample_ids=data.sample_ids,
            b_features=data.b_features,
            a_features=data.a_features,
            labels=labels,
            name=data.name,
        )


def build_source(cls: type[DataSource], fields: Mapping[str, Any]) -> DataSource:
    """Validate the YAML ``data:`` fields (minus ``source``) against ``cls.Params``."""
    try:
        params = cls.Params(**fields)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(x) for x in err["loc"]) or "data"
        got = err.get("input")
        shown = f" (got {got!r})" if isinstance(got, (int, float, str)) and len(str(got)) <= 40 else ""
        raise ConfigError(f"data.{where}: {err['msg']}{shown} (data source {cls.name!r})") from None
    return cls(params)


@hookimpl
def omibench_register_datasets(register: Callable[[type], None]) -> None:
    from omibench.data.formats import AnnDataSource, MogonetSource

    for cls in (SyntheticSource, FilesSource, MogonetSource, AnnDataSource):
        register(cls)
