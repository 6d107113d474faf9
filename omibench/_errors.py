"""Errors that the CLI turns into a one-line message and exit status 2."""

from __future__ import annotations

__all__ = ["OmibenchError", "ConfigError", "DataError", "PluginError"]


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
