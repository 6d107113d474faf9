"""``split.group_by: auto`` (the default) groups TCGA patients only where a patient has several samples,
and otherwise draws exactly the ungrouped split; a patient shared across a given test list is counted."""

from __future__ import annotations

import gzip
import logging

import numpy as np
import pandas as pd
import pytest

from omibench.config import canonical_hash, load_config
from omibench.contract.registry import load_registry
from omibench.data.resampling import resolve_group_by, tcga_patient_groups
from omibench.run.preparation import for_split, prepare

from .conftest import small_experiment


def _cohort(root, ids: list[str], orientation: str = "rows") -> dict:
    """Paired files of ``ids`` with two labels; samples in rows (in memory) or Xena columns (streamed)."""
    rng = np.random.default_rng(3)
    b = pd.DataFrame(rng.random((len(ids), 12)), index=pd.Index(ids, name="id"), columns=[f"cg{i}" for i in range(12)])
    a = pd.DataFrame(
        rng.normal(size=(len(ids), 5)), index=pd.Index(ids, name="id"), columns=[f"g{i}" for i in range(5)]
    )
    pd.DataFrame({"id": ids, "type": [("x", "y")[i % 2] for i in range(len(ids))]}).to_csv(
        root / "lab.csv", index=False
    )
    block = {"source": "files", "root": str(root), "labels": "lab.csv", "label_column": "type"}
    if orientation == "rows":
        b.to_csv(root / "B.csv")
        a.to_csv(root / "A.csv")
        return {**block, "b": "B.csv", "a": "A.csv"}
    for name, frame in (("B.tsv.gz", b), ("A.tsv.gz", a)):
        with gzip.open(root / name, "wt") as fh:
            frame.T.to_csv(fh, sep="\t", index_label="id")
    return {**block, "b": "B.tsv.gz", "a": "A.tsv.gz", "orientation": "samples_in_columns", "match": "tcga_sample"}


def _prepare(write_config, root, data: dict, **split):
    body = small_experiment(data=data, translators=[{"name": "ridge"}], controls=False)
    body["split"] = {**body["split"], **split}
    return prepare(load_config(write_config(body)), load_registry(), root / "cache")


UNIQUE = [f"TCGA-AB-{i:04d}-01A" for i in range(60)]
# twelve patients with a tumour (01A) and a normal (11A) sample
SHARED = UNIQUE[:48] + [f"TCGA-AB-{i:04d}-11A" for i in range(12)]


@pytest.mark.parametrize(
    "split", [{}, {"scheme": "repeated_holdout", "repeats": 3}, {"scheme": "kfold", "folds": 3}], ids=str
)
def test_auto_without_shared_patients_draws_exactly_the_ungrouped_split(write_config, tmp_path, split):
    data = _cohort(tmp_path, UNIQUE)
    auto = _prepare(write_config, tmp_path, data, **split)
    off = _prepare(write_config, tmp_path, data, group_by="none", **split)
    null = _prepare(write_config, tmp_path, data, group_by=None, **split)
    assert auto.grouped_by is None and off.grouped_by is None
    assert [s.hash for s in auto.splits] == [s.hash for s in off.splits] == [s.hash for s in null.splits]
    assert auto.config_hash == off.config_hash == null.config_hash
    assert [p.key for p in auto.translators] == [p.key for p in off.translators]
    assert auto.leaky_test_samples == ()


def test_the_hash_of_a_config_without_group_by_is_unchanged(write_config):
    cfg = load_config(write_config(small_experiment()))
    assert cfg.split.group_by == "auto" and "group_by" not in cfg.semantic_dict()["split"]
    patient = load_config(write_config(small_experiment()), ["split.group_by=patient"])
    assert canonical_hash(patient.semantic_dict()) != canonical_hash(cfg.semantic_dict())


