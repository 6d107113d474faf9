"""omibench: a benchmarking harness for omics-to-omics translation (methylation -> expression).

Public API for plugin authors and scripts; everything else is internal.
"""

from ._errors import ConfigError, DataError, OmibenchError, PluginError
from .data.paired import PairedData
from .data.sources import DataSource
from .hookspecs import hookimpl
from .translator import FitContext, Resources, Translator

__all__ = [
    "ConfigError",
    "DataError",
    "DataSource",
    "FitContext",
    "OmibenchError",
    "PairedData",
    "PluginError",
    "Resources",
    "Translator",
    "hookimpl",
]


def __getattr__(name: str) -> str:
    if name == "__version__":
        from importlib.metadata import version

        return version("omibench")
    raise AttributeError(name)
