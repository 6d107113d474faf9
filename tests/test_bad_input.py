"""Bad input, by class: each is refused in one line (``error: ...``), exit status 2, before anything
is written (no store, no run, no output file).

1. values checked by the constraints the config model declares (seeds, counts, sizes, fractions);
2. sizes estimated before allocating data from declared sizes (the synthetic source);
3. output paths checked before any work (translate, report, tune --export, the store);
4. YAML parse hazards (deep nesting, alias bombs and cycles, documents that are not one mapping).
"""

from __future__ import annotations

import sys
import types
import typing
from pathlib import Path

import pytest
from click.testing import CliRunner
from pydantic import BaseModel

from omibench.cli import cli
from omibench.config import ExperimentConfig, load_config
from omibench.errors import ConfigError, DataError

from .conftest import small_experiment


def refused(*args: object) -> str:
    """Run ``omibench ARGS``; assert exit 2 and one ``error:`` line (the last, no traceback); return it."""
    result = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    errors = [ln for ln in lines if not ln.startswith("omibench: ")]  # progress lines may come first
    assert len(errors) == 1 and errors[0] == lines[-1] and errors[0].startswith("error: "), result.stderr
    return errors[0]


def nothing_written(store: Path) -> None:
    assert not store.exists(), sorted(str(p) for p in store.rglob("*"))


# --- 1. declared constraints ---------------------------------------------------------------------

CONSTRAINED = [
    ("seeds=[-1]", "seeds.0"),
    ("seeds=[4294967296]", "seeds.0"),
    ("split.seed=-3", "split.seed"),
    ("downstream.seed=-1", "downstream.seed"),
    ("data.seed=-1", "data.seed"),
    ("data.noise=.inf", "data.noise"),
    ("split.val_fraction=.nan", "split.val_fraction"),
    ("split.test_fraction=1.5", "split.test_fraction"),
    ("split={val_fraction: 0.5, test_fraction: 0.5}", "split"),
    ("split.repeats=1000000", "split.repeats"),
    ("split={scheme: kfold, repeats: 1000, folds: 1000}", "split"),
    ("timeout_s=.inf", "timeout_s"),
    ("timeout_s=-5", "timeout_s"),
    ("n_jobs=0", "n_jobs"),
    ("downstream.lr=0", "downstream.lr"),
    ("downstream.epochs=[1, 2, -3]", "downstream.epochs"),
    ("executor.cpu_workers=0", "executor.cpu_workers"),
    ("name=" + "x" * 300, "name"),
    ("translators.0.name=''", "translators.0.name"),
    ("preprocess.b=[{variance: {top_k: 0}}]", "preprocess.b.0.variance.top_k"),
    ("preprocess.b=[{variance: {min: .nan}}]", "preprocess.b.0.variance.min"),
    ("preprocess.a=[{max_missing: -0.1}]", "preprocess.a.0.max_missing"),
    ("data.n_samples=1000000000", "data.n_samples"),
    ("split.test_ids=''", "split.test_ids"),
    ('split.test_ids="ids\\0.txt"', "split.test_ids"),
    ("tracking.store=' '", "tracking.store"),
    ("data={source: files, b: '', a: a.csv}", "data.b"),
]


@pytest.mark.parametrize(("override", "field"), CONSTRAINED, ids=[c[1] + ":" + c[0][-12:] for c in CONSTRAINED])
def test_out_of_bounds_values_are_refused_naming_the_field(override, field, write_config, tmp_path):
    store = tmp_path / "store"
    line = refused("run", write_config(small_experiment()), "--store", store, "--set", override)
    assert field in line
    nothing_written(store)


def _numeric_fields(model: type[BaseModel], prefix: str = "") -> typing.Iterator[tuple[str, typing.Any, list]]:
    for name, info in model.model_fields.items():
        ann = info.annotation
        union = typing.get_origin(ann) in (typing.Union, types.UnionType)
        args = [a for a in typing.get_args(ann) if a is not type(None)] if union else [ann]
        for arg in args:
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                yield from _numeric_fields(arg, f"{prefix}{name}.")
            elif arg in (int, float):
                yield f"{prefix}{name}", arg, info.metadata
            elif typing.get_origin(arg) is list:
                (item,) = typing.get_args(arg)
                meta = list(getattr(item, "__metadata__", ()))
                base = typing.get_args(item)[0] if meta else item
                if base in (int, float):
                    yield f"{prefix}{name}[]", base, [m for f in meta for m in getattr(f, "metadata", [f])]


