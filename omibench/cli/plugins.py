"""``omibench plugins`` and ``check-plugin``: what is registered, and whether a translator keeps the contract."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from omibench.cli._common import description, echo_err, example, plugins_dir_option, user_errors

__all__ = ["check_plugin", "plugins"]


@click.command(epilog=example("omibench plugins --plugins-dir my_plugins --params"))
@plugins_dir_option
@click.option("--params", "verbose", is_flag=True, help="Also show each translator's default parameters.")
@user_errors
def plugins(plugin_dirs: tuple[Path, ...], verbose: bool) -> None:
    """List registered translators and data sources: name, what it is, where it comes from."""
    import json

    from omibench import api

    registry = api.plugins(plugin_dirs, echo=echo_err)
    click.echo("Translators:")
    for name, reg in sorted(registry.translators.items()):
        click.echo(f"  {name:<18} {description(reg.cls)}  [{reg.source}]")
        if verbose:
            params = json.dumps(dict(getattr(reg.cls, "default_params", {})), default=str)
            click.echo(f"  {'':<18} defaults {params}")
    click.echo("Data sources:")
    for name, reg in sorted(registry.datasets.items()):
        click.echo(f"  {name:<18} {description(reg.cls)}  [{reg.source}]")


@click.command("check-plugin", epilog=example("omibench check-plugin my_translator --plugins-dir my_plugins"))
@click.argument("name")
@plugins_dir_option
@user_errors
def check_plugin(name: str, plugin_dirs: tuple[Path, ...]) -> None:
    """Run the conformance check on one translator (tiny fit / predict / save / load)."""
    from omibench import api

    results = api.check_plugin(name, plugin_dirs, echo=echo_err)
    for r in results:
        click.echo(f"  {'PASS' if r.passed else 'FAIL'}  {r.name:<26} {r.detail}")
    failed = sum(not r.passed for r in results)
    click.echo(f"{name}: {len(results) - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)
