import shutil
from pathlib import Path

import pytest

from omibench import PluginError
from omibench.contract.registry import load_registry

PLUGINS = Path(__file__).parent / "fixtures" / "plugins"
MEAN = PLUGINS / "training_mean"  # the complete plugin of docs/writing-a-translator.md
BROKEN = PLUGINS / "broken"  # fails to import, registers a non-translator, misspells the hook


def test_builtins_come_through_the_entry_point():
    reg = load_registry()
    for name in ("linear_regression", "lasso"):
        assert reg.translators[name].source.kind == "entry point"
        assert "omibench" in reg.translators[name].source.label
    assert {"synthetic", "files"} <= set(reg.datasets)
    assert reg.problems == []


def test_local_plugin_file_is_found():
    reg = load_registry([MEAN])
    assert reg.translator("training_mean").__name__ == "TrainingMean"
    assert reg.translators["training_mean"].source.kind == "file"
    assert reg.problems == []


def test_duplicate_name_names_both_sources(tmp_path):
    shutil.copy(MEAN / "training_mean.py", tmp_path / "a.py")
    shutil.copy(MEAN / "training_mean.py", tmp_path / "b.py")
    reg = load_registry([tmp_path])
    assert any("a.py" in p and "b.py" in p and "training_mean" in p for p in reg.problems)
    with pytest.raises(PluginError, match="registered twice.*a.py.*b.py"):
        reg.translator("training_mean")


def test_broken_plugins_are_reported_and_others_stay_usable(tmp_path):
    shutil.copytree(BROKEN, tmp_path, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(MEAN / "training_mean.py", tmp_path / "good.py")
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