@pytest.mark.parametrize("split", [{}, {"scheme": "kfold", "folds": 3}], ids=str)
def test_auto_with_tumour_and_normal_samples_keeps_each_patient_on_one_side(write_config, tmp_path, split):
    data = _cohort(tmp_path, SHARED)
    auto = _prepare(write_config, tmp_path, data, **split)
    off = _prepare(write_config, tmp_path, data, group_by="none", **split)
    assert auto.grouped_by == "patient" and off.grouped_by is None
    for i, s in enumerate(auto.splits):
        parts = [set(tcga_patient_groups(list(getattr(s, p))).tolist()) for p in ("train", "val", "test")]
        assert not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])
        assert for_split(auto, i).split.hash == s.hash
    assert auto.leaky_test_samples == ()
    # the ungrouped split of these samples does put patients on both sides (what auto is for)
    assert [s.hash for s in auto.splits] != [s.hash for s in off.splits]


def test_resolve_group_by():
    assert resolve_group_by("auto", np.array(["S1", "S2"])) is None
    assert resolve_group_by("auto", np.array(UNIQUE)) is None
    assert resolve_group_by("auto", np.array(SHARED)) == "patient"
    assert resolve_group_by("patient", np.array(UNIQUE)) == "patient"
    assert resolve_group_by("none", np.array(SHARED)) is None


@pytest.mark.parametrize("orientation", ["rows", "xena"])
def test_a_given_test_list_that_leaks_patients_is_counted_and_warned(write_config, tmp_path, caplog, orientation):
    data = _cohort(tmp_path, SHARED, orientation)
    # test: tumours of patients 0-5 (their normals stay on the training side) and of patients 20-25
    listed = [f"TCGA-AB-{i:04d}-01A" for i in [*range(6), *range(20, 26)]]
    (tmp_path / "test.txt").write_text("\n".join(listed) + "\n")
    caplog.set_level(logging.WARNING)
    got = _prepare(write_config, tmp_path, data, test_ids="test.txt")
    # streamed Xena files are paired by sample key (TCGA-AB-0000-01), in-memory ones by the full id
    assert {len(s) for s in got.split.test} == {15 if orientation == "xena" else 16}
    assert got.leaky_test_samples is not None and len(got.leaky_test_samples) == 6
    assert {s[:12] for s in got.leaky_test_samples} == {f"TCGA-AB-{i:04d}" for i in range(6)}
    notes = [n for n in got.split.notes if "share a TCGA patient" in n]
    assert len(notes) == 1 and notes[0].startswith("6 of 12 test samples of the given test list")
    warned = [r.getMessage() for r in caplog.records if "share a TCGA patient" in r.getMessage()]
    assert len(warned) == 1 and "e.g. TCGA-AB-0000-01" in warned[0]
    # validation never shares a patient with training where grouping can act (in memory)
    if orientation == "rows":
        s = got.split
        assert not set(tcga_patient_groups(list(s.val)).tolist()) & set(tcga_patient_groups(list(s.train)).tolist())


def test_the_leak_count_has_a_tag():
    from omibench.store.schema import Tags

    tags = Tags(split_leaky_test_samples=6).to_dict()
    assert tags == {"omibench.split_leaky_test_samples": "6"}
    assert Tags.from_dict(tags).split_leaky_test_samples == 6


def test_the_leak_is_recorded_on_the_run(write_config, tmp_path):
    from omibench import api

    data = _cohort(tmp_path, SHARED)
    (tmp_path / "test.txt").write_text("\n".join(f"TCGA-AB-{i:04d}-01A" for i in range(10)) + "\n")
    body = small_experiment(data=data, translators=[{"name": "ridge"}])
    body["split"] = {**body["split"], "test_ids": "test.txt"}
    res = api.run(write_config(body), store=tmp_path / "store", executor="inline")
    run = res.store.get_run(res.outcomes[0].run_id)
    assert run.tags.split_notes is not None and "10 of 10 test samples of the given test list" in run.tags.split_notes
