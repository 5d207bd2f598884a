"""Static matplotlib figures of a study; each takes ``ax=None``, returns the Axes."""

from terrakit.plot.balance import balance_chart
from terrakit.plot.territory_map import territory_map

__all__ = ["balance_chart", "territory_map"]
