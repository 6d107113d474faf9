"""The direction of translation: which omics is the input (``b``) and which the target (``a``)."""

from __future__ import annotations

from omibench.data.paired import PairedData

__all__ = ["swapped"]


def swapped(data: PairedData) -> PairedData:
    """``data`` with the two omics exchanged (A becomes the input, B the target); samples, labels and
    a given test list unchanged, so every split drawn from it is the forward direction's split."""
    return PairedData(
        b=data.a,
        a=data.b,
        sample_ids=data.sample_ids,
        b_features=data.a_features,
        a_features=data.b_features,
        labels=data.labels,
        name=f"{data.name} (reverse)",
        given_test_ids=data.given_test_ids,
    )
