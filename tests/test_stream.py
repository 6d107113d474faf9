"""Headers first, then values streamed in row chunks: equal to the in-memory pipeline."""

import gzip

import numpy as np
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from omibench.cli import cli
from omibench.config import load_config
from omibench.contract.registry import load_registry
from omibench.data import Preprocessor
from omibench.data.paired import PairedData
from omibench.data.steps import build_steps
from omibench.data.stream import read_header, stream_matrix
from omibench.run.preparation import prepare

STEPS_B = [{"max_missing": 0.1}, {"variance": {"min": 0.05}}, {"variance": {"top_k": 15}}]
STEPS_A = [{"transform": "log1p"}, {"variance": {"min": 0.2}}]


def _xena(path, frame: pd.DataFrame) -> None:
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "wt") as fh:
        frame.T.to_csv(fh, sep="\t", na_rep="NA", index_label="Composite Element REF", float_format="%.4g")


@pytest.fixture
def cohort(tmp_path):
    """B and A in the Xena layout: TARGET- columns first, a second vial, NA cells, unpaired samples."""
    rng = np.random.default_rng(5)
    tcga = [f"TCGA-AB-{i:04d}-01A" for i in range(40)]
    b_cols = ["TARGET-20-PABC-09A", "TARGET-20-PABD-09A"] + tcga[:38] + ["TCGA-AB-0003-01B"]
    a_cols = ["TARGET-20-PABC-09A-01R"] + [c + "-11R-A00Z-07" for c in tcga[2:]]
    b = pd.DataFrame(
        rng.beta(0.5, 0.5, (len(b_cols), 60)) * rng.random(60), index=b_cols, columns=[f"cg{i:08d}" for i in range(60)]
    )
    b.iloc[rng.random(b.shape) < 0.05] = np.nan
    b.iloc[:, :5] = np.where(rng.random((len(b_cols), 5)) < 0.3, np.nan, b.iloc[:, :5])  # many NA: filtered
    a = pd.DataFrame(
        np.exp(rng.normal(1, rng.random(25) * 2, (len(a_cols), 25))),
        index=a_cols,
        columns=[f"ENSG{i:011d}.2" for i in range(25)],
    )
    b = b.sample(frac=1.0, random_state=1)  # B's columns in another order than A's: read in file order, re-paired
    _xena(tmp_path / "B.tsv.gz", b)
    _xena(tmp_path / "A.tsv.gz", a)
    pd.DataFrame(
        {
            "sample": tcga + ["TCGA-AB-0003-01B", "TARGET-20-PABC-09A"],
            "type": [("LUAD", "BRCA")[i % 2] for i in range(40)] + ["BRCA", "AML"],
        }
    ).to_csv(tmp_path / "pheno.tsv", sep="\t", index=False)
    (tmp_path / "test_ids.tsv").write_bytes("\r\n".join(tcga[2:10]).encode())
    return tmp_path


def _config(root, **split):
    body = {
        "name": "x",
        "data": {
            "source": "files",
            "root": str(root),
            "b": "B.tsv.gz",
            "a": "A.tsv.gz",
            "orientation": "samples_in_columns",
            "match": "tcga_sample",
            "labels": "pheno.tsv",
            "label_column": "type",
        },
        "split": {"seed": 1, "val_fraction": 0.2, "test_ids": "test_ids.tsv", **split},
        "preprocess": {"impute": "mean", "b": STEPS_B, "a": STEPS_A},
        "translators": [{"name": "linear_regression"}],
        "downstream": {"enabled": False},
    }
    path = root / "exp.yaml"
    path.write_text(yaml.safe_dump(body))
    return path


def test_streamed_filter_equals_in_memory_filter(cohort):
    prepared = prepare(load_config(_config(cohort)), load_registry())
    assert prepared.preprocessor is not None and prepared.preprocessor.b_stream  # went through the stream
    # the in-memory pipeline on the same paired data and split
    from omibench.data.tabular import read_paired_files

    data = read_paired_files(
        cohort / "B.tsv.gz", cohort / "A.tsv.gz", match="tcga_sample", orientation="samples_in_columns"
    )
    where = {s: i for i, s in enumerate(data.sample_ids.tolist())}
    parts = {p: data.subset([where[s] for s in getattr(prepared.split, p)]) for p in ("train", "val", "test")}
    pre = Preprocessor("mean", build_steps(STEPS_B, "b"), build_steps(STEPS_A, "a")).fit(parts["train"])
    for name in ("train", "val", "test"):
        want, got = pre.transform(parts[name], name), getattr(prepared, name)
        assert list(got.b_features) == list(want.b_features) and list(got.a_features) == list(want.a_features)
        np.testing.assert_array_equal(got.b, want.b)
        np.testing.assert_array_equal(got.a, want.a)
    assert 0 < prepared.train.b.shape[1] < 60 and prepared.train.b.dtype == np.float32
    assert prepared.test.n_samples == 8 and prepared.train.labels is not None
    # the streamed preprocessing applies to raw new input like the in-memory one
    raw = data.b[:3]
    np.testing.assert_array_equal(prepared.preprocessor.transform_b_only(raw)[0], pre.transform_b_only(raw)[0])


