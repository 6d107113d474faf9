"""Declared ranges and choices of translator parameters, checked before anything is written.

A translator lists, next to ``default_params``, what each parameter may be, in the manner of
scikit-learn's ``_parameter_constraints``: a list of alternatives, any one of which admits the value.

.. code-block:: python

    param_constraints = {
        "alpha": [None, Interval(float, 0.0, None, closed="neither")],  # null or > 0
        "n_alphas": [Interval(int, 2, None)],
        "weights": [Options("uniform", "distance")],
        "hidden": [ListOf(Interval(int, 1, None), min_len=1)],
    }

Plain data, not a pydantic model per translator: the parameters already live in one flat dict of
defaults that third-party authors write by hand, and a list of alternatives next to it is the
smallest addition that still yields one precise sentence ("must be null or a float in (0, inf)").
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Constraint", "Interval", "Options", "ListOf", "describe", "first_violation"]


class Constraint:
    """One admissible kind of value; ``str(c)`` says what it admits, in words."""

    def admits(self, value: Any) -> bool:
        raise NotImplementedError


@dataclass(frozen=True)
class Interval(Constraint):
    """A number of ``kind`` (``int`` or ``float``; ``float`` also takes ints) between ``low`` and
    ``high`` (``None``: unbounded), ``closed`` on ``"both"``, ``"left"``, ``"right"`` or ``"neither"`` end."""

    kind: type
    low: float | None = None
    high: float | None = None
    closed: str = "both"

    def __post_init__(self) -> None:
        if self.kind not in (int, float):
            raise TypeError(f"Interval kind must be int or float, not {self.kind!r}")
        if self.closed not in ("both", "left", "right", "neither"):
            raise ValueError(f"Interval closed must be both, left, right or neither, not {self.closed!r}")

    def admits(self, value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        if self.kind is int and not isinstance(value, int):
            return False
        if isinstance(value, float) and math.isnan(value):
            return False
        if self.low is not None:
            if value < self.low or (value == self.low and self.closed in ("right", "neither")):
                return False
        if self.high is not None:
            if value > self.high or (value == self.high and self.closed in ("left", "neither")):
                return False
        return True

    def __str__(self) -> str:
        left = "[" if self.closed in ("both", "left") and self.low is not None else "("
        right = "]" if self.closed in ("both", "right") and self.high is not None else ")"
        low = "-inf" if self.low is None else f"{self.low:g}"
        high = "inf" if self.high is None else f"{self.high:g}"
        return f"{'an int' if self.kind is int else 'a number'} in {left}{low}, {high}{right}"


class Options(Constraint):
    """One of the given values (compared with ``==``; ``True`` is not ``1``)."""

    def __init__(self, *values: Any) -> None:
        self.values = values

    def admits(self, value: Any) -> bool:
        return any(type(value) is type(v) and value == v for v in self.values)

    def __str__(self) -> str:
        return "one of " + ", ".join(_show(v) for v in self.values)

    def __repr__(self) -> str:
        return f"Options({', '.join(map(repr, self.values))})"


@dataclass(frozen=True)
class ListOf(Constraint):
    """A list whose every item satisfies ``item``, with ``min_len``..``max_len`` items;
    ``increasing``: each item larger than the one before (e.g. a ``[low, high]`` range)."""

    item: Constraint
    min_len: int = 0
    max_len: int | None = None
    increasing: bool = False

    def admits(self, value: Any) -> bool:
        if not isinstance(value, (list, tuple)) or len(value) < self.min_len:
            return False
        if self.max_len is not None and len(value) > self.max_len:
            return False
        if not all(self.item.admits(v) for v in value):
            return False
        return not self.increasing or all(a < b for a, b in zip(value[:-1], value[1:]))

    def __str__(self) -> str:
        if self.max_len is not None and self.max_len == self.min_len:
            size = f"{self.min_len} "
        elif self.max_len is not None:
            size = f"{self.min_len} to {self.max_len} "
        else:
            size = f"{self.min_len}+ " if self.min_len else ""
        order = ", increasing" if self.increasing else ""
        return f"a list of {size}items, each {self.item}{order}"


def describe(alternatives: Sequence[Constraint | None]) -> str:
    """``[None, Interval(float, 0, None)]`` -> ``"null or a number in [0, inf)"``."""
    return " or ".join("null" if c is None else str(c) for c in alternatives)


def first_violation(
    params: Mapping[str, Any], constraints: Mapping[str, Sequence[Constraint | None]]
) -> tuple[str, Any, str] | None:
    """The first ``(name, value, what is allowed)`` whose value no alternative admits, else None."""
    for name, alternatives in constraints.items():
        if name not in params:
            continue
        value = params[name]
        if not any(value is None if c is None else c.admits(value) for c in alternatives):
            return name, value, describe(alternatives)
    return None


def _show(value: Any) -> str:
    return "null" if value is None else repr(value)
