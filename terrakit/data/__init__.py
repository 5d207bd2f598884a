"""Data model of a study: loaders, validation, :class:`Study`, :class:`Alignment`."""

from terrakit.data.alignment import Alignment, make_provenance
from terrakit.data.io import read_accounts, read_history, read_reps, read_units
from terrakit.data.study import Study

__all__ = [
    "Alignment",
    "Study",
    "make_provenance",
    "read_accounts",
    "read_history",
    "read_reps",
    "read_units",
]
