"""Sales-force sizing: how many reps, where their time goes, what they should sell.

* :func:`workload` — the workload build-up (calls × (call time + travel) ÷
  selling hours), :meth:`WorkloadResult.from_segments` for the textbook form.
* :class:`ResponseModel` — Bayesian ADBUDG/Hill sales response to calls per
  segment, fitted from history or calibrated from judgement (CALLPLAN).
* :func:`headcount_curve` — sales and profit against the number of reps,
  with credible bands and the profit-maximising size.
* :func:`allocate_calls` — calls per account maximising expected sales
  within rep time (concave knapsack: greedy or exact MILP).
* :func:`quotas` — fair targets per territory with P(attain).
"""

from terrakit.sizing.allocation import (
    CallPlan,
    allocate_calls,
    greedy_knapsack,
    milp_knapsack,
)
from terrakit.sizing.headcount import (
    BestHeadcount,
    HeadcountCurve,
    frontier,
    headcount_curve,
)
from terrakit.sizing.quotas import QuotaResult, quotas
from terrakit.sizing.response import ResponseCurves, ResponseModel, hill
from terrakit.sizing.workload import RepsNeeded, WorkloadResult, workload

__all__ = [
    "BestHeadcount",
    "CallPlan",
    "HeadcountCurve",
    "QuotaResult",
    "RepsNeeded",
    "ResponseCurves",
    "ResponseModel",
    "WorkloadResult",
    "allocate_calls",
    "frontier",
    "greedy_knapsack",
    "headcount_curve",
    "hill",
    "milp_knapsack",
    "quotas",
    "workload",
]
