"""Old import path, kept for plugins written against it: everything is in :mod:`omibench.contract.torch_translator`."""

from omibench.contract.torch_translator import *  # noqa: F403
from omibench.contract.torch_translator import __all__  # noqa: F401
