"""The ``omibench`` command line: the only package that parses arguments or prints for people.

It calls :mod:`omibench.api` and nothing else of omibench (besides :mod:`omibench.errors`); each
command imports the API inside its body, so that ``--help`` answers at once. One module per group
of commands:

- :mod:`._common`: the message style, user errors and interruptions, the options shared by
  several commands (``--store``, ``--set``, ``--plugins-dir``, ``--wait``, ``--uri``);
- :mod:`.run`: ``run``, ``tune``, ``downstream`` (train translators, write runs);
- :mod:`.results`: ``leaderboard``, ``report``, ``ui`` (read finished runs back);
- :mod:`.data`: ``data inspect``, ``data prepare``, ``translate`` (input files, new predictions);
- :mod:`.plugins`: ``plugins``, ``check-plugin``.
"""

from __future__ import annotations

import click

from omibench.cli import data as _data
from omibench.cli import plugins as _plugins
from omibench.cli import results as _results
from omibench.cli import run as _run
from omibench.cli._common import setup_logging

__all__ = ["cli", "main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="omibench")
@click.option("-v", "--verbose", is_flag=True, help="Debug logging from omibench (not from its libraries).")
def cli(verbose: bool) -> None:
    """Benchmark omics-to-omics translators (methylation -> expression), tracked in MLflow."""
    setup_logging(verbose)
    # mlflow resets its logger when imported; this variable is what it reads then
    import os

    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")


for _command in (
    _run.run,
    _run.tune,
    _run.downstream,
    _plugins.plugins,
    _plugins.check_plugin,
    _results.leaderboard,
    _results.report,
    _data.translate,
    _results.ui,
    _data.data,
):
    cli.add_command(_command)


def main() -> None:
    cli(prog_name="omibench")
