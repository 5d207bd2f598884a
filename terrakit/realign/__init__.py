"""Realignment: from today's alignment to a better one, and the questions after it.

- :func:`rebalance` restores balance while moving as little business as
  possible; :func:`disruption_front` traces balance tolerance against the
  share of business moved; :class:`AlignmentDiff` says what changes hands;
- :class:`Scenario` records what-if edits (a rep leaves, a hire, a market
  grows, locks) as data and :func:`compare` sets scenarios side by side;
- :func:`assign_leads` routes new leads to reps, with a reason for each;
- :func:`performance` ranks territories with intervals and :func:`impact`
  estimates whether a past realignment worked (Bayesian difference in
  differences).
"""

from terrakit.realign.compare import Comparison, compare
from terrakit.realign.diff import AlignmentDiff, diff_alignments
from terrakit.realign.front import DisruptionFront, disruption_front
from terrakit.realign.impact import ImpactResult, impact
from terrakit.realign.leads import LeadAssignment, assign_leads
from terrakit.realign.performance import PerformanceResult, performance
from terrakit.realign.rebalance import RebalanceResult, rebalance
from terrakit.realign.scenario import Scenario, ScenarioResult

__all__ = [
    "AlignmentDiff",
    "Comparison",
    "DisruptionFront",
    "ImpactResult",
    "LeadAssignment",
    "PerformanceResult",
    "RebalanceResult",
    "Scenario",
    "ScenarioResult",
    "assign_leads",
    "compare",
    "diff_alignments",
    "disruption_front",
    "impact",
    "performance",
    "rebalance",
]
