"""Store problems a user can fix: one line, exit status 2."""

from __future__ import annotations

from omibench.errors import OmibenchError

__all__ = ["StoreError", "StoreBusy"]


class StoreError(OmibenchError):
    """The tracking store cannot be used as given (not a folder, read-only, corrupt)."""


class StoreBusy(StoreError):
    """Another live process holds the experiment's lock."""
