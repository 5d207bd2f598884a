"""Realignment: from today's alignment to a better one, and the questions after it.

- :func:`rebalance` restores balance while moving as little business as
  possible; :func:`disruption_front` traces balance tolerance against the
  share of business moved; :func:`diff` (also named :func:`diff_alignments`)
  says what changes hands, as an :class:`AlignmentDiff`;
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

#: ``tk.realign.diff(study, before, after)``, the name the README uses.  Like
#: ``compare``, ``rebalance``, ``impact`` and ``performance``, the function
#: takes the place of its submodule as an attribute of the package; the
#: submodule stays importable (``from terrakit.realign.diff import ...``,
#: ``importlib.import_module("terrakit.realign.diff")``).
diff = diff_alignments

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
    "diff",
    "diff_alignments",
    "disruption_front",
    "impact",
    "performance",
    "rebalance",
]
