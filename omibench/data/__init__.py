"""Paired data: sources, readers, splits and fitted preprocessing."""

from .paired import PairedData
from .preprocess import Preprocessor
from .sources import DataSource
from .splits import Split, make_split
from .synthetic import make_synthetic

__all__ = ["DataSource", "PairedData", "Preprocessor", "Split", "make_split", "make_synthetic"]
