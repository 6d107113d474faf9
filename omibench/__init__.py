"""omibench: a benchmarking harness for omics-to-omics translation (methylation -> expression).

The plugin API: everything a translator or data-source plugin may import is exported here and listed
in ``__all__`` (the built-in plugins in ``plugins/`` import from nowhere else; a test holds this).
Everything else is internal. Names are imported on first use so that ``omibench --help`` does not pay
for numpy, pandas, pydantic or torch.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from omibench.contract.constraints import Interval, ListOf, Options
    from omibench.contract.hookspecs import hookimpl
    from omibench.contract.torch_translator import (
        TORCH_CONSTRAINTS,
        DivergenceError,
        TorchTranslator,
        adam,
        as_tensor,
        batches,
        linear_decay_multiplier,
    )
    from omibench.contract.translator import Chosen, FitContext, Resources, Translator, read_model_meta
    from omibench.data.annotation import load_locations
    from omibench.data.paired import PairedData
    from omibench.data.sources import DataSource
    from omibench.errors import ConfigError, DataError, NotApplicable, OmibenchError, PluginError

# name -> the module that defines it
_WHERE = {
    # the translator contract
    "Translator": "omibench.contract.translator",
    "FitContext": "omibench.contract.translator",
    "Resources": "omibench.contract.translator",
    "Chosen": "omibench.contract.translator",
    "read_model_meta": "omibench.contract.translator",
    "hookimpl": "omibench.contract.hookspecs",
    # parameter constraints (scikit-learn's _parameter_constraints)
    "Interval": "omibench.contract.constraints",
    "Options": "omibench.contract.constraints",
    "ListOf": "omibench.contract.constraints",
    # neural translators
    "TorchTranslator": "omibench.contract.torch_translator",
    "TORCH_CONSTRAINTS": "omibench.contract.torch_translator",
    "DivergenceError": "omibench.contract.torch_translator",
    "adam": "omibench.contract.torch_translator",
    "as_tensor": "omibench.contract.torch_translator",
    "batches": "omibench.contract.torch_translator",
    "linear_decay_multiplier": "omibench.contract.torch_translator",
    # data
    "PairedData": "omibench.data.paired",
    "DataSource": "omibench.data.sources",
    "load_locations": "omibench.data.annotation",
    "available_bytes": "omibench.data.memory",
    # errors a plugin raises
    "OmibenchError": "omibench.errors",
    "ConfigError": "omibench.errors",
    "DataError": "omibench.errors",
    "PluginError": "omibench.errors",
    "NotApplicable": "omibench.errors",
}
__all__ = [
    "Chosen",
    "ConfigError",
    "DataError",
    "DataSource",
    "DivergenceError",
    "FitContext",
    "Interval",
    "ListOf",
    "NotApplicable",
    "OmibenchError",
    "Options",
    "PairedData",
    "PluginError",
    "Resources",
    "TORCH_CONSTRAINTS",
    "TorchTranslator",
    "Translator",
    "adam",
    "as_tensor",
    "available_bytes",
    "batches",
    "hookimpl",
    "linear_decay_multiplier",
    "load_locations",
    "read_model_meta",
]


assert set(__all__) == set(_WHERE)


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(import_module(_WHERE[name]), name)
    if name == "__version__":
        from importlib.metadata import version

        return version("omibench")
    raise AttributeError(f"module 'omibench' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
