"""``direction: both``: B -> A as configured, then A -> B as ``<name>_reverse`` on the same outer splits."""

from __future__ import annotations

import numpy as np
import pytest

from omibench import api
from omibench.config import canonical_hash, load_config
from omibench.contract.registry import load_registry
from omibench.errors import ConfigError
from omibench.run.preparation import for_split, prepare

from .conftest import REPO, small_experiment
from .test_cfg_groups import UNIQUE, _cohort


def test_both_is_the_forward_experiment_and_its_reverse_on_the_same_splits(write_config, tmp_path):
    plain = load_config(write_config(small_experiment(split={"scheme": "repeated_holdout", "repeats": 2})))
    both = load_config(
        write_config(small_experiment(split={"scheme": "repeated_holdout", "repeats": 2})),
        ["direction=both", "preprocess.b=[{variance: {top_k: 20}}]"],
    )
    forward, reverse = both.directions()
    assert forward.name == "t" and reverse.name == "t_reverse" and reverse.direction == "a_to_b"
    assert canonical_hash(load_config(write_config(small_experiment())).semantic_dict()) == canonical_hash(
        load_config(write_config(small_experiment()), ["direction=both"]).semantic_dict()
    )
    fwd = prepare(forward, load_registry(), tmp_path / "cache")
    rev = prepare(reverse, load_registry(), tmp_path / "cache")
    ref = prepare(plain, load_registry(), tmp_path / "cache")
    assert [s.hash for s in fwd.splits] == [s.hash for s in rev.splits] == [s.hash for s in ref.splits]
    assert fwd.dataset_hash != rev.dataset_hash and fwd.translators[0].key != rev.translators[0].key
    # the roles swap; preprocess.b still names the methylation steps (now on the target side)
    assert rev.train.b.shape[1] == 15 and rev.train.a.shape[1] == 20 and fwd.train.b.shape[1] == 20
    assert str(rev.train.a_features[0]).startswith("cg") and str(rev.train.b_features[0]).startswith("GENE")
    second = for_split(rev, 1)
    assert second.split.hash == fwd.splits[1].hash
    np.testing.assert_array_equal(second.train.labels, for_split(fwd, 1).train.labels)


def test_reverse_on_streamed_files_is_refused(write_config, tmp_path):
    data = _cohort(tmp_path, UNIQUE, "xena")
    cfg = load_config(write_config(small_experiment(data=data, direction="a_to_b")))
    with pytest.raises(ConfigError, match="direction: the reverse direction"):
        prepare(cfg, load_registry(), tmp_path / "cache")


def _run_quickstart(tmp_path, translators: str, downstream: str):
    lines: list[str] = []
    overrides = ["direction=both", "data.n_samples=120", "data.n_cpgs=40", "data.n_genes=24"]
    res = api.run(
        REPO / "experiments" / "quickstart.yaml",
        overrides=[*overrides, f"translators={translators}", f"downstream={downstream}"],
        store=tmp_path / "store",
        executor="inline",
        echo=lines.append,
    )
    assert res.reverse is not None and any("now A -> B" in line for line in lines)
    assert (res.experiment, res.reverse.experiment) == ("quickstart", "quickstart_reverse")
    assert res.split_hash == res.reverse.split_hash
    return res, res.reverse


def test_both_directions_on_the_quickstart(tmp_path):
    """The quickstart, smaller: both experiments run every translator and the controls on one split."""
    forward, reverse = _run_quickstart(tmp_path, "[{name: ridge}]", "{enabled: false}")
    for r in (forward, reverse):
        assert not r.failed and {o.label for o in r.outcomes} == {"ridge", "train_mean", "random_profile", "class_mean"}
    # two different problems: log-scale expression targets vs methylation betas
    fwd_mse = forward.leaderboard.set_index("translator").loc["ridge", "mse"]
    rev_mse = reverse.leaderboard.set_index("translator").loc["ridge", "mse"]
    assert rev_mse < 0.2 < fwd_mse


@pytest.mark.slow
def test_both_directions_with_a_neural_translator_and_table_3(tmp_path):
    """In reverse, Table 3's classifier is trained on the real training methylation and judges the
    translated methylation."""
    fc = "{name: omitrans_fc, params: {hidden: [16], latent: 8, disc_hidden: [8], epochs: 2, epochs_decay: 1}}"
    forward, reverse = _run_quickstart(
        tmp_path, f"[{{name: ridge}}, {fc}]", "{epochs: [2, 2, 2], decay_epochs: 1, latent: 8, batch_size: 16}"
    )
    for r in (forward, reverse):
        assert not r.failed and {"ridge", "omitrans_fc"} <= {o.label for o in r.outcomes}
        assert np.isfinite(r.leaderboard.set_index("translator").loc["ridge", "downstream/accuracy"])


def test_cli_prints_both_leaderboards(tmp_path):
    from click.testing import CliRunner

    from omibench.cli import cli

    args = ["run", str(REPO / "experiments" / "quickstart.yaml"), "--store", str(tmp_path / "store")]
    for o in ("direction=both", "data.n_samples=80", "data.n_cpgs=20", "data.n_genes=12", "controls=false"):
        args += ["--set", o]
    args += ["--set", "translators=[{name: ridge}]", "--set", "downstream.enabled=false", "--executor", "inline"]
    out = CliRunner().invoke(cli, args)
    assert out.exit_code == 0, out.output
    assert "Leaderboard: quickstart (" in out.output and "Leaderboard: quickstart_reverse (" in out.output
