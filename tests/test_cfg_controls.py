"""Controls run by default (``controls: true``): added to every experiment, never changing the keys of
the listed translators nor the config hash; ``class_mean`` left out where the data have no labels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from omibench import api
from omibench.config import DEFAULT_CONTROLS, load_config
from omibench.contract.registry import load_registry
from omibench.errors import ConfigError, PluginError
from omibench.run.preparation import prepare

from .conftest import small_experiment


def _prepare(write_config, tmp_path, **overrides):
    cfg = load_config(write_config(small_experiment(**{"controls": True, **overrides})))
    return prepare(cfg, load_registry(), tmp_path / "cache")


def test_controls_are_added_by_default_without_changing_other_keys(write_config, tmp_path):
    default = {k: v for k, v in small_experiment().items() if k != "controls"}
    assert load_config(write_config(default)).controls is True
    on = _prepare(write_config, tmp_path)
    off = _prepare(write_config, tmp_path, controls=False)
    assert [p.entry.display for p in on.translators] == ["linear_regression", "lasso", *DEFAULT_CONTROLS]
    assert on.controls == DEFAULT_CONTROLS and off.controls == ()
    assert [p.entry.display for p in off.translators] == ["linear_regression", "lasso"]
    assert [p.key for p in on.translators[:2]] == [p.key for p in off.translators]
    assert on.config_hash == off.config_hash and on.split.hash == off.split.hash
    assert all(p.cls.control for p in on.translators[2:])


def test_a_listed_control_is_not_added_twice(write_config, tmp_path):
    body = [{"name": "ridge"}, {"name": "random_profile", "label": "rp"}, {"name": "train_mean"}]
    got = _prepare(write_config, tmp_path, translators=body)
    assert [p.entry.display for p in got.translators] == ["ridge", "rp", "train_mean", "class_mean"]


def test_a_list_of_controls_and_a_non_control_refused(write_config, tmp_path):
    got = _prepare(write_config, tmp_path, controls=["class_mean"])
    assert got.controls == ("class_mean",)
    with pytest.raises(ConfigError, match="controls: 'ridge' is not a control"):
        _prepare(write_config, tmp_path, controls=["ridge"])
    with pytest.raises(PluginError, match="unknown translator 'no_such'"):
        _prepare(write_config, tmp_path, controls=["no_such"])


def test_class_mean_is_left_out_without_labels(write_config, tmp_path, caplog):
    rng = np.random.default_rng(0)
    ids = pd.Index([f"s{i}" for i in range(40)], name="id")
    pd.DataFrame(rng.random((40, 6)), index=ids).to_csv(tmp_path / "B.csv")
    pd.DataFrame(rng.normal(size=(40, 4)), index=ids).to_csv(tmp_path / "A.csv")
    caplog.set_level("INFO")
    got = _prepare(write_config, tmp_path, data={"source": "files", "root": str(tmp_path), "b": "B.csv", "a": "A.csv"})
    assert got.controls == ("train_mean", "random_profile")
    assert len(got.controls_left_out) == 1 and got.controls_left_out[0].startswith("class_mean: ")
    assert "class_mean left out" in caplog.text


def test_tuning_and_data_only_preparation_add_no_controls(write_config, tmp_path):
    path = write_config(small_experiment(controls=True))
    tuned, _, _ = api.prepare_experiment(path, store=tmp_path / "store", only="lasso")
    assert [p.entry.display for p in tuned.translators] == ["lasso"]
    data, _, _ = api.prepare_experiment(path, store=tmp_path / "store", data_only=True)
    assert len(data.translators) == 1


def test_a_run_filtered_to_one_translator_keeps_the_controls_unranked(write_config, tmp_path):
    lines: list[str] = []
    path = write_config(small_experiment(translators=[{"name": "ridge"}, {"name": "lasso"}], controls=True))
    res = api.run(path, store=tmp_path / "store", translators=["ridge"], executor="inline", echo=lines.append)
    assert sorted(o.label for o in res.outcomes) == sorted(["ridge", *DEFAULT_CONTROLS])
    assert any("controls train_mean, random_profile, class_mean run too" in line for line in lines)
    board = res.leaderboard.set_index("translator")
    assert not bool(board.loc["ridge", "control"])
    assert board.loc[list(DEFAULT_CONTROLS), "control"].astype(bool).all()
    assert board.loc[list(DEFAULT_CONTROLS), "rank"].isna().all() and board.loc["ridge", "rank"] == 1
