"""``TerritoryMap``: edit an alignment on a map, with live balance and undo/redo.

Every unit is its own ipyleaflet :class:`~ipyleaflet.Polygon` inside one
:class:`~ipyleaflet.LayerGroup`.  Moving a unit changes the style traits of
that polygon only, so the front end receives one small ``update`` message per
changed unit (a few hundred bytes) instead of the whole layer; the balance
panel likewise re-sends only the rows of the territories that changed.
"""

from __future__ import annotations

import html
import threading
import time
from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import Any

import ipyleaflet as L
import ipywidgets as W
import numpy as np
import pandas as pd
from shapely import points as _points
from shapely.geometry import shape

from terrakit._runargs import as_number, check_time_limit
from terrakit.data.alignment import Alignment, make_provenance
from terrakit.data.geo import adjacency as build_adjacency
from terrakit.exceptions import SpecificationError
from terrakit.widgets._display import (
    LOCK_COLOR,
    UNCHANGED,
    choropleth_classes,
    display_geometry,
    leaflet_locations,
    territory_colors,
)
from terrakit.widgets.panel import BalancePanel, _fmt
from terrakit.widgets.state import (
    KPI_COLUMNS,
    Change,
    EditorState,
    check_adjacency,
)

__all__ = ["TerritoryMap"]

Style = tuple[str, str, int, str | None]  # fill colour, stroke colour, weight, dash

_EDGE = "#ffffff"


def check_simplify_m(simplify_m: Any) -> float | None:
    """``simplify_m`` as metres >= 0 (``None`` kept), or a SpecificationError."""
    if simplify_m is None:
        return None
    m = as_number(simplify_m)
    if isinstance(simplify_m, bool) or not (np.isfinite(m) and m >= 0):
        raise SpecificationError(
            f"simplify_m must be a number of metres >= 0, got {simplify_m!r}; "
            "e.g. simplify_m=100 draws the shapes simplified to 100 m, 0 draws "
            "them as they are and None chooses from the map's extent"
        )
    return m


def _zoom_for(bounds: np.ndarray, width_px: int = 640, height_px: int = 520) -> int:
    """Web-Mercator zoom at which ``bounds`` (minx, miny, maxx, maxy) fits."""
    minx, miny, maxx, maxy = (float(b) for b in bounds)
    lon_span = max(maxx - minx, 1e-6)
    lat_mid = np.radians((miny + maxy) / 2)
    lat_span = max((maxy - miny) / max(np.cos(lat_mid), 0.1), 1e-6)
    z = min(
        np.log2(width_px * 360.0 / (256.0 * lon_span)),
        np.log2(height_px * 360.0 / (256.0 * lat_span)),
    )
    return int(np.clip(np.floor(z), 1, 18))


