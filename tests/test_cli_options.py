"""CLI habits: what -v raises, the tuning hint, plugin descriptions, help text and examples."""

import logging
from pathlib import Path

import click
from click.testing import CliRunner

from omibench.cli import cli
from omibench.cli.run import _rerun_command

FIXTURES = Path(__file__).parent / "fixtures" / "plugins"


def test_verbose_raises_only_omibench_loggers():
    root = logging.getLogger().level
    try:
        result = CliRunner().invoke(cli, ["-v", "plugins"])
        assert result.exit_code == 0, result.output
        assert logging.getLogger("omibench").level == logging.DEBUG
        assert logging.getLogger("matplotlib").getEffectiveLevel() >= logging.WARNING
    finally:
        logging.getLogger().setLevel(root)
        logging.getLogger("omibench").setLevel(logging.NOTSET)


def test_tuning_hint_repeats_the_users_options():
    hint = _rerun_command(Path("exp.yaml"), ("seeds=[0, 1]",), (Path("my plugins"),), Path("st"))
    assert hint == "omibench run exp.yaml --set 'seeds=[0, 1]' --plugins-dir 'my plugins' --store st --tuned"


def test_plugins_lists_one_line_per_translator():
    out = CliRunner().invoke(cli, ["plugins"]).output
    ridge = next(line for line in out.splitlines() if line.strip().startswith("ridge "))
    assert "Ridge regression" in ridge and "{" not in ridge  # a description, not raw JSON
    assert "defaults {" in CliRunner().invoke(cli, ["plugins", "--params"]).output


UNDOCUMENTED_PLUGIN = FIXTURES / "undocumented" / "undocumented.py"


def test_plugins_shows_a_plugins_own_description_never_its_base_class(tmp_path):
    (tmp_path / "undocumented.py").write_text(UNDOCUMENTED_PLUGIN.read_text())
    result = CliRunner().invoke(cli, ["plugins", "--plugins-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    line = next(line for line in result.output.splitlines() if line.strip().startswith("undocumented "))
    assert "(no description)" in line and "Base class" not in line


def test_every_option_has_help_and_every_command_an_example():
    commands = {name: cmd for name, cmd in cli.commands.items() if name not in ("leaderboard", "report", "data")}
    data = cli.commands["data"]
    assert isinstance(data, click.Group)
    commands.update({f"data {n}": c for n, c in data.commands.items()})
    for name, command in commands.items():
        for param in command.params:
            if param.param_type_name == "option":
                assert param.help, f"{name} {param.opts}"
        assert "Example:" in (command.epilog or ""), name
