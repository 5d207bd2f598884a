"""Static matplotlib figures of a study; each takes ``ax=None``, returns the Axes."""

from terrakit.plot.audit import audit
from terrakit.plot.balance import balance_chart
from terrakit.plot.compare import diff_map
from terrakit.plot.disruption import disruption_front
from terrakit.plot.forecast import forecast
from terrakit.plot.headcount import headcount_curve
from terrakit.plot.pareto import plot_pareto
from terrakit.plot.potential import potential_map, whitespace
from terrakit.plot.routes import routes
from terrakit.plot.territory_map import territory_map

#: ``tk.plot.pareto(front)`` draws a trade-off front from ``tk.design.pareto``.
pareto = plot_pareto

__all__ = [
    "audit",
    "balance_chart",
    "diff_map",
    "disruption_front",
    "forecast",
    "headcount_curve",
    "pareto",
    "plot_pareto",
    "potential_map",
    "routes",
    "territory_map",
    "whitespace",
]
