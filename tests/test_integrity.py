"""Data integrity: duplicate ids anywhere in a file, truncated .gz, non-UTF-8 and empty files."""

import gzip

import numpy as np
import pandas as pd
import pytest

from omibench import DataError
from omibench.data.tabular import read_paired_files, read_table


def _frames():
    rng = np.random.default_rng(0)
    ids = [f"S{i:03d}" for i in range(8)]
    b = pd.DataFrame(rng.random((8, 5)), index=ids, columns=[f"cg{i}" for i in range(5)])
    a = pd.DataFrame(rng.random((8, 3)), index=ids, columns=[f"g{i}" for i in range(3)])
    return b, a


def test_duplicated_header_id_is_refused_not_renamed(tmp_path):
    b, a = _frames()
    xena = b.T
    xena.columns = list(xena.columns[:-1]) + ["S004"]  # S004 twice in the header (pandas would say S004.1)
    xena.to_csv(tmp_path / "B.tsv", sep="\t")
    a.T.to_csv(tmp_path / "A.tsv", sep="\t")
    with pytest.raises(DataError, match=r"B.tsv: duplicate sample id 'S004'") as info:
        read_paired_files(tmp_path / "B.tsv", tmp_path / "A.tsv")
    assert "\n" not in str(info.value)


def test_duplicated_feature_in_first_column_is_refused(tmp_path):
    b, a = _frames()
    xena = b.T
    xena.index = ["cg0", "cg1", "cg2", "cg3", "cg1"]
    xena.to_csv(tmp_path / "B.tsv", sep="\t")
    a.T.to_csv(tmp_path / "A.tsv", sep="\t")
    with pytest.raises(DataError, match=r"B.tsv: duplicate feature id 'cg1'.*duplicate_features: suffix"):
        read_paired_files(tmp_path / "B.tsv", tmp_path / "A.tsv")


def test_repeated_feature_names_kept_with_a_suffix_on_request(tmp_path, caplog):
    """Gene symbols repeat in real exports (TCGA LAML: RAB4A twice); ``duplicate_features: suffix``
    keeps both columns, in either layout, and says so."""
    b, a = _frames()
    a.columns = ["g0", "g1", "g0"]
    b.to_csv(tmp_path / "B.csv")
    a.to_csv(tmp_path / "A.csv")
    with pytest.raises(DataError, match=r"A.csv: duplicate feature id 'g0'"):
        read_paired_files(tmp_path / "B.csv", tmp_path / "A.csv")
    data = read_paired_files(tmp_path / "B.csv", tmp_path / "A.csv", duplicate_features="suffix")
    assert list(data.a_features) == ["g0", "g1", "g0.1"]
    np.testing.assert_allclose(data.a[:, 2], a.iloc[:, 2].to_numpy(np.float32))
    assert "1 feature name(s) repeat" in caplog.text
    a.T.to_csv(tmp_path / "A.tsv", sep="\t")  # samples in columns: the repeats are in the first column
    data = read_paired_files(tmp_path / "B.csv", tmp_path / "A.tsv", duplicate_features="suffix")
    assert list(data.a_features) == ["g0", "g1", "g0.1"]


def test_truncated_gz_empty_and_non_utf8_files_are_one_line(tmp_path):
    b, _ = _frames()
    with gzip.open(tmp_path / "full.tsv.gz", "wt") as fh:
        b.T.to_csv(fh, sep="\t")
    raw = (tmp_path / "full.tsv.gz").read_bytes()
    (tmp_path / "cut.tsv.gz").write_bytes(raw[: len(raw) // 2])
    for name, message in (("cut.tsv.gz", "truncated or corrupt"),):
        with pytest.raises(DataError, match=f"{name}: .*{message}") as info:
            read_table(tmp_path / name, numeric=True)
        assert "\n" not in str(info.value)
    (tmp_path / "empty.tsv").write_text("")
    with pytest.raises(DataError, match="empty.tsv: "):
        read_table(tmp_path / "empty.tsv")
    (tmp_path / "latin.tsv").write_bytes("id\tcaf\xe9\ncg1\t0.5\n".encode("latin-1"))
    with pytest.raises(DataError, match="latin.tsv: not UTF-8"):
        read_table(tmp_path / "latin.tsv")


def test_repeated_gene_names_in_a_header_do_not_break_choosing_the_reader(tmp_path):
    """Samples in rows with a repeated gene name in the header (the TCGA LAML layout): deciding
    whether the files can be streamed looks at the headers without judging them as sample ids."""
    from omibench.data.sources import FilesSource
    from omibench.data.xena import can_stream

    b, a = _frames()
    ids = [f"TCGA-AB-{2800 + i}" for i in range(len(b))]
    b.index, a.index = ids, ids
    a.columns = ["g0", "g1", "g0"]
    b.to_csv(tmp_path / "B.csv")
    a.to_csv(tmp_path / "A.csv")
    params = {"root": tmp_path, "b": "B.csv", "a": "A.csv", "match": "tcga_patient"}
    assert can_stream(FilesSource(FilesSource.Params(**params))) is False
    data = FilesSource(FilesSource.Params(**params, duplicate_features="suffix")).load()
    assert data.a.shape == (8, 3)
