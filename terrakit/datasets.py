"""Sample studies and synthetic instance generators (``tk.datasets``)."""

from terrakit.data.samples import load_sample
from terrakit.data.synthetic import synthetic_region

__all__ = ["load_sample", "synthetic_region"]
