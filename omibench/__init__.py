"""omibench: a benchmarking harness for omics-to-omics translation (methylation -> expression).

Public API for plugin authors and scripts; everything else is internal. Names are imported on
first use so that ``omibench --help`` does not pay for numpy, pandas or pydantic.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._errors import ConfigError, DataError, OmibenchError, PluginError
    from .data.paired import PairedData
    from .data.sources import DataSource
    from .hookspecs import hookimpl
    from .torch_translator import TorchTranslator
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
    "TorchTranslator",
    "Translator",
    "hookimpl",
]

_WHERE = {
    "ConfigError": "._errors",
    "DataError": "._errors",
    "OmibenchError": "._errors",
    "PluginError": "._errors",
    "PairedData": ".data.paired",
    "DataSource": ".data.sources",
    "hookimpl": ".hookspecs",
    "FitContext": ".translator",
    "Resources": ".translator",
    "Translator": ".translator",
    "TorchTranslator": ".torch_translator",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(import_module(_WHERE[name], __name__), name)
    if name == "__version__":
        from importlib.metadata import version

        return version("omibench")
    raise AttributeError(f"module 'omibench' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