# list fields whose items a validator checks instead of a declared bound
CHECKED_BY_VALIDATOR = {"downstream.epochs[]"}


def test_every_numeric_field_of_the_config_declares_a_lower_bound():
    """The class, not the examples: a field added later without a bound fails here."""
    unbounded = [
        name
        for name, _, meta in _numeric_fields(ExperimentConfig)
        if name not in CHECKED_BY_VALIDATOR and not any(hasattr(m, "ge") or hasattr(m, "gt") for m in meta)
    ]
    assert not unbounded, f"numeric config fields without a declared lower bound: {unbounded}"
    assert ExperimentConfig.model_config.get("allow_inf_nan") is False  # no float field takes inf / nan


# --- 2. sizes estimated before allocation ------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "available"),
    [
        ({"n_samples": 100_000, "n_cpgs": 500_000}, None),  # ~400 GiB: more than any test machine has
        ({"n_samples": 2000, "n_cpgs": 3000, "n_genes": 1000}, 10 * 2**20),  # 10 MiB available
        ({"n_samples": 500, "n_cpgs": 200, "n_genes": 100}, 2**20),
    ],
    ids=["paper-beyond", "small-machine", "tiny-machine"],
)
@pytest.mark.parametrize("command", ["run", "data-prepare"])
def test_a_cohort_larger_than_memory_is_refused_before_allocating(
    data, available, command, write_config, tmp_path, monkeypatch
):
    import omibench.data.memory as memory

    if available is not None:
        monkeypatch.setattr(memory, "available_bytes", lambda: available)
    body = small_experiment(data={"source": "synthetic", **data})
    store = tmp_path / "store"
    args = ["data", "prepare"] if command == "data-prepare" else ["run"]
    line = refused(*args, write_config(body), "--store", store)
    assert "GiB" in line and "data.n_samples" in line
    nothing_written(store)


def test_outer_splits_are_sized_before_they_are_drawn(tiny, monkeypatch):
    import omibench.data.memory as memory
    from omibench.data.resampling import outer_splits

    monkeypatch.setattr(memory, "available_bytes", lambda: 100_000)
    with pytest.raises(DataError, match="split.repeats"):
        outer_splits(tiny, "kfold", repeats=100, folds=10)
    assert len(outer_splits(tiny, "kfold", repeats=2, folds=5)) == 10  # 10 x 80 samples fit


def test_make_synthetic_estimates_before_it_allocates(monkeypatch):
    import omibench.data.memory as memory
    from omibench.data.synthetic import make_synthetic, synthetic_bytes

    monkeypatch.setattr(memory, "available_bytes", lambda: 2**20)
    with pytest.raises(DataError, match="GiB"):
        make_synthetic(n_samples=1000, n_cpgs=1000, n_genes=100)
    assert synthetic_bytes(100_000, 500_000, 200) > 186 * 2**30  # the 186 GiB the example tried
    make_synthetic(n_samples=20, n_cpgs=10, n_genes=5)  # small enough: goes ahead


# --- 3. output paths checked before work ---------------------------------------------------------


def _bad_outputs(tmp_path: Path) -> dict[str, Path]:
    a_file = tmp_path / "a_file.txt"
    a_file.write_text("x")
    (tmp_path / "a_folder.csv").mkdir()  # a folder, named like an output file
    bad = {"under-a-file": a_file / "sub" / "out.csv", "a-folder": tmp_path / "a_folder.csv"}
    if sys.platform.startswith("linux"):
        bad["unwritable"] = Path("/proc/omibench-test/out.csv")  # not writable, even by root
    return bad


@pytest.mark.parametrize("case", ["under-a-file", "a-folder", "unwritable"])
def test_translate_output_is_checked_before_the_model_is_loaded(case, tmp_path):
    bad = _bad_outputs(tmp_path)
    if case not in bad:
        pytest.skip("no unwritable folder on this platform")
    store = tmp_path / "store"
    before = sorted(tmp_path.rglob("*"))
    # the model id does not exist: the output is judged first, so nothing is loaded or fitted
    line = refused("translate", "no-such-run", "--input", tmp_path / "x.csv", "--output", bad[case], "--store", store)
    assert "--output" in line and str(bad[case]) in line
    assert sorted(tmp_path.rglob("*")) == before


