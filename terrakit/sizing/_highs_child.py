"""HiGHS for the call-allocation MILP, in this process or as a child process.

HiGHS may run well past its time limit on large call-allocation models
(presolve and its clique table do not watch the clock: 20-44 s for a 1-s limit
on 90,000 choices), and a thread cannot be stopped.  Large models are
therefore solved by this file run as a script, in a child process that
:func:`terrakit.sizing.allocation._run_highs_child` kills past the deadline.
The script imports only numpy and highspy, not terrakit.

Usage (by the parent only)::

    python _highs_child.py MODEL.npz OUT.npz DEADLINE_EPOCH_S MIP_REL_GAP
"""

from __future__ import annotations

import sys
import time
from typing import Any

import numpy as np


def solve_arrays(
    arrays: Any, left: float, gap: float, in_child: bool = False
) -> dict[str, Any]:
    """Build the call-allocation model (the arrays of
    ``terrakit.sizing.allocation._highs_arrays``) in HiGHS and solve it for
    ``left`` seconds with relative gap ``gap``.

    ``in_child``: run as this file's script, where terrakit is not imported
    (its import takes seconds); in the parent, HiGHS gets terrakit's settings.
    """
    import highspy

    if in_child:
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
    else:
        from terrakit.design._highs import new_highs

        h = new_highs()
    cost = np.asarray(arrays["cost"], dtype=float)
    m = len(cost)
    lp = highspy.HighsLp()
    lp.num_col_ = m
    lp.num_row_ = len(arrays["row_lower"])
    lp.sense_ = highspy.ObjSense.kMaximize
    lp.col_cost_ = cost
    lp.col_lower_ = np.zeros(m)
    lp.col_upper_ = np.ones(m)
    inf = highspy.kHighsInf
    lp.row_lower_ = np.where(np.isinf(arrays["row_lower"]), -inf, arrays["row_lower"])
    lp.row_upper_ = np.asarray(arrays["row_upper"], dtype=float)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = np.asarray(arrays["start"])
    lp.a_matrix_.index_ = np.asarray(arrays["index"])
    lp.a_matrix_.value_ = np.asarray(arrays["value"])
    lp.integrality_ = [highspy.HighsVarType.kInteger] * m
    h.passModel(lp)
    h.setOptionValue("time_limit", max(float(left), 1e-3))
    h.setOptionValue("mip_rel_gap", float(gap))
    h.run()
    ms = h.getModelStatus()
    status = (
        "optimal"
        if ms == highspy.HighsModelStatus.kOptimal
        else "time_limit"
        if ms
        in (
            highspy.HighsModelStatus.kTimeLimit,
            highspy.HighsModelStatus.kInterrupt,
            highspy.HighsModelStatus.kSolutionLimit,
            highspy.HighsModelStatus.kIterationLimit,
        )
        else h.modelStatusToString(ms)
    )
    info = h.getInfo()
    has_plan = info.primal_solution_status == 2  # kSolutionStatusFeasible
    x = np.round(np.asarray(h.getSolution().col_value)) if has_plan else None
    bound = float(info.mip_dual_bound)
    return {"status": status, "x": x, "bound": bound if np.isfinite(bound) else np.inf}


def main(argv: list[str]) -> None:
    """Read the model, solve it until the wall-clock deadline, write the answer."""
    src, dst, deadline, gap = argv
    arrays = dict(np.load(src))
    left = float(deadline) - time.time()
    out = solve_arrays(arrays, left, float(gap), in_child=True)
    np.savez(
        dst,
        status=out["status"],
        bound=out["bound"],
        x=np.zeros(0) if out["x"] is None else out["x"],
        has_plan=out["x"] is not None,
    )


if __name__ == "__main__":  # pragma: no cover - runs in the child
    main(sys.argv[1:])