class TerritoryMap(W.VBox):
    """Interactive territory editor: click units to move them, watch the balance.

    Parameters
    ----------
    study
        A :class:`~terrakit.data.Study` with polygon units.
    alignment
        The starting alignment or its name in the study.  Units its
        provenance records as locked (``locked`` of a plan saved by
        :meth:`save_as`, ``locked_reasons`` of a solver's result) are locked
        again in their territory with their reasons; the status line says so.
    measures
        Unit columns to balance (default: ``workload`` when present, else
        ``units``); the first one is drawn in the balance panel.
    tolerance
        Balance band ``±tolerance`` of the mean (0.05 = ±5 %).
    color_by
        ``"territory"``, ``"change:<alignment name>"`` (moved units against
        another alignment of the study) or ``"kpi:<unit column>"``
        (quantile choropleth with legend).
    simplify_m
        Douglas–Peucker tolerance in metres (>= 0; 0: not simplified) for the
        drawn shapes (``None``: automatic, see
        :func:`terrakit.widgets._display.display_geometry`).
    basemap
        ``False`` (default): no tiles, nothing is downloaded; ``True``:
        OpenStreetMap tiles, fetched by the browser.
    contiguity
        Show contiguity warnings (builds the queen adjacency once, unless
        ``adjacency`` is given).
    adjacency
        A :class:`~terrakit.data.geo.Adjacency`: the unit graph for
        "Optimise" (whatever ``contiguity`` is) and, with ``contiguity=True``,
        for the warnings, instead of the queen adjacency: e.g.
        ``tk.data.geo.adjacency(units, snap_m=500)`` when the study's polygons
        come from different sources, or one with island links
        (``Adjacency.with_links``).
    time_limit
        Seconds for the "Optimise" button.

    Attributes
    ----------
    state : EditorState
        The editing state (alignment codes, undo/redo, locks, totals).  The
        map observes it: edits made through it (``m.state.move(...)``,
        ``m.state.undo()``) are drawn like those of the map's own methods.
    study : Study
        The study, including alignments saved with :meth:`save_as`.
    map : ipyleaflet.Map
    picker : ipywidgets.Dropdown
        The territory that clicked units move to.
    save_overwrite : ipywidgets.Checkbox
        Lets the "Save as…" button replace an alignment of the same name
        (unticked again after each save).
    colors : dict
        Territory → colour, all distinct, touching territories contrasting
        (see :func:`terrakit.widgets._display.territory_colors`); the map,
        the balance panel's swatches and the rep home markers use it.  Each
        territory prefers the colour of its rank among the sorted territory
        ids, so a map of a related plan (e.g. one saved with :meth:`save_as`
        and opened again) colours the territories alike; the colours do not
        change while editing.
    panel : BalancePanel

    Examples
    --------
    >>> m = TerritoryMap(study, alignment="current")  # doctest: +SKIP
    >>> m                                              # doctest: +SKIP
    >>> m.move(["13121"], "R04")                       # doctest: +SKIP
    >>> study = m.save_as("edited")                    # doctest: +SKIP
    """

    def __init__(
        self,
        study: Any,
        alignment: Alignment | str = "current",
        measures: Sequence[str] | None = None,
        tolerance: float = 0.05,
        *,
        color_by: str = "territory",
        simplify_m: float | None = None,
        basemap: bool = False,
        contiguity: bool = True,
        adjacency: Any = None,
        time_limit: float = 30.0,
        height: str = "540px",
    ) -> None:
        from terrakit.metrics import _alignment

        if not hasattr(study, "units") or not hasattr(study, "with_alignment"):
            raise TypeError(
                f"TerritoryMap needs a terrakit Study, got {type(study).__name__}; "
                "build one with tk.Study(units, reps=...)"
            )
        check_time_limit(time_limit)
        simplify = check_simplify_m(simplify_m)
        check_adjacency(adjacency)
        self.study = study
        units = study.unit_measures() if study.accounts is not None else study.units
        al = _alignment(study, alignment)
        if measures is None:
            measures = ["workload"] if "workload" in units.columns else ["units"]
        reps = study.reps
        rep_ids = [] if reps is None else [r for r in reps.index]
        extra = [r for r in rep_ids if r not in set(al.assignment.to_numpy())]
        rep_like = set(rep_ids) & set(al.assignment.to_numpy())
        adj = None
        given = None if adjacency is None else adjacency.subgraph(units.index)
        if contiguity and given is not None:
            adj = given
        elif contiguity:
            import warnings

            from terrakit.exceptions import TerrakitWarning

            with warnings.catch_warnings():
                warnings.simplefilter("ignore", TerrakitWarning)
                adj = build_adjacency(units)
        self.state = EditorState(
            units,
            al,
            measures,
            tolerance,
            territories=extra if rep_like else None,
            adjacency=adj,
        )
        self.state.territory_fix = (
            "the map's territories are those of its starting alignment and, when "
            "they are rep ids, every rep of study.reps; add the rep to the "
            "study's reps table (study.replace(reps=...)) and build the map again"
        )
        #: the unit graph "Optimise" gives the solver (None: the solver's own)
        self._solver_adjacency = given if given is not None else adj
        self.time_limit = float(time_limit)
        self.last_result: Any = None
        self._units = units
        st = self.state
        geom, self.simplify_m = display_geometry(units, simplify)
        rp = units.geometry.to_crs("EPSG:4326").representative_point()
        self._rep_points = _points(np.column_stack([rp.x, rp.y]))
        self.colors = territory_colors(
            st.territories, _touching_territories(st, rp.x.to_numpy(), rp.y.to_numpy())
        )
        restored = self._restore_locks(al)
        self._hover_text = self._unit_texts(units)
        # -- map layers: one polygon per unit -----------------------------------
        self._styles: list[Style] = [("", "", 0, None)] * st.n_units
        self._color_by = "territory"
        self._kpi_fill: np.ndarray | None = None
        self._ref: Alignment | None = None
        self._moved_ref: np.ndarray | None = None
        self.unit_layers: list[L.Polygon] = []
        for i, g in enumerate(geom.to_numpy()):
            fill, edge, w, dash = self._style_of(i)
            lay = L.Polygon(
                locations=leaflet_locations(g),
                fill_color=fill,
                color=edge,
                weight=w,
                dash_array=dash,
                fill_opacity=0.75,
                opacity=1.0,
                name=str(st.unit_ids[i]),
            )
            lay.on_click(self._click_handler(i))
            lay.on_mouseover(self._hover_handler(i))
            self._styles[i] = (fill, edge, w, dash)
            self.unit_layers.append(lay)
        self.units_layer = L.LayerGroup(layers=self.unit_layers, name="units")
        layers: list[L.Layer] = []
        if basemap:
            layers.append(L.basemap_to_tiles(L.basemaps.OpenStreetMap.Mapnik))
        layers.append(self.units_layer)
        self.homes_layer = self._homes(reps)
        if self.homes_layer is not None:
            layers.append(self.homes_layer)
        b = geom.total_bounds
        self.map = L.Map(
            layers=tuple(layers),
            center=((b[1] + b[3]) / 2, (b[0] + b[2]) / 2),
            zoom=_zoom_for(b),
            scroll_wheel_zoom=True,
            attribution_control=bool(basemap),
            layout=W.Layout(height=height, width="100%"),
        )
        self.map.add_class("tk-map")
        if not basemap:
            self.map.style = L.MapStyle(cursor="pointer")
        self.hover = W.HTML(
            '<div style="font:12px sans-serif">hover a unit</div>',
            layout=W.Layout(min_width="160px"),
        )
        self.legend = W.HTML()
        self.map.add(L.WidgetControl(widget=self.hover, position="topright"))
        self.map.add(L.WidgetControl(widget=self.legend, position="bottomleft"))
        self.draw = L.DrawControl(
            polygon={"shapeOptions": {"color": "#333", "fillOpacity": 0.05}},
            rectangle={"shapeOptions": {"color": "#333", "fillOpacity": 0.05}},
            polyline={},
            circlemarker={},
            circle={},
            marker={},
            edit=False,
            remove=False,
        )
        self.draw.on_draw(self._on_draw)
        self.map.add(self.draw)
        # -- controls ---------------------------------------------------------------
        self.picker = W.Dropdown(
            options=[(str(t), t) for t in st.territories],
            value=st.territories[0],
            description="Move to",
            layout=W.Layout(width="190px"),
        )
        self.mode = W.ToggleButtons(
            options=[("move", "move"), ("lock", "lock"), ("unlock", "unlock")],
            value="move",
            tooltips=[
                "clicked units move to the picked territory",
                "clicked units are locked in their territory",
                "clicked units are unlocked",
            ],
            style={"button_width": "68px"},
        )
        self.reason = W.Text(placeholder="lock reason", layout=W.Layout(width="150px"))
        self.undo_button = W.Button(description="Undo", icon="undo", disabled=True)
        self.redo_button = W.Button(description="Redo", icon="repeat", disabled=True)
        self.undo_button.on_click(lambda _: self.undo())
        self.redo_button.on_click(lambda _: self.redo())
        for b_ in (self.undo_button, self.redo_button):
            b_.layout.width = "80px"
        color_opts = [("territory", "territory")]
        color_opts += [(f"change vs {n}", f"change:{n}") for n in study.alignments]
        num = [
            c
            for c in units.columns
            if c != "geometry" and pd.api.types.is_numeric_dtype(units[c])
        ]
        color_opts += [(c, f"kpi:{c}") for c in num]
        self.color_picker = W.Dropdown(
            options=color_opts,
            value="territory",
            description="Colour by",
            layout=W.Layout(width="230px"),
        )
        self._picker_quiet = False  # True while save_as replaces the options
        self.color_picker.observe(
            lambda ch: None if self._picker_quiet else self._color_picked(ch["new"]),
            names="value",
        )
        self.method = W.Dropdown(
            options=["align", "rebalance"],
            value="align",
            layout=W.Layout(width="105px"),
        )
        self.optimise_button = W.Button(
            description="Optimise", icon="magic", button_style="primary"
        )
        self.optimise_button.on_click(lambda _: self._optimise_clicked())
        self.progress = W.FloatProgress(
            value=0.0, min=0.0, max=1.0, layout=W.Layout(width="120px")
        )
        self.save_name = W.Text(placeholder="save as…", layout=W.Layout(width="140px"))
        self.save_button = W.Button(description="Save as…", icon="save")
        self.save_button.on_click(lambda _: self._save_clicked())
        self.save_overwrite = W.Checkbox(
            value=False,
            description="overwrite",
            indent=False,
            layout=W.Layout(width="90px"),
        )
        self.status = W.HTML()
        self.panel = BalancePanel(st, self.colors)
        self.contiguity_box = W.HTML()
        self.kpi_table = W.HTML()
        self.kpi_box = W.Accordion(children=[self.kpi_table], titles=("KPI table",))
        top = W.HBox(
            [
                self.picker,
                self.mode,
                self.reason,
                self.undo_button,
                self.redo_button,
            ]
        )
        right = W.VBox(
            [self.panel, self.contiguity_box], layout=W.Layout(width="440px")
        )
        middle = W.HBox(
            [W.Box([self.map], layout=W.Layout(flex="1 1 auto")), right],
            layout=W.Layout(width="100%"),
        )
        bottom = W.HBox(
            [
                self.color_picker,
                self.method,
                self.optimise_button,
                self.progress,
                self.save_name,
                self.save_overwrite,
                self.save_button,
            ]
        )
        super().__init__([top, middle, bottom, self.status, self.kpi_box])
        self.add_class("tk-territory-map")
        if color_by != "territory":
            self.set_color_by(color_by)  # explains an unknown value
        st.subscribe(self._on_state_change)  # edits via m.state redraw too
        self._refresh_panels()
        self._say(
            f"{st.n_units} units, {len(st.territories)} territories; click a unit to "
            f"move it to the picked territory (draw a box or polygon to move "
            f"several)." + restored
        )

    # -- public API ---------------------------------------------------------------
    @property
    def alignment(self) -> Alignment:
        """The current state as an :class:`~terrakit.data.Alignment`."""
        return self.state.alignment

    def move(self, unit_ids: Iterable[Hashable], territory: Hashable) -> Change:
        """Move units to ``territory`` (one undoable step) and redraw what changed.

        ``unit_ids``: ids, a selection of the units table or a boolean mask
        (see :meth:`EditorState.positions`).
        """
        ch = self.state.move(unit_ids, territory)
        self._say(ch.label + _locked_note(ch.skipped, "not moved"))
        return ch

    def lock(self, unit_ids: Iterable[Hashable], reason: str | None = "") -> None:
        """Lock units in their current territory with a reason.

        An empty reason (``""`` or ``None``) keeps the recorded reason of
        units already locked
        (see :meth:`EditorState.lock`); the status line counts the newly
        locked units and those whose reason changed.
        """
        st = self.state
        ids = st.unit_ids[np.unique(st.positions(unit_ids))]
        was = set(st.locks)
        pos = st.lock(ids, reason)  # the state's observer redraws
        new = sum(1 for p in pos.tolist() if p not in was)
        text = f"locked {new} unit(s)"
        if len(pos) > new:
            text += f"; new reason for {len(pos) - new} already locked"
        kept = len(ids) - len(pos)
        if kept:
            text += f"; {kept} already locked, reason kept"
        self._say(text)

    def unlock(self, unit_ids: Iterable[Hashable]) -> None:
        """Unlock units."""
        pos = self.state.unlock(unit_ids)
        self._say(f"unlocked {len(pos)} unit(s)")

    def undo(self) -> Change | None:
        """Undo the last step (``None``, and a note, when there is none).

        Locked units stay where they are; the status line names them (see
        :meth:`EditorState.undo`, also for what a later redo does).
        """
        ch = self.state.undo()
        if ch is not None:
            self._say(f"undone: {ch.label}" + _locked_note(ch.skipped, "kept in place"))
        else:
            self._say("nothing to undo")
        return ch

    def redo(self) -> Change | None:
        """Redo the last undone step (``None``, and a note, when there is none).

        Units locked since the undo stay where they are; the status line
        names them (see :meth:`EditorState.redo`).
        """
        ch = self.state.redo()
        if ch is not None:
            self._say(f"redone: {ch.label}" + _locked_note(ch.skipped, "kept in place"))
        else:
            self._say("nothing to redo")
        return ch

    def select(self, unit_ids: Iterable[Hashable]) -> None:
        """Apply the current mode (move / lock / unlock) to ``unit_ids``.

        This is what a click or a drawn box does.  ``unit_ids`` as for
        :meth:`move`.
        """
        st = self.state
        ids = st.unit_ids[np.unique(st.positions(unit_ids))].tolist()
        if not ids:
            return
        mode = self.mode.value
        if mode == "move":
            self.move(ids, self.picker.value)
        elif mode == "lock":
            self.lock(ids, self.reason.value)
        else:
            self.unlock(ids)

    def set_alignment(
        self, alignment: Alignment | str, label: str | None = None
    ) -> Change:
        """Load another plan as one undoable step and redraw what changed.

        Parameters
        ----------
        alignment
            An :class:`~terrakit.data.Alignment` over the map's units, or the
            name of one in :attr:`study`; its territories must be the map's.
        label
            The step's label (default ``"load <alignment name>"``).

        Returns
        -------
        Change
            The step (:meth:`undo` brings the previous plan back).

        Raises
        ------
        DataValidationError
            If the alignment does not cover the units or moves a locked unit
            (unlock it first).
        KeyError
            For a name that is not an alignment of :attr:`study`.
        SpecificationError
            For a territory the map does not have.
        """
        from terrakit.metrics import _alignment

        al = _alignment(self.study, alignment)
        ch = self.state.set_alignment(
            al, label=f"load {al.name}" if label is None else str(label)
        )
        self._say(f"{ch.label}: {ch.n_units} units changed territory")
        return ch

    @property
    def color_by(self) -> str:
        """The colouring: ``"territory"``, ``"change:<name>"`` or ``"kpi:<col>"``."""
        return self._color_by

    def set_color_by(self, value: str) -> None:
        """Recolour the map (see :attr:`color_by`); unknown values raise.

        Raises
        ------
        SpecificationError
            For an unknown colouring, alignment or column.
        DataValidationError
            For ``"change:<name>"`` when that alignment's territory ids equal
            the map's only as text (``'1'`` and ``1``); the colouring is kept.
        """
        if not isinstance(value, str):
            raise SpecificationError(
                f"color_by must be 'territory', 'change:<alignment>' or "
                f"'kpi:<column>', got {value!r}"
            )
        if value == "territory":
            self._ref = self._moved_ref = self._kpi_fill = None
            self.legend.value = ""
        elif value.startswith("change:"):
            name = value.split(":", 1)[1]
            if name not in self.study.alignments:
                raise SpecificationError(
                    f"no alignment named {name!r} to compare with; the study has "
                    f"{sorted(self.study.alignments)}"
                )
            ref = self.study.alignments[name]
            moved = self.state.moved_from(ref)  # may refuse: change nothing first
            self._ref, self._moved_ref = ref, moved
            self._kpi_fill = None
        elif value.startswith("kpi:"):
            col = value.split(":", 1)[1]
            if col not in self._units.columns or not pd.api.types.is_numeric_dtype(
                self._units[col]
            ):
                num = [
                    c
                    for c in self._units.columns
                    if c != "geometry" and pd.api.types.is_numeric_dtype(self._units[c])
                ]
                raise SpecificationError(
                    f"cannot colour by {col!r}: not a numeric unit column; "
                    f"numeric columns: {num}"
                )
            cls, cols, edges = choropleth_classes(self._units[col].to_numpy(float))
            self._kpi_fill = np.array(
                [cols[c] if c >= 0 else UNCHANGED for c in cls], dtype=object
            )
            self._ref = self._moved_ref = None
            self.legend.value = self._kpi_legend(col, cols, edges)
        else:
            raise SpecificationError(
                f"color_by must be 'territory', 'change:<alignment>' or "
                f"'kpi:<column>', got {value!r}"
            )
        self._color_by = value
        if self.color_picker.value != value:
            self.color_picker.value = value
        self._restyle(np.arange(self.state.n_units))
        if self._moved_ref is not None:
            self._change_legend()

    def optimise(
        self,
        method: str | Callable[..., Any] = "align",
        *,
        time_limit: float | None = None,
        seed: int = 0,
        **kw: Any,
    ) -> Change:
        """Re-optimise from the current state, keeping the locks (one undoable step).

        Parameters
        ----------
        method
            ``"align"`` (:func:`terrakit.design.align` with the locks as
            ``locked=``; the balance bands are this map's measures and
            tolerance), ``"rebalance"`` (:func:`terrakit.realign.rebalance`
            from the current alignment), or a callable
            ``f(study, alignment, locked=..., balance=..., time_limit=...,
            seed=...)`` returning an Alignment or a result with
            ``.alignment``.  ``"align"`` and ``"rebalance"`` name the
            territories by rep id, so they need a map whose territories are
            the study's reps.  ``"rebalance"`` counts the ``sales`` moved
            (its ``moved_measure`` default) when the units carry sales, else
            this map's first measure (e.g. ``workload`` or ``units``); pass
            ``moved_measure=`` to choose.
        time_limit, seed
            Passed to the solver (default ``time_limit``: the map's).
        **kw
            Further keywords for the solver.

        Returns
        -------
        Change
            The step (undo brings the previous state back).  The solver's
            provenance is kept on it (:attr:`Change.record`) and written by
            :meth:`save_as` while the step is applied.

        Raises
        ------
        SpecificationError
            Before solving: an unknown ``method``, a ``time_limit`` that is
            not a positive number of seconds, or ``"align"`` /
            ``"rebalance"`` on a map whose territories are not the study's rep
            ids.  After solving: a solver that returns territories the map
            does not have.

        Notes
        -----
        The measure ``"units"`` (unit counts, the default when the units have
        no ``workload``) is balanced as a column of ones named ``units`` on a
        copy of the study's units given to the solver.
        """
        tl = self.time_limit if time_limit is None else check_time_limit(time_limit)
        st = self.state
        balance = {m: st.tolerance for m in st.measures}
        study = self.study
        if "units" in st.measures:
            # the solvers balance unit columns: count units as a column of ones
            units = study.units
            units["units"] = 1.0
            study = study.replace(units=units)
        locked = st.locked()
        current = st.alignment
        if callable(method):
            fn, name = method, getattr(method, "__name__", "custom")
            args: tuple[Any, ...] = (study, current)
        elif method == "align":
            from terrakit.design import align

            fn, name, args = align, "align", (study,)
        elif method == "rebalance":
            from terrakit.realign import rebalance

            fn, name, args = rebalance, "rebalance", (study, current)
        else:
            raise SpecificationError(
                f"method must be 'align', 'rebalance' or a callable, got {method!r}"
            )
        if name in ("align", "rebalance") and "n_territories" not in kw:
            self._check_rep_territories(name, kw.get("reps", self.study.reps))
        kwargs = _accepted(
            fn, {"balance": balance, "locked": locked, "time_limit": tl, "seed": seed}
        )
        if name == "rebalance" and not _has_sales(study):
            # rebalance's default moved_measure='sales' would fail: count the
            # map's own balanced measure moved instead
            kwargs.setdefault("moved_measure", st.measures[0])
        if name in ("align", "rebalance") and self._solver_adjacency is not None:
            # the map's graph: the one given, else the warnings' queen graph
            kwargs.setdefault("adjacency", self._solver_adjacency)
        kwargs.update(kw)
        result = self._run_with_progress(lambda: fn(*args, **kwargs), tl, name)
        new = result if isinstance(result, Alignment) else result.alignment
        self.last_result = result
        unknown = [t for t in new.territories if t not in set(st.territories)]
        if unknown:
            raise SpecificationError(
                f"optimise ({name}) returned territories {unknown[:10]} that are "
                f"not on this map (its territories: {_short(st.territories)}); "
                "nothing was changed: make the solver use the map's territory ids"
            )
        solver = getattr(result, "provenance", None)
        ch = st.set_alignment(
            new,
            label=f"optimise ({name})",
            record=None if solver is None else dict(solver),
        )
        status = getattr(result, "status", "done")
        self._say(f"optimise ({name}): {status}; {ch.n_units} units changed territory")
        return ch

    def save_as(self, name: str, *, overwrite: bool = False) -> Any:
        """Store the current alignment in the study under ``name``.

        The provenance records the base alignment, every applied step, the
        locks and, while an :meth:`optimise` step is applied (not undone),
        the solver's provenance of the latest such step as
        ``optimised_with``.  Returns the new study (also kept as
        :attr:`study`).  The colouring stays; a "change vs" view compares
        with the study's alignment of that name as it is after saving.

        Raises
        ------
        SpecificationError
            For an empty name or an existing one without ``overwrite=True``.
        """
        if not isinstance(name, str):
            raise SpecificationError(
                f"the alignment's name must be text, got {name!r}; e.g. "
                "m.save_as('edited')"
            )
        name = name.strip()
        if not name:
            raise SpecificationError("give a name to save the alignment under")
        if name in self.study.alignments and not overwrite:
            raise SpecificationError(
                f"the study already has an alignment named {name!r}; choose another "
                "name or pass overwrite=True"
            )
        cur = self.state.alignment
        prov = dict(cur.provenance)
        extra = {k: v for k, v in prov.items() if k not in _PROV_KEYS}
        solved = [c.record for c in self.state.undo_stack if c.record is not None]
        if solved:  # only optimise steps still applied describe the saved plan
            extra["optimised_with"] = dict(solved[-1])
        prov_new = make_provenance(
            "manual/widget",
            seed=prov.get("seed"),
            config=prov.get("config"),
            **extra,
        )
        al = Alignment(cur.assignment, name=name, provenance=prov_new)
        self.study = self.study.with_alignment(al, name=name)
        opts = [o for o in self.color_picker.options if o[1] != f"change:{name}"]
        i = 1 + sum(1 for o in opts if o[1].startswith("change:"))
        opts.insert(i, (f"change vs {name}", f"change:{name}"))
        # new options reset the picker's value: keep the colouring, then
        # re-apply it (a "change vs <name>" view re-reads the saved alignment)
        current = self._color_by
        self._picker_quiet = True
        try:
            with self.color_picker.hold_trait_notifications():
                self.color_picker.options = opts
                self.color_picker.value = current
        finally:
            self._picker_quiet = False
        self.set_color_by(current)
        self._say(
            f"saved as {name!r} in m.study ({len(self.study.alignments)} alignments)"
        )
        return self.study

    # -- internals ----------------------------------------------------------------
    def _restore_locks(self, al: Alignment) -> str:
        """Lock again the units that ``al``'s provenance records as locked.

        A plan saved by :meth:`save_as` records ``locked`` (unit id → reason),
        a solver's result ``locked_reasons``; each such unit is locked in its
        territory of ``al`` with its reason.  Returns the note for the status
        line (empty when nothing was recorded).
        """
        prov = al.provenance
        recorded: dict[str, Any] = {}
        for key in ("locked_reasons", "locked"):  # the map's own record wins
            rec = prov.get(key)
            if isinstance(rec, dict):
                recorded.update({str(u): r for u, r in rec.items()})
        if not recorded:
            return ""
        st = self.state
        by_text = {str(u): p for p, u in enumerate(st.unit_ids)}
        unknown = [u for u in recorded if u not in by_text]
        for u, r in recorded.items():
            if u in by_text:
                st.lock([st.unit_ids[by_text[u]]], "" if r is None else str(r))
        n = len(recorded) - len(unknown)
        note = (
            f" {n} unit(s) locked again as recorded in {al.name!r}"
            " (mode 'unlock' frees them)"
        )
        if unknown:
            note += (
                f"; {len(unknown)} recorded lock(s) not on the map: "
                f"{_short(unknown, 5)}"
            )
        return note + "."

    def _check_rep_territories(self, name: str, reps: pd.DataFrame | None) -> None:
        """Refuse, before solving, a map whose territories are not rep ids."""
        if reps is None:
            return  # the solver explains that it needs reps
        have = set(self.state.territories)
        missing = [r for r in reps.index if r not in have]
        if not missing:
            return
        t = self.state.territories
        raise SpecificationError(
            f"optimise({name!r}) gives each rep of the study a territory named by "
            f"its rep id, but the reps {_short(missing)} are not territories of "
            f"this map (its territories: {_short(t)}); nothing was solved.  Fix: "
            "build the map from an alignment whose territory ids are the rep ids, "
            f"e.g. Alignment(al.assignment.map({{{t[0]!r}: <its rep id>, ...}}), "
            "name='by rep'), or pass a callable as method that returns this map's "
            "territory ids"
        )

    def _click_handler(self, i: int) -> Callable[..., None]:
        def handler(**event: Any) -> None:
            self.select([self.state.unit_ids[i]])
            self._hover_handler(i)()

        return handler

    def _hover_handler(self, i: int) -> Callable[..., None]:
        def handler(**event: Any) -> None:
            st = self.state
            t = st.territories[int(st.codes[i])]
            lock = st.locks.get(i)
            extra = (
                f"<br><b>locked</b>: {html.escape(lock)}" if lock is not None else ""
            )
            self.hover.value = (
                f'<div class="tk-hover" style="font:12px sans-serif">'
                f"{self._hover_text[i]}<br>territory <b>{html.escape(str(t))}</b>"
                f"{extra}</div>"
            )

        return handler

    def _unit_texts(self, units: pd.DataFrame) -> list[str]:
        cols = [c for c in (*self.state.measures, *KPI_COLUMNS) if c in units.columns]
        cols = list(dict.fromkeys(cols))
        names = units["name"].astype(str).to_numpy() if "name" in units else None
        vals = {c: units[c].to_numpy(dtype=float) for c in cols}
        out = []
        for k, uid in enumerate(units.index):
            head = html.escape(str(uid))
            if names is not None:
                head = f"<b>{html.escape(names[k])}</b> ({head})"
            body = "".join(
                f"<br>{html.escape(c)} {_fmt(v[k]) if np.isfinite(v[k]) else '–'}"
                for c, v in vals.items()
            )
            out.append(head + body)
        return out

    def _homes(self, reps: pd.DataFrame | None) -> L.LayerGroup | None:
        if reps is None or not {"home_lon", "home_lat"} <= set(reps.columns):
            return None
        marks = []
        for rid, r in reps.iterrows():
            cm = L.CircleMarker(
                location=(float(r["home_lat"]), float(r["home_lon"])),
                radius=6,
                color="#111111",
                weight=2,
                fill_color=self.colors.get(rid, "#ffffff"),
                fill_opacity=1.0,
                name=f"home {rid}",
            )
            label = html.escape(str(r.get("name", rid)))
            text = f"<b>rep {html.escape(str(rid))}</b> {label}"

            def on_hover(_t: str = text, **event: Any) -> None:
                self.hover.value = f'<div style="font:12px sans-serif">{_t}</div>'

            cm.on_mouseover(on_hover)
            marks.append(cm)
        return L.LayerGroup(layers=marks, name="rep homes")

    def _style_of(self, i: int) -> Style:
        st = self.state
        t = st.territories[int(st.codes[i])]
        if self._kpi_fill is not None:
            fill = str(self._kpi_fill[i])
        elif self._moved_ref is not None:
            fill = self.colors[t] if self._moved_ref[i] else UNCHANGED
        else:
            fill = self.colors[t]
        if i in st.locks:
            return fill, LOCK_COLOR, 2, "4 3"
        return fill, _EDGE, 1, None

    def _restyle(self, positions: np.ndarray) -> None:
        """Send new styles for ``positions`` — only traits that changed."""
        for i in np.asarray(positions, dtype=np.int64).tolist():
            new = self._style_of(i)
            old = self._styles[i]
            if new == old:
                continue
            lay = self.unit_layers[i]
            with lay.hold_sync():
                if new[0] != old[0]:
                    lay.fill_color = new[0]
                if new[1] != old[1]:
                    lay.color = new[1]
                if new[2] != old[2]:
                    lay.weight = new[2]
                if new[3] != old[3]:
                    lay.dash_array = new[3]
            self._styles[i] = new

    def _on_state_change(self, kind: str, positions: np.ndarray) -> None:
        """Observer of :attr:`state`: redraw after any change, once."""
        if kind in ("lock", "unlock"):
            self._restyle(positions)
        else:
            self._after_change(positions)

    def _after_change(self, positions: np.ndarray) -> None:
        if self._moved_ref is not None and self._ref is not None and len(positions):
            self._moved_ref = self.state.moved_from(self._ref)
            self._change_legend()
        self._restyle(positions)
        self._refresh_panels()

    def _refresh_panels(self) -> None:
        st = self.state
        self.panel.refresh()
        warn = st.contiguity_warnings()
        self.contiguity_box.value = (
            '<div class="tk-contiguity" style="font:12px sans-serif;color:#b03a00">'
            + "<br>".join(f"⚠ {html.escape(w)}" for w in warn)
            + "</div>"
            if warn
            else '<div class="tk-contiguity" style="font:12px sans-serif;'
            'color:#2d7a2d">all territories contiguous</div>'
            if st.adjacency is not None
            else ""
        )
        self.kpi_table.value = _kpi_html(st.kpis())
        self.undo_button.disabled = not st.undo_stack
        self.redo_button.disabled = not st.redo_stack

    def _say(self, text: str) -> None:
        self.status.value = (
            f'<div class="tk-status" style="font:12px sans-serif">'
            f"{html.escape(text)}</div>"
        )

    def _on_draw(self, control: Any, action: str, geo_json: dict[str, Any]) -> None:
        if action != "created":
            return
        try:
            poly = shape(geo_json["geometry"])
            inside = poly.contains(self._rep_points)
            ids = self.state.unit_ids[np.asarray(inside, dtype=bool)].tolist()
            self.select(ids)
            if not ids:
                self._say("no unit inside the drawn shape")
        finally:
            self.draw.clear()

    def _kpi_legend(self, col: str, colors: list[str], edges: np.ndarray) -> str:
        rows = "".join(
            f'<div><span style="display:inline-block;width:12px;height:12px;'
            f'background:{c};margin-right:4px"></span>{_fmt(edges[k])} – '
            f"{_fmt(edges[k + 1])}</div>"
            for k, c in enumerate(colors)
        )
        return (
            f'<div class="tk-legend" style="font:11px sans-serif;background:#fff;'
            f'padding:4px"><b>{html.escape(col)}</b> (quantiles){rows}</div>'
        )

    def _change_legend(self) -> None:
        n = int(np.sum(self._moved_ref)) if self._moved_ref is not None else 0
        name = self._ref.name if self._ref is not None else "?"
        self.legend.value = (
            f'<div class="tk-legend" style="font:11px sans-serif;background:#fff;'
            f'padding:4px"><b>{n}</b> units in another territory than in '
            f"{html.escape(name)} (coloured); unchanged units grey</div>"
        )

    def _optimise_clicked(self) -> None:
        self.optimise_button.disabled = True
        try:
            self.optimise(self.method.value)
        except Exception as exc:  # shown in the widget, not lost in a callback
            self._say(f"optimise failed: {type(exc).__name__}: {exc}")
        finally:
            self.optimise_button.disabled = False

    def _color_picked(self, value: str) -> None:
        """Apply the picker's colouring; a refusal is shown and the picker
        goes back to the colouring in use."""
        try:
            self.set_color_by(value)
        except Exception as exc:  # shown in the widget, not lost in a callback
            self._say(f"colour by failed: {exc}")
            self._picker_quiet = True
            try:
                self.color_picker.value = self._color_by
            finally:
                self._picker_quiet = False

    def _save_clicked(self) -> None:
        name = self.save_name.value
        overwrite = bool(self.save_overwrite.value)
        if (
            not overwrite
            and isinstance(name, str)
            and name.strip() in self.study.alignments
        ):
            self._say(
                f"save failed: the study already has an alignment named "
                f"{name.strip()!r}; type another name, or tick 'overwrite' to "
                "replace it"
            )
            return
        try:
            self.save_as(name, overwrite=overwrite)
        except Exception as exc:
            self._say(f"save failed: {exc}")
        else:
            self.save_overwrite.value = False  # each overwrite is asked for

    def _run_with_progress(
        self, job: Callable[[], Any], time_limit: float, name: str
    ) -> Any:
        """Run ``job`` in a thread; tick the progress bar against the time limit."""
        box: dict[str, Any] = {}

        def work() -> None:
            try:
                box["result"] = job()
            except BaseException as exc:  # re-raised in the caller's thread
                box["error"] = exc

        th = threading.Thread(target=work, name=f"terrakit-{name}", daemon=True)
        t0 = time.perf_counter()
        self.progress.bar_style = "info"
        self.progress.value = 0.0
        th.start()
        while th.is_alive():
            th.join(0.2)
            el = time.perf_counter() - t0
            self.progress.value = min(el / max(time_limit, 1e-9), 0.99)
            self.progress.description = f"{el:.0f} s"
        self.progress.value = 1.0
        if "error" in box:
            self.progress.bar_style = "danger"
            raise box["error"]
        self.progress.bar_style = "success"
        return box["result"]


