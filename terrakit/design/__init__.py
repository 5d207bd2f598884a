"""Territory design: balanced, compact, contiguous alignments with a proven bound.

- :func:`align` — from a Study to an :class:`AlignmentResult`;
- :func:`solve` — the engine on a matrix-form :class:`DesignProblem`;
- :func:`pareto` — compactness against balance tolerance;
- :func:`ensemble` — many feasible plans (ReCom chains) and :func:`audit` of
  one plan against them;
- :func:`split_oversized` — units heavier than one territory's band split into
  equal parts (several territories' worth).
"""

from terrakit.design.align import align, build_problem, choose_solver, pareto, solve
from terrakit.design.audit import AuditReport, audit
from terrakit.design.ensemble import Ensemble, ensemble
from terrakit.design.oversized import OversizedSplit, split_oversized
from terrakit.design.problem import DesignProblem
from terrakit.design.result import AlignmentResult

__all__ = [
    "AlignmentResult",
    "AuditReport",
    "DesignProblem",
    "Ensemble",
    "OversizedSplit",
    "align",
    "audit",
    "build_problem",
    "choose_solver",
    "ensemble",
    "pareto",
    "solve",
    "split_oversized",
]
