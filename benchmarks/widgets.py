"""Widgets benchmark: how fast a reassignment click updates a TerritoryMap.

Run::

    .venv/bin/python benchmarks/widgets.py                 # 3,000 + 259 units
    .venv/bin/python benchmarks/widgets.py --units 3000 --clicks 40

For each instance the script builds a :class:`terrakit.widgets.TerritoryMap`
(no browser: the widgets talk to the stand-in comm that ipywidgets uses
outside a kernel, whose ``publish_msg`` is wrapped to count the messages and
their JSON bytes) and then delivers ``--clicks`` click messages to boundary
units, each moving the unit to a neighbouring territory — exactly what the
front end sends.  Per click it times the whole Python side (state update,
polygon restyle, balance rows, KPI table, contiguity) and counts the bytes
sent to the front end.

Two ways of drawing the same map with ipyleaflet's GeoJSON layer are timed
side by side on the same clicks, as baselines:

* ``geojson-all``: one GeoJSON layer with a ``style_callback``; a move
  re-assigns the data, so the whole feature collection is re-sent;
* ``geojson-territory``: one GeoJSON layer per territory; a move re-sends the
  two territories involved.

Target (issue #9): ≤ 200 ms per click at 3,000 polygons.  Medians, because
the machine is shared; the load average is printed with the table.
"""

from __future__ import annotations

import argparse
import copy
import os
import platform
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

import terrakit as tk
from terrakit.data.synthetic import synthetic_region
from terrakit.widgets._display import display_geometry, territory_colors
from terrakit.widgets._measure import record_messages

CLICK = {"event": "interaction", "type": "click", "coordinates": [0.0, 0.0]}


def _clicks(m: Any, n: int, seed: int) -> list[tuple[int, Any]]:
    """``n`` (unit position, neighbouring territory) pairs on territory borders."""
    st = m.state
    rng = np.random.default_rng(seed)
    adj = st.adjacency.matrix
    pos = adj.indices
    out: list[tuple[int, Any]] = []
    codes = st.codes.copy()
    order = rng.permutation(st.n_units)
    for i in order:
        nb = pos[adj.indptr[i] : adj.indptr[i + 1]]
        other = sorted({int(c) for c in codes[nb]} - {int(codes[i])})
        if other:
            k = other[int(rng.integers(len(other)))]
            out.append((int(i), st.territories[k]))
            codes[i] = k
        if len(out) == n:
            break
    return out


def _time_terrakit(m: Any, clicks: list[tuple[int, Any]]) -> tuple[list, list]:
    ms, nbytes = [], []
    for i, t in clicks:
        m.picker.value = t
        with record_messages() as sent:
            t0 = time.perf_counter()
            m.unit_layers[i]._handle_mouse_events(None, dict(CLICK), [])
            ms.append(1000 * (time.perf_counter() - t0))
        nbytes.append(sum(s.nbytes for s in sent))
    return ms, nbytes


def _features(m: Any) -> list[dict[str, Any]]:
    geom, _ = display_geometry(m._units, m.simplify_m)
    feats = []
    for uid, g in zip(m.state.unit_ids, geom.to_numpy(), strict=True):
        gj = g.__geo_interface__
        feats.append(
            {
                "type": "Feature",
                "id": str(uid),
                "properties": {"unit_id": str(uid)},
                "geometry": {
                    "type": gj["type"],
                    "coordinates": _round(gj["coordinates"]),
                },
            }
        )
    return feats


def _round(c: Any) -> Any:
    if isinstance(c, (tuple, list)) and c and isinstance(c[0], (int, float)):
        return [round(float(c[0]), 5), round(float(c[1]), 5)]
    return [_round(x) for x in c]


def _time_geojson_all(
    m: Any,
    base: np.ndarray,
    clicks: list[tuple[int, Any]],
    feats: list[dict[str, Any]],
) -> tuple[list, list]:
    import ipyleaflet as L

    st = m.state
    codes = base.copy()
    colors = territory_colors(st.territories)
    idx = {str(u): k for k, u in enumerate(st.unit_ids)}

    def style(feature: dict[str, Any]) -> dict[str, Any]:
        k = codes[idx[feature["properties"]["unit_id"]]]
        return {"fillColor": colors[st.territories[k]], "color": "#fff", "weight": 1}

    fc = {"type": "FeatureCollection", "features": feats}
    layer = L.GeoJSON(data=fc, style_callback=style)
    ms, nbytes = [], []
    for i, t in clicks:
        with record_messages() as sent:
            t0 = time.perf_counter()
            codes[i] = st.territories.index(t)
            layer.style_callback = _Restyle(style)  # forces the re-send
            ms.append(1000 * (time.perf_counter() - t0))
        nbytes.append(sum(s.nbytes for s in sent))
    return ms, nbytes