_PROV_KEYS = {"method", "seed", "config", "terrakit_version", "versions", "created"}


def _touching_territories(
    st: EditorState, x: np.ndarray, y: np.ndarray
) -> list[tuple[Any, Any]]:
    """Pairs of territories of ``st`` that touch, for colouring.

    From the unit graph when the state has one; else each territory's four
    nearest territories by the mean of their units' points ``x``, ``y``.
    """
    t = st.territories
    if st._adj_matrix is not None:
        coo = st._adj_matrix.tocoo()
        a, b = st.codes[coo.row], st.codes[coo.col]
        keep = a != b
        return sorted(
            {(t[i], t[j]) for i, j in zip(a[keep], b[keep], strict=True)}, key=str
        )
    n = len(t)
    cnt = np.bincount(st.codes, minlength=n).astype(float)
    own = np.flatnonzero(cnt > 0)
    cx = np.bincount(st.codes, weights=x, minlength=n)[own] / cnt[own]
    cy = np.bincount(st.codes, weights=y, minlength=n)[own] / cnt[own]
    d = np.hypot(cx[:, None] - cx[None, :], cy[:, None] - cy[None, :])
    np.fill_diagonal(d, np.inf)
    pairs = []
    for i in range(len(own)):
        for j in np.argsort(d[i], kind="stable")[: min(4, len(own) - 1)]:
            pairs.append((t[own[i]], t[own[j]]))
    return pairs


