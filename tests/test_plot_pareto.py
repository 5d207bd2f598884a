"""terrakit.plot.plot_pareto (tk.plot.pareto): order of the front, failed tolerances."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from terrakit.plot.pareto import plot_pareto


def test_front_is_drawn_by_tolerance_and_every_failed_tolerance_is_marked():
    """The line zigzagged in the order the values were given (10 -> 5 -> 20 %),
    and a 'not_found' tolerance got no mark (only 'infeasible' ones did).
    Now the line runs from tight to loose and each tolerance without a plan is
    a vertical line, styled by whether it is proven impossible."""
    front = pd.DataFrame(
        {
            "value": [0.10, 0.05, 0.20, 0.03, 0.01],
            "objective": [68.3, 77.0, 61.7, np.nan, np.nan],
            "lower_bound": [65.5, 69.4, 60.3, np.nan, np.nan],
            "status": ["feasible", "feasible", "optimal", "not_found", "infeasible"],
        }
    )
    ax = plot_pareto(front)
    lines = ax.get_lines()
    assert lines[0].get_xdata().tolist() == [5.0, 10.0, 20.0]
    assert lines[0].get_ydata().tolist() == [77.0, 68.3, 61.7]
    assert lines[1].get_xdata().tolist() == [5.0, 10.0, 20.0]
    marks = {
        line.get_xdata()[0]: (line.get_linestyle(), line.get_color(), line.get_label())
        for line in lines[2:]
    }
    assert marks == {
        1.0: (":", "#e45756", "infeasible (proven)"),
        3.0: ("--", "#f58518", "no plan found in time"),
    }
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == [
        "alignment",
        "lower bound",
        "infeasible (proven)",
        "no plan found in time",
    ]
    plt.close(ax.figure)


def test_several_failed_tolerances_share_one_legend_entry():
    front = pd.DataFrame(
        {
            "value": [0.02, 0.2, 0.01],
            "objective": [np.nan, 61.7, np.nan],
            "status": ["not_found", "optimal", "not_found"],
        }
    )
    ax = plot_pareto(front)
    assert [line.get_xdata()[0] for line in ax.get_lines()[1:]] == [1.0, 2.0]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["alignment", "no plan found in time"]
    plt.close(ax.figure)


def test_the_documented_path_of_the_plot_resolves():
    """tk.design.pareto said "Plot with terrakit.plot.pareto.plot_pareto", but
    terrakit.plot.pareto is the function (the package binds the name to it,
    shadowing the module): the documented path was an AttributeError."""
    import re

    import terrakit

    doc = terrakit.design.pareto.__doc__
    (path,) = re.findall(r"Plot with\s+:func:`([\w.]+)`", doc)
    obj = terrakit
    for name in path.split(".")[1:]:
        obj = getattr(obj, name)
    assert obj is plot_pareto is terrakit.plot.pareto