@pytest.mark.parametrize("case", ["under-a-file", "a-file", "unwritable"])
def test_report_folder_and_tune_files_are_checked_before_work(case, write_config, tmp_path):
    bad = _bad_outputs(tmp_path)
    bad["a-file"] = tmp_path / "a_file.txt"
    if case not in bad:
        pytest.skip("no unwritable folder on this platform")
    store = tmp_path / "store"
    before = sorted(tmp_path.rglob("*"))
    line = refused("report", "t", "--store", store, "--out", bad[case])
    assert "--out" in line
    cfg = write_config(small_experiment(translators=[{"name": "ridge"}]))
    before = sorted(tmp_path.rglob("*"))
    export = bad[case] / "tuned.yaml" if case == "a-file" else bad[case]
    line = refused("tune", cfg, "--translator", "ridge", "--trials", 1, "--store", store, "--export", export)
    assert "--export" in line
    line = refused("tune", cfg, "--translator", "ridge", "--trials", 1, "--store", store, "--storage", export)
    assert "--storage" in line  # the Optuna journal file
    assert sorted(tmp_path.rglob("*")) == before
    nothing_written(store)


def test_a_store_that_cannot_be_written_is_refused_before_work(write_config, tmp_path):
    a_file = tmp_path / "a_file.txt"
    a_file.write_text("x")
    cfg = write_config(small_experiment())
    for store in (a_file, a_file / "store"):
        assert "give --store a folder" in refused("run", cfg, "--store", store)
    if sys.platform.startswith("linux"):
        refused("run", cfg, "--store", "/proc/omibench-test-store")


# --- 4. YAML parse hazards ------------------------------------------------------------------------

_HEAD = "name: x\ntranslators: [{name: ridge}]\n"
_LAUGHS = "".join(
    f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10) if i else ', '.join(['lol'] * 10)}]\n" for i in range(9)
)
YAML_HAZARDS = {
    "deep-flow": (_HEAD + "data: " + "[" * 5000 + "]" * 5000 + "\n", "nested deeper"),
    "deep-400": (_HEAD + "data: " + "[" * 400 + "]" * 400 + "\n", "nested deeper"),
    "deep-block": (_HEAD + "".join(" " * i + f"k{i}:\n" for i in range(300)) + " " * 300 + "v: 1\n", "nested deeper"),
    "billion-laughs": (_HEAD + _LAUGHS, "alias bomb"),
    "alias-in-own-anchor": (_HEAD + "data: &a {source: synthetic, x: *a}\n", "inside its own anchor"),
    "alias-chain": (
        _HEAD + "a0: &a0 [1]\n" + "".join(f"a{i}: &a{i} [*a{i - 1}]\n" for i in range(1, 200)),
        "levels",
    ),
    "a-list": ("- name: x\n- name: y\n", "top level must be a mapping"),
    "a-scalar": ("just a sentence\n", "top level must be a mapping"),
    "two-documents": (_HEAD + "---\n" + _HEAD, "invalid YAML"),
    "a-date-key": (_HEAD + "2020-01-01: x\n", "field 2020-01-01: unknown field"),
    "a-tab": (_HEAD + "\tseeds: [0]\n", "invalid YAML at line 3"),
    "not-utf8": (None, "not UTF-8"),
}


@pytest.mark.parametrize("case", list(YAML_HAZARDS))
def test_yaml_hazards_are_one_line(case, tmp_path):
    text, expected = YAML_HAZARDS[case]
    path = tmp_path / "exp.yaml"
    if text is None:
        path.write_bytes(b"name: caf\xe9\n")
    else:
        path.write_text(text)
    store = tmp_path / "store"
    line = refused("run", path, "--store", store)
    assert str(path) in line and expected in line, line
    nothing_written(store)


@pytest.mark.parametrize(
    ("override", "expected"),
    [("seeds=" + "[" * 100 + "]" * 100, "nested deeper"), ("data=&a [*a]", "own anchor")],
)
def test_set_values_get_the_same_yaml_checks(override, expected, write_config, tmp_path):
    store = tmp_path / "store"
    refused("run", write_config(small_experiment()), "--store", store, "--set", override)
    nothing_written(store)
    with pytest.raises(ConfigError):
        load_config(write_config(small_experiment()), [override])


@pytest.mark.parametrize("seed", ["-1", str(2**32)])
def test_the_tune_sampler_seed_has_the_same_bounds(seed, write_config, tmp_path):
    store = tmp_path / "store"
    cfg = write_config(small_experiment(translators=[{"name": "ridge"}]))
    assert "seed" in refused("tune", cfg, "--translator", "ridge", "--trials", 1, "--store", store, "--seed", seed)
    nothing_written(store)
