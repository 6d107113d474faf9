import textwrap

import pytest

from omibench import PluginError
from omibench.registry import load_registry

MEAN_PLUGIN = '''
"""A whole translator plugin in one small file: predicts each gene's training mean."""
import numpy as np
from omibench import Translator, hookimpl


class TrainingMean(Translator):
    name = "training_mean"
    default_params = {"shrink": 0.0}

    def fit(self, train, val, context):
        self.mean_ = train.a.mean(axis=0) * (1.0 - self.params["shrink"])
        return self

    def predict(self, b):
        return np.tile(self.mean_, (len(b), 1)).astype(np.float32)

    def get_state(self):
        return {"mean": self.mean_}

    def set_state(self, state):
        self.mean_ = state["mean"]


@hookimpl
def omibench_register_translators(register):
    register(TrainingMean)
'''


def test_builtins_come_through_the_entry_point():
    reg = load_registry()
    for name in ("linear_regression", "lasso"):
        assert reg.translators[name].source.kind == "entry point"
        assert "omibench" in reg.translators[name].source.label
    assert {"synthetic", "files"} <= set(reg.datasets)
    assert reg.problems == []


def test_local_plugin_file_is_found(tmp_path):
    (tmp_path / "mean.py").write_text(MEAN_PLUGIN)
    reg = load_registry([tmp_path])
    assert reg.translator("training_mean").__name__ == "TrainingMean"
    assert reg.translators["training_mean"].source.kind == "file"
    assert reg.problems == []


def test_duplicate_name_names_both_sources(tmp_path):
    (tmp_path / "a.py").write_text(MEAN_PLUGIN)
    (tmp_path / "b.py").write_text(MEAN_PLUGIN)
    reg = load_registry([tmp_path])
    assert any("a.py" in p and "b.py" in p and "training_mean" in p for p in reg.problems)
    with pytest.raises(PluginError, match="registered twice.*a.py.*b.py"):
        reg.translator("training_mean")


def test_broken_plugins_are_reported_and_others_stay_usable(tmp_path):
    (tmp_path / "good.py").write_text(MEAN_PLUGIN)
    (tmp_path / "broken.py").write_text("import numpy\nraise RuntimeError('boom')\n")
    (tmp_path / "notatranslator.py").write_text(
        textwrap.dedent("""
        from omibench import hookimpl
        class Thing: name = "thing"
        @hookimpl
        def omibench_register_translators(register):
            register(Thing)
    """)
    )
    (tmp_path / "typo.py").write_text(
        textwrap.dedent("""
        from omibench import hookimpl
        @hookimpl
        def omibench_register_translator(register):
            pass
    """)
    )
    reg = load_registry([tmp_path])
    text = "\n".join(reg.problems)
    assert "broken.py" in text and "RuntimeError: boom" in text
    assert "notatranslator.py" in text and "not a omibench.Translator subclass" in text
    assert "typo.py" in text and "did you mean 'omibench_register_translators'" in text
    assert "thing" not in reg.translators
    assert reg.translator("training_mean") is not None
    assert reg.translator("lasso") is not None


def test_unknown_translator_suggests_close_names():
    with pytest.raises(PluginError, match="unknown translator 'laso': did you mean 'lasso'"):
        load_registry().translator("laso")


def test_disable_plugins_env(monkeypatch):
    monkeypatch.setenv("OMIBENCH_DISABLE_PLUGINS", "linear")
    assert "lasso" not in load_registry().translators
