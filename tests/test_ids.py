"""Ids as people have them: id lists, second vials, phenotype tables, non-TCGA columns, paths."""

import gzip

import numpy as np
import pandas as pd
import pytest
import yaml

from omibench import DataError
from omibench.config import load_config
from omibench.contract.registry import load_registry
from omibench.data.ids import cut, listed_keys, pair_ids, read_id_list, read_labels
from omibench.run.preparation import prepare

BARCODES = [f"TCGA-AB-{i:04d}-01A" for i in range(20)]


def test_omitrans_id_file_crlf_no_header_no_final_newline(tmp_path):
    path = tmp_path / "sample_id_testset.tsv"
    path.write_bytes("\r\n".join(BARCODES[:5]).encode())  # OmiTrans: CRLF, no header, no final line break
    ids = read_id_list(path, "tcga_sample", {cut(b, "tcga_sample") for b in BARCODES})
    assert ids == BARCODES[:5] and all(len(i) == 16 for i in ids)
    keys, notes = listed_keys(ids, "tcga_sample", {cut(b, "tcga_sample"): [b] for b in BARCODES}, path)
    assert keys == [b[:15] for b in BARCODES[:5]] and notes == []


def test_id_file_with_header_lf_and_final_newline(tmp_path):
    path = tmp_path / "ids.txt"
    path.write_text("sample\n" + "\n".join(BARCODES[:3]) + "\n")
    assert read_id_list(path, "tcga_sample", {cut(b, "tcga_sample") for b in BARCODES}) == BARCODES[:3]
    assert read_id_list(path, "tcga_sample") == BARCODES[:3]  # without the data: not a barcode, then barcodes
    plain = tmp_path / "plain.csv"
    plain.write_text("id,comment\nS1,x\nS2,y\n")
    assert read_id_list(plain, "id", {"S1", "S2", "S3"}) == ["S1", "S2"]
    (tmp_path / "empty.txt").write_text("\n\n")
    with pytest.raises(DataError, match="empty.txt: the id list is empty"):
        read_id_list(tmp_path / "empty.txt")


def test_second_vial_split_across_parts_is_reported_and_taken_whole():
    b_ids = ["TCGA-AB-0001-01A", "TCGA-AB-0001-01B", "TCGA-AB-0002-01A", "TCGA-AB-0003-01A"]
    a_ids = ["TCGA-AB-0001-01A-11R", "TCGA-AB-0002-01A-11R", "TCGA-AB-0003-01A-11R"]
    pairing = pair_ids(b_ids, a_ids, "tcga_sample", "B", "A")
    assert pairing.keys == ["TCGA-AB-0001-01", "TCGA-AB-0002-01", "TCGA-AB-0003-01"]
    assert pairing.b_index.tolist() == [0, 2, 3]  # the first vial is read
    assert any("share a barcode" in n for n in pairing.notes)
    keys, notes = listed_keys(["TCGA-AB-0001-01B", "TCGA-AB-0002-01A"], "tcga_sample", pairing.parts, "ids.tsv")
    assert keys == ["TCGA-AB-0001-01", "TCGA-AB-0002-01"]
    assert len(notes) == 1 and "1 samples have parts on both sides" in notes[0] and "TCGA-AB-0001-01" in notes[0]
    both, notes = listed_keys(["TCGA-AB-0001-01A", "TCGA-AB-0001-01B"], "tcga_sample", pairing.parts, "ids.tsv")
    assert both == ["TCGA-AB-0001-01"]  # an id matching two vials takes the sample (both vials) to test
    assert notes == []  # every part of the sample is listed (the A aliquot by its vial prefix)
    with pytest.raises(DataError, match="1 test ids are not samples"):
        listed_keys(["TCGA-ZZ-9999-01A"], "tcga_sample", pairing.parts, "ids.tsv")


