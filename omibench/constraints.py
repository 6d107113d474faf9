"""Old import path, kept for plugins written against it: everything is in :mod:`omibench.contract.constraints`."""

from omibench.contract.constraints import *  # noqa: F403
from omibench.contract.constraints import __all__  # noqa: F401