def test_stream_block_size_does_not_change_the_result(cohort):
    header = read_header(cohort / "B.tsv.gz")
    cols = np.arange(len(header.columns))
    small = stream_matrix(header, cols, cols[:20], build_steps(STEPS_B[:2], "b"), "b", block_size=1 << 12)
    large = stream_matrix(header, cols, cols[:20], build_steps(STEPS_B[:2], "b"), "b")
    assert small.digest == large.digest and list(small.features) == list(large.features)
    assert len(small.chunks) > len(large.chunks)
    np.testing.assert_array_equal(np.concatenate(small.chunks, axis=1), np.concatenate(large.chunks, axis=1))


def test_cache_holds_prepared_parts_and_is_written_only_after_validation(cohort, tmp_path):
    cache = tmp_path / "cache"
    bad = load_config(_config(cohort), ["downstream.enabled=true", "data.label_column=nope"])
    with pytest.raises(Exception, match="no label column 'nope'"):
        prepare(bad, load_registry(), cache)
    assert not cache.exists() or not any(cache.iterdir())
    pd.DataFrame({"sample": [f"TCGA-AB-{i:04d}-01A" for i in range(40)], "one": "x"}).to_csv(
        cohort / "one.tsv", sep="\t", index=False
    )
    late = load_config(_config(cohort), ["downstream.enabled=true", "data.labels=one.tsv", "data.label_column=one"])
    with pytest.raises(Exception, match="labels of fewer than two classes"):  # found after the matrices were read
        prepare(late, load_registry(), cache)
    assert not cache.exists() or not any(cache.iterdir())
    good = load_config(_config(cohort))
    first = prepare(good, load_registry(), cache)
    (entry,) = list(cache.iterdir())
    assert (entry / "train_b.npy").is_file() and (entry / "preprocess" / "preprocess.json").is_file()
    again = prepare(good, load_registry(), cache)
    assert again.dataset_hash == first.dataset_hash and again.split.hash == first.split.hash
    np.testing.assert_array_equal(again.test.b, first.test.b)
    assert again.split.notes == first.split.notes


def test_truncated_gz_and_bad_cell_through_the_cli_are_one_line(cohort):
    raw = (cohort / "B.tsv.gz").read_bytes()
    (cohort / "B.tsv.gz").write_bytes(raw[: len(raw) * 2 // 3])
    result = CliRunner().invoke(cli, ["data", "prepare", str(_config(cohort))])
    assert result.exit_code == 2, result.output
    assert result.output.strip().count("\n") == 0 and "B.tsv.gz" in result.output and "truncated" in result.output
    frame = pd.read_csv(cohort / "A.tsv.gz", sep="\t", index_col=0).astype(object)
    frame.iloc[3, 4] = "abc"
    frame.to_csv(cohort / "A.tsv.gz", sep="\t")
    (cohort / "B.tsv.gz").write_bytes(raw)
    result = CliRunner().invoke(cli, ["data", "prepare", str(_config(cohort))])
    assert result.exit_code == 2 and "non-numeric value 'abc'" in result.output and frame.columns[4] in result.output


def test_a_split_across_vials_is_noted_on_the_split(cohort):
    (cohort / "test_ids.tsv").write_bytes(b"TCGA-AB-0003-01B\r\nTCGA-AB-0004-01A\r\nTCGA-AB-0005-01A")
    prepared = prepare(load_config(_config(cohort)), load_registry())
    assert "TCGA-AB-0003-01" in prepared.split.test
    assert len(prepared.split.notes) >= 1 and any("parts on both sides" in n for n in prepared.split.notes)


def test_paired_data_shape_contract():
    from omibench import DataError

    with pytest.raises(DataError, match="expected"):
        PairedData(
            b=np.zeros((2, 3)),
            a=np.zeros((3, 2)),
            sample_ids=np.array(["a", "b"]),
            b_features=np.array(["x", "y", "z"]),
            a_features=np.array(["p", "q"]),
        )


def test_run_and_translate_on_streamed_xena_files(cohort, tmp_path):
    """The streamed preprocessing is saved beside the model as data and applied by translate to raw input."""
    from omibench.data.tabular import read_table

    store = tmp_path / "store"
    runner = CliRunner()
    # controls off: a class_mean model cannot translate methylation alone, and this test picks any model
    result = runner.invoke(cli, ["run", str(_config(cohort)), "--store", str(store), "--set", "controls=false"])
    assert result.exit_code == 0, result.output
    models = list(store.rglob("model/preprocess.json"))
    assert models and not list(store.rglob("*.pkl"))
    raw = read_table(cohort / "B.tsv.gz", numeric=True).iloc[:, :5]  # features x samples, as the files are
    raw.to_csv(tmp_path / "new.tsv", sep="\t")
    result = runner.invoke(
        cli,
        [
            "translate",
            str(models[0].parent),
            "--input",
            str(tmp_path / "new.tsv"),
            "--output",
            str(tmp_path / "pred.tsv"),
        ],
    )
    assert result.exit_code == 0, result.output
    pred = pd.read_csv(tmp_path / "pred.tsv", sep="\t", index_col=0)
    assert pred.shape[0] == 5 and np.isfinite(pred.to_numpy()).all()
