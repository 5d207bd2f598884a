"""Readers for public benchmark instances and a runner through the design engine.

``run(family, paths, time_limit=60, seed=0)`` returns one row per instance
(see :func:`terrakit.benchmarks.run.run`); families are registered in
:data:`terrakit.benchmarks.run.FAMILIES`.
"""

from terrakit.benchmarks.run import FAMILIES, register_family, run

__all__ = ["FAMILIES", "register_family", "run"]
