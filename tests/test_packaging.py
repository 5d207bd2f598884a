"""Packaging: pyproject.toml and environment.yml agree; the public namespace."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# PyPI name -> conda-forge name(s), where they differ.
CONDA_NAMES = {
    "ortools": ["ortools-python"],
    "dask[distributed]": ["dask", "distributed"],
}
REQ = re.compile(r"^\s*([A-Za-z0-9_.\-\[\]]+)\s*(>=\s*[0-9][0-9.]*)?")


def _pyproject() -> dict[str, str]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    reqs = list(data["project"]["dependencies"])
    for extra in data["project"]["optional-dependencies"].values():
        reqs += extra
    out: dict[str, str] = {}
    for r in reqs:
        m = REQ.match(r)
        assert m, r
        name, ver = m.group(1).lower(), (m.group(2) or "").replace(" ", "")
        for conda in CONDA_NAMES.get(name, [name]):
            out[conda] = ver
    return out


def _environment() -> dict[str, str]:
    out: dict[str, str] = {}
    in_deps = False
    for line in (ROOT / "environment.yml").read_text().splitlines():
        if line.startswith("dependencies:"):
            in_deps = True
            continue
        m = re.match(r"^  - ([A-Za-z0-9_.\-]+)\s*(>=\s*[0-9][0-9.]*)?\s*$", line)
        if in_deps and m:
            out[m.group(1).lower()] = (m.group(2) or "").replace(" ", "")
    out.pop("python", None)
    out.pop("pip", None)
    return out


def test_environment_yml_matches_pyproject():
    py, env = _pyproject(), _environment()
    assert sorted(set(py) - set(env)) == [], "in pyproject.toml, not environment.yml"
    assert sorted(set(env) - set(py)) == [], "in environment.yml, not pyproject.toml"
    diff = {k: (py[k], env[k]) for k in py if py[k] != env[k]}
    assert diff == {}, f"version bounds differ (pyproject, environment): {diff}"


def test_environment_yml_is_conda_forge_only():
    text = (ROOT / "environment.yml").read_text()
    channels = re.search(r"channels:\n((?:\s+- .*\n)+)", text)
    assert channels is not None
    assert [c.strip("- \n") for c in channels.group(1).splitlines()] == ["conda-forge"]


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    readme = (ROOT / "README.md").read_text()
    assert "make test" in ci
    head = "\n".join(readme.splitlines()[:40])
    assert "make test" in head and "make demo" in head


def test_notebooks_are_committed_executed_without_widget_state():
    """Rendered outputs are kept (readers see results on GitHub) but widget
    state is stripped (the pre-commit nbstripout hook does this)."""
    notebooks = sorted((ROOT / "notebooks").rglob("*.ipynb"))
    assert len(notebooks) >= 8
    for path in notebooks:
        nb = json.loads(path.read_text(encoding="utf-8"))
        name = path.relative_to(ROOT)
        assert "widgets" not in nb["metadata"], f"{name}: widget state committed"
        code = [c for c in nb["cells"] if c["cell_type"] == "code"]
        unrun = [i for i, c in enumerate(code) if c.get("execution_count") is None]
        assert unrun == [], f"{name}: code cells {unrun} have not been executed"
        for c in code:
            for out in c.get("outputs", []):
                data = out.get("data", {})
                assert "application/vnd.jupyter.widget-state+json" not in data, name


def test_data_geo_is_reachable_from_a_fresh_import():
    """``tk.data.geo.adjacency`` works right after ``import terrakit`` (the
    README and the contiguity error tell users to call it), and the import
    stays lazy.  A fresh interpreter, so no other test can have imported it."""
    code = """
import sys
import terrakit as tk
from shapely.geometry import box
import geopandas as gpd
assert "terrakit.data.geo" not in sys.modules, "geo imported eagerly"
units = gpd.GeoDataFrame(
    {"unit_id": ["a", "b"]}, geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)],
    crs="EPSG:4326",
).set_index("unit_id")
adj = tk.data.geo.adjacency(units, snap_m=500)
assert "geo" in dir(tk.data) and "geo" in tk.data.__all__
print(adj.neighbors["a"])
"""
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["['b']"]
