"""Old import path, kept for plugins written against it: everything is in :mod:`omibench.contract.translator`."""

from omibench.contract.translator import *  # noqa: F403
from omibench.contract.translator import __all__  # noqa: F401
