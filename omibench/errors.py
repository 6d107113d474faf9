"""Errors that the CLI turns into a one-line message and exit status 2, and the one check every
command that writes a file or folder makes before any work (:func:`check_output`)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = [
    "OmibenchError",
    "ConfigError",
    "DataError",
    "PluginError",
    "NotApplicable",
    "check_output",
    "one_line",
]


class OmibenchError(Exception):
    """A user-facing problem: bad input, bad config, a missing plugin.

    The message is a complete sentence that names the file, field or sample at fault and says what
    to do. The CLI prints it without a traceback.
    """


class ConfigError(OmibenchError):
    """The experiment YAML or a --set override is malformed."""


class DataError(OmibenchError):
    """An input matrix, label file or test-id list cannot be used as it is."""


class PluginError(OmibenchError):
    """A translator or data source is unknown, ambiguous or broken."""


class NotApplicable(PluginError):
    """The translator cannot be used on these data (e.g. a label-reading control on unlabelled data);
    raised by ``fit``, it ends the run as failure kind ``not-applicable``, which is a result, not a fault."""


def one_line(exc: BaseException, *, with_type: bool = True, every_line: bool = False, limit: int = 300) -> str:
    """``exc`` as one line for a message: ``"Type: first line of its message"``.

    ``with_type=False`` leaves the type's name out (it stands alone when the message is empty);
    ``every_line`` keeps every non-blank line of the message, joined by ``" | "`` (numpy's assertion
    messages say what differs on their later lines). Cut to ``limit`` characters, ending ``...``."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    message = " | ".join(lines) if every_line else lines[0] if lines else ""
    name = type(exc).__name__
    text = (f"{name}: {message}" if with_type else message) if message else name
    return text if len(text) <= limit else text[: limit - 3] + "..."


def check_output(path: str | Path, what: str, *, folder: bool = False) -> Path:
    """Refuse, in one :class:`OmibenchError` naming ``what`` (the option, e.g. ``--output``), an
    output path that the command could not write, before any work is done; return it as a Path.

    A file (``folder=False``) must not be an existing folder, an existing file must be writable,
    and a folder (``folder=True``) must not be an existing file. The nearest existing ancestor must
    be a folder in which a file can be created: tried with a file created and removed at once (so
    permission bits, read-only mounts and root all answer the same way); missing folders below it
    are created later by the writer. Nothing else is created."""
    path = Path(path)
    if not folder and path.name in ("", ".", ".."):
        raise OmibenchError(f"{what} {str(path)!r}: give a file name, e.g. predicted.csv")
    if path.exists():
        if folder and not path.is_dir():
            raise OmibenchError(f"{what} {path}: is a file, not a folder; give a folder path")
        if not folder and path.is_dir():
            raise OmibenchError(f"{what} {path}: is a folder; give a file path inside it, e.g. {path / 'out.csv'}")
        if not folder and not os.access(path, os.W_OK):
            raise OmibenchError(f"{what} {path}: the file exists and cannot be written; check its permissions")
    existing = next((p for p in [path, *path.parents] if p.exists()), Path("."))
    if existing == path and not folder:
        existing = path.parent
    if not existing.is_dir():
        raise OmibenchError(f"{what} {path}: {existing} is a file, not a folder; give another path")
    try:
        with tempfile.NamedTemporaryFile(dir=existing, prefix=".omibench-probe-"):
            pass
    except OSError as exc:
        why = exc.strerror or one_line(exc, with_type=False)
        raise OmibenchError(
            f"{what} {path}: cannot write in {existing} ({why}); choose a folder you can write to"
        ) from None
    return path