def test_non_tcga_columns_first_do_not_decide_how_ids_are_read():
    b_ids = ["TARGET-20-PABC-09A", "TARGET-20-PABD-09A"] + BARCODES
    a_ids = ["TARGET-20-PABC-09A-01R"] + [b + "-11R-A00Z-07" for b in BARCODES[:10]]
    pairing = pair_ids(b_ids, a_ids, "tcga_sample", "B", "A")
    assert len(pairing.keys) == 10
    assert sum("have no match" in n for n in pairing.notes) == 2
    assert any("not TCGA barcodes" in n for n in pairing.notes)
    with pytest.raises(DataError, match="duplicate sample id 'TCGA-AB-0000-01A'"):
        pair_ids(BARCODES + BARCODES[:1], BARCODES, "tcga_sample", "B", "A")


def test_phenotype_table_with_unpaired_and_duplicate_rows(tmp_path, caplog):
    caplog.set_level("INFO")
    keys = np.array([cut(b, "tcga_sample") for b in BARCODES[:4]], dtype=object)
    pheno = pd.DataFrame(
        {
            "sample": [
                BARCODES[0],
                BARCODES[0].replace("01A", "01B"),
                BARCODES[1],
                BARCODES[2],
                "TCGA-ZZ-0001-01A",
                "TARGET-20-PABC-09A",
                BARCODES[1],
            ],
            "cancer type abbreviation": ["BRCA", "BRCA", "LUAD", None, "KIRC", "AML", "LUAD"],
        }
    )
    pheno.to_csv(tmp_path / "pheno.tsv", sep="\t", index=False)
    labels = read_labels(tmp_path / "pheno.tsv", "cancer type abbreviation", keys, "tcga_sample")
    assert labels.tolist() == ["BRCA", "LUAD", None, None]
    assert "2 label rows name samples outside the paired data" in caplog.text
    pheno.loc[1, "cancer type abbreviation"] = "LUSC"
    pheno.to_csv(tmp_path / "bad.tsv", sep="\t", index=False)
    with pytest.raises(DataError, match=r"rows 'TCGA-AB-0000-01A' and 'TCGA-AB-0000-01B' .*disagree"):
        read_labels(tmp_path / "bad.tsv", "cancer type abbreviation", keys, "tcga_sample")


def _xena(path, frame: pd.DataFrame) -> None:
    with gzip.open(path, "wt") as fh:
        frame.T.to_csv(fh, sep="\t", na_rep="NA", index_label="sample")


def test_set_data_root_alone_finds_every_file(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    folder = tmp_path / "somewhere"
    folder.mkdir()
    b = pd.DataFrame(rng.random((20, 8)), index=BARCODES, columns=[f"cg{i:08d}" for i in range(8)])
    a = pd.DataFrame(
        rng.normal(5, 1, (20, 5)), index=[x + "-11R" for x in BARCODES], columns=[f"ENSG{i:011d}.1" for i in range(5)]
    )
    _xena(folder / "B.tsv.gz", b)
    _xena(folder / "A.tsv.gz", a)
    (folder / "sample_id_testset.tsv").write_bytes("\r\n".join(BARCODES[:4]).encode())
    (folder / "keep.txt").write_text("\n".join(b.columns[:6]))
    body = {
        "name": "tcga",
        "data": {
            "source": "files",
            "root": "data/tcga",
            "b": "B.tsv.gz",
            "a": "A.tsv.gz",
            "orientation": "samples_in_columns",
            "match": "tcga_sample",
        },
        "split": {"seed": 0, "val_fraction": 0.2, "test_ids": "sample_id_testset.tsv"},
        "preprocess": {"b": [{"keep_features": "keep.txt"}]},
        "translators": [{"name": "linear_regression"}],
        "downstream": {"enabled": False},
    }
    cfg_path = tmp_path / "tcga.yaml"
    cfg_path.write_text(yaml.safe_dump(body))
    monkeypatch.chdir(tmp_path)
    prepared = prepare(load_config(cfg_path, [f"data.root={folder}"]), load_registry())
    assert list(prepared.split.test) == [x[:15] for x in BARCODES[:4]]
    assert prepared.train.b.shape[1] == 6
