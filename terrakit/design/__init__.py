"""Territory design: balanced, compact, contiguous alignments with a proven bound.

- :func:`align` — from a Study to an :class:`AlignmentResult`;
- :func:`solve` — the engine on a matrix-form :class:`DesignProblem`;
- :func:`pareto` — compactness against balance tolerance.
"""

from terrakit.design.align import align, build_problem, choose_solver, pareto, solve
from terrakit.design.problem import DesignProblem
from terrakit.design.result import AlignmentResult

__all__ = [
    "AlignmentResult",
    "DesignProblem",
    "align",
    "build_problem",
    "choose_solver",
    "pareto",
    "solve",
]
