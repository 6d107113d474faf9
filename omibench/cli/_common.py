"""What every command shares: the message style, the handling of user errors and interruptions,
and the options that several commands take (declared here once).

Messages (stderr) have one style, whoever writes them (the commands, the library's progress
lines, its loggers):

- ``omibench: <what is happening>``: progress and information;
- ``omibench: warning: <what>``: something to know; the command goes on;
- ``error: <what>: <what to do>``: the command stopped (exit status 2), always the last line;
- ``interrupted: <what was kept>; <how to resume>``: Ctrl-C or SIGTERM (exit status 130).

Results (tables, paths, run ids) go to stdout without a prefix.
"""

from __future__ import annotations

import functools
import inspect
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, cast

import click

from omibench.errors import OmibenchError

__all__ = [
    "INTERRUPTED",
    "USER_ERROR",
    "LogStyle",
    "description",
    "echo_err",
    "example",
    "plugins_dir_option",
    "set_option",
    "setup_logging",
    "store_option",
    "styled",
    "uri_option",
    "user_errors",
    "wait_option",
]

USER_ERROR = 2
INTERRUPTED = 130

PREFIX = "omibench: "
_LAST_LINES = ("error: ", "interrupted: ")
_OURS = ("omibench", "omibench_plugins")

F = TypeVar("F", bound=Callable[..., Any])


# --- messages ------------------------------------------------------------------------------------


def styled(message: str) -> str:
    """``message`` in the command line's style (see the module's docstring): each line prefixed
    ``omibench: `` (once: library messages may carry it already), a leading ``warning:`` kept after
    the prefix, error and interruption lines left as they are."""
    lines = []
    for line in message.split("\n"):
        text = line.removeprefix(PREFIX)
        if not text.strip() or text.startswith(_LAST_LINES):
            lines.append(text)
        elif text.lower().startswith("warning: "):
            lines.append(f"{PREFIX}warning: {text[len('warning: ') :]}")
        else:
            lines.append(PREFIX + text)
    return "\n".join(lines)


def echo_err(message: str) -> None:
    """``message`` on stderr, in the command line's style: the ``echo`` the library API is given."""
    click.echo(styled(message), err=True)


class LogStyle(logging.Formatter):
    """Log records in the same style: ``omibench: [level: ][logger: ]message``; the level is left
    out for INFO, the logger's name for omibench's own records (except DEBUG)."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        ours = record.name.partition(".")[0] in _OURS
        level = "" if record.levelno == logging.INFO else f"{record.levelname.lower()}: "
        where = "" if ours and record.levelno != logging.DEBUG else f"{record.name}: "
        return f"{PREFIX}{level}{where}{text}"


def setup_logging(verbose: bool) -> None:
    """Warnings of every library and omibench's own information (``-v``: its debug lines too, not
    the libraries': no matplotlib font lines), in the messages' style, on stderr."""
    root = logging.getLogger()
    if not root.handlers:  # as logging.basicConfig: a host that set up logging (a test runner) keeps its own
        handler = logging.StreamHandler()
        handler.setFormatter(LogStyle("%(message)s"))
        root.addHandler(handler)
    root.setLevel(logging.WARNING)
    for name in _OURS:
        logging.getLogger(name).setLevel(logging.DEBUG if verbose else logging.INFO)


def user_errors(func: F) -> F:
    """Turn OmibenchError into one line on stderr and exit status 2 (no traceback); Ctrl-C or
    SIGTERM into one line saying what was kept and how to resume, and exit status 130."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except OmibenchError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(USER_ERROR)
        except KeyboardInterrupt as exc:  # Ctrl-C or SIGTERM: one line, what was kept, how to resume
            summary = getattr(exc, "summary", None)
            click.echo(summary() if callable(summary) else "interrupted: rerun the same command to resume", err=True)
            sys.exit(INTERRUPTED)

    return cast(F, wrapper)


def example(command: str) -> str:
    """A command's epilog: one example (\\b keeps click from rewrapping it)."""
    return f"\b\nExample:\n  {command}"


def description(obj: Any) -> str:
    """The first sentence of ``obj``'s own docstring, at most 110 characters; "(no description)"
    when it has none. A class's own: one without a docstring does not borrow its base class's."""
    doc = obj.__dict__.get("__doc__") if isinstance(obj, type) else getattr(obj, "__doc__", None)
    if not isinstance(doc, str) or not doc.strip():
        return "(no description)"
    paragraph = " ".join(inspect.cleandoc(doc).split("\n\n")[0].split())
    sentence = paragraph.split(". ")[0].rstrip(".") + "."
    return sentence if len(sentence) <= 110 else sentence[:107] + "..."


# --- options that several commands take ------------------------------------------------------------

_PATH = click.Path(path_type=Path)


def set_option(func: F) -> F:
    """``--set KEY=VALUE`` (repeatable), as ``overrides``: fields of the experiment YAML overridden."""
    return click.option(
        "--set",
        "overrides",
        multiple=True,
        metavar="KEY=VALUE",
        help="Override a YAML field (repeatable), e.g. --set seeds=[0,1,2] --set downstream.enabled=false.",
    )(func)


def plugins_dir_option(func: F) -> F:
    """``--plugins-dir DIR`` (repeatable), as ``plugin_dirs``: folders of local plugin files."""
    return click.option(
        "--plugins-dir",
        "plugin_dirs",
        multiple=True,
        type=_PATH,
        help="Folder of local *.py translator plugins (repeatable).",
    )(func)


def store_option(*, from_yaml: bool) -> Callable[[F], F]:
    """``--store DIR``: the tracking store folder. Commands that read an experiment YAML
    (``from_yaml``) default to its ``tracking.store`` (``store`` is None then; the YAML's own default
    is mlruns); the commands that read the store by experiment name default to mlruns."""
    said = " (default: the YAML's tracking.store, mlruns)" if from_yaml else ""  # else click shows [default: mlruns]
    return click.option(
        "--store",
        type=_PATH,
        default=None if from_yaml else Path("mlruns"),
        show_default=not from_yaml,
        help=f"Tracking store folder{said}.",
    )


def comparison_options(func: F) -> F:
    """``--baseline NAME`` and ``--interval corrected_t|bootstrap``: whom every translator is compared
    with, and the interval of that paired difference over outer splits."""
    func = click.option(
        "--interval",
        type=click.Choice(["corrected_t", "bootstrap"]),
        default="corrected_t",
        show_default=True,
        help="Interval of the paired difference over outer splits.",
    )(func)
    return click.option(
        "--baseline", default="ridge", show_default=True, help="Translator every other is compared with."
    )(func)


def uri_option(func: F) -> F:
    """``--uri URI``: an MLflow tracking URI read instead of the store folder's database."""
    return click.option("--uri", default=None, help="MLflow tracking URI (overrides --store).")(func)


def wait_option(func: F) -> F:
    """``--wait S``, as ``wait_s``: how long to wait for another process writing the experiment."""
    return click.option(
        "--wait",
        "wait_s",
        type=click.FloatRange(min=0),
        default=10.0,  # omibench.api.DEFAULT_WAIT_S (not imported here: --help answers without omibench.api)
        show_default=True,
        help="Seconds to wait for another omibench process writing this experiment of the store, then give up.",
    )(func)