class _Restyle:
    """A fresh callable each time, so ipyleaflet sees a changed style_callback."""

    def __init__(self, f: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
        self.f = f

    def __call__(self, feature: dict[str, Any]) -> dict[str, Any]:
        return self.f(feature)


def _time_geojson_territory(
    m: Any,
    base: np.ndarray,
    clicks: list[tuple[int, Any]],
    feats: list[dict[str, Any]],
) -> tuple[list, list]:
    import ipyleaflet as L

    st = m.state
    codes = base.copy()
    colors = territory_colors(st.territories)
    layers = {}
    for k, t in enumerate(st.territories):
        fc = {
            "type": "FeatureCollection",
            "features": [f for f, c in zip(feats, codes, strict=True) if c == k],
        }
        layers[k] = L.GeoJSON(
            data=fc, style={"fillColor": colors[t], "color": "#fff", "weight": 1}
        )
    ms, nbytes = [], []
    for i, t in clicks:
        with record_messages() as sent:
            t0 = time.perf_counter()
            old, new = int(codes[i]), st.territories.index(t)
            codes[i] = new
            for k in (old, new):
                layers[k].data = {
                    "type": "FeatureCollection",
                    "features": [
                        copy.copy(f)
                        for f, c in zip(feats, codes, strict=True)
                        if c == k
                    ],
                }
            ms.append(1000 * (time.perf_counter() - t0))
        nbytes.append(sum(s.nbytes for s in sent))
    return ms, nbytes


def run(n_units: int, n_clicks: int, seed: int = 0) -> list[dict[str, Any]]:
    if n_units == 259:
        study, name = tk.load_sample("southeast"), "sample southeast (259 counties)"
    else:
        study = synthetic_region(
            n_units=n_units, n_accounts=3 * n_units, n_reps=20, seed=seed
        )
        name = f"synthetic_region({n_units}, 20 reps)"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with record_messages() as opened:
            t0 = time.perf_counter()
            m = tk.widgets.TerritoryMap(study, "current")
            build = time.perf_counter() - t0
    open_bytes = sum(s.nbytes for s in opened)
    base = m.state.codes.copy()
    clicks = _clicks(m, n_clicks, seed)
    rows = []
    ms, nb = _time_terrakit(m, clicks)
    rows.append(_row(name, "terrakit (polygon per unit)", ms, nb, build, open_bytes))
    t0 = time.perf_counter()
    m.undo()
    undo_ms = 1000 * (time.perf_counter() - t0)
    rows[-1]["undo_ms"] = undo_ms
    feats = _features(m)
    ms, nb = _time_geojson_territory(m, base, clicks, feats)
    rows.append(_row(name, "geojson-territory (2 layers re-sent)", ms, nb))
    ms, nb = _time_geojson_all(m, base, clicks[: max(5, n_clicks // 4)], feats)
    rows.append(_row(name, "geojson-all (whole layer re-sent)", ms, nb))
    return rows


def _row(
    name: str,
    how: str,
    ms: list[float],
    nb: list[int],
    build: float | None = None,
    open_bytes: int | None = None,
) -> dict[str, Any]:
    return {
        "instance": name,
        "how": how,
        "clicks": len(ms),
        "median_ms": float(np.median(ms)),
        "p90_ms": float(np.quantile(ms, 0.9)),
        "median_kb": float(np.median(nb)) / 1000,
        "build_s": build,
        "open_mb": None if open_bytes is None else open_bytes / 1e6,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--units", type=int, nargs="*", default=[3000, 259])
    ap.add_argument("--clicks", type=int, default=40)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    rows = []
    for n in a.units:
        rows.extend(run(n, a.clicks, a.seed))
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    print(
        f"\nwidgets benchmark — {platform.node()}, {os.cpu_count()} cores, "
        f"load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}\n"
    )
    print(
        "| instance | how | clicks | median ms/click | p90 ms | median kB/click "
        "| build s | first display MB |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        build = "" if r["build_s"] is None else f"{r['build_s']:.1f}"
        opened = "" if r["open_mb"] is None else f"{r['open_mb']:.2f}"
        print(
            f"| {r['instance']} | {r['how']} | {r['clicks']} | {r['median_ms']:.1f} "
            f"| {r['p90_ms']:.1f} | {r['median_kb']:.1f} | {build} | {opened} |"
        )
    for r in rows:
        if "undo_ms" in r:
            print(f"\nundo of one click ({r['instance']}): {r['undo_ms']:.1f} ms")


if __name__ == "__main__":
    main()
