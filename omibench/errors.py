"""Errors that the CLI turns into a one-line message and exit status 2."""

from __future__ import annotations

__all__ = ["OmibenchError", "ConfigError", "DataError", "PluginError", "NotApplicable", "one_line"]


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
