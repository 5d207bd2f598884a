"""Call planning and rep routing.

* :func:`plan_calls` — one territory's visit days over a cycle of weeks
  (frequencies honoured, days spaced evenly, daily work balanced, days
  clustered geographically) and the route of every day (home to home,
  working hours, lunch break, account time windows), as a :class:`CallPlan`.
* :func:`plan_all` — every territory, with travel hours per rep.
* :func:`solve_routing` — the one interface over PyVRP and OR-Tools routing
  that the daily routes and the Solomon / TSPLIB benchmarks use.
"""

from terrakit.routing.plan import CallPlan, TerritoryPlans, plan_all, plan_calls
from terrakit.routing.vrp import (
    AUTO_BACKEND,
    RouteCheck,
    RoutingProblem,
    RoutingSolution,
    evaluate_routes,
    solve_routing,
)

__all__ = [
    "AUTO_BACKEND",
    "CallPlan",
    "RouteCheck",
    "RoutingProblem",
    "RoutingSolution",
    "TerritoryPlans",
    "evaluate_routes",
    "plan_all",
    "plan_calls",
    "solve_routing",
]