def _short(ids: Sequence[Any], n: int = 10) -> str:
    """``ids`` as a list, cut after ``n`` with the count of the rest."""
    items = list(ids)
    more = f" and {len(items) - n} more" if len(items) > n else ""
    return f"{items[:n]}{more}"


def _locked_note(skipped: Sequence[Hashable], what: str) -> str:
    """``"; 2 locked unit(s) kept in place: a, b"`` (empty without locked units)."""
    if not skipped:
        return ""
    ids = ", ".join(map(str, skipped[:5])) + (" ..." if len(skipped) > 5 else "")
    return f"; {len(skipped)} locked unit(s) {what}: {ids}"


def _has_sales(study: Any) -> bool:
    """Whether the units that :func:`terrakit.realign.rebalance` reads (with
    the accounts' aggregates) have a numeric ``sales`` column, its default
    ``moved_measure``."""
    units = study.unit_measures() if study.accounts is not None else study.units
    return "sales" in units.columns and pd.api.types.is_numeric_dtype(units["sales"])


def _accepted(fn: Callable[..., Any], kwargs: dict[str, Any]) -> dict[str, Any]:
    """The keywords of ``kwargs`` that ``fn`` takes (all of them with ``**kw``)."""
    import inspect

    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return dict(kwargs)
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return dict(kwargs)
    return {k: v for k, v in kwargs.items() if k in params}


def _kpi_html(kpis: pd.DataFrame) -> str:
    cols = list(kpis.columns)
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    body = []
    for t, r in kpis.iterrows():
        cells = []
        for c in cols:
            v = r[c]
            if pd.isna(v):
                s = "–"
            elif c == "penetration":
                s = f"{100 * v:.1f} %"
            elif c in ("units", "pieces", "accounts"):
                s = f"{int(v):,}"
            else:
                s = _fmt(float(v))
            warn = c == "pieces" and pd.notna(v) and v > 1
            style = ' style="color:#b03a00;font-weight:bold"' if warn else ""
            cells.append(f"<td{style}>{s}</td>")
        body.append(
            f'<tr data-territory="{html.escape(str(t), quote=True)}">'
            f"<th>{html.escape(str(t))}</th>{''.join(cells)}</tr>"
        )
    return (
        '<table class="tk-kpi" style="font:12px sans-serif;border-collapse:collapse;'
        'text-align:right"><thead><tr><th>territory</th>'
        f"{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )
