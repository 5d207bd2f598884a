"""End-to-end: JupyterLab + headless Chromium show a TerritoryMap and move a unit.

Skipped when Chromium, JupyterLab or Playwright is missing, unless
``TERRAKIT_REQUIRE_BROWSER=1`` (set by ``.ci/run``), where that is a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("TERRAKIT_CHROMIUM", "/usr/bin/chromium")
REQUIRE = os.environ.get("TERRAKIT_REQUIRE_BROWSER") == "1"

CELL = """\
import terrakit as tk

study = tk.load_sample("southeast")
m = tk.widgets.TerritoryMap(study, alignment="current")
m.picker.value = "R01"
m
"""


def _missing() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"no Chromium at {CHROMIUM}"
    jupyter = Path(sys.executable).with_name("jupyter")
    if not jupyter.exists() and shutil.which("jupyter") is None:
        return "jupyter is not installed"
    try:
        import jupyterlab  # noqa: F401
        import playwright.sync_api  # noqa: F401
    except ImportError as exc:
        return f"{exc.name} is not installed"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_http(url: str, timeout: float) -> None:
    t0 = time.monotonic()
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() - t0 > timeout:
            raise TimeoutError(f"JupyterLab did not answer at {url} in {timeout} s")
        time.sleep(0.25)


@pytest.fixture
def lab(tmp_path):
    """A headless JupyterLab on a free localhost port, root in ``tmp_path``."""
    why = _missing()
    if why is not None:
        if REQUIRE:
            pytest.fail(f"TERRAKIT_REQUIRE_BROWSER=1 but {why}")
        pytest.skip(why)
    root = tmp_path / "root"
    root.mkdir()
    nb = {
        "cells": [
            {
                "cell_type": "code",
                "execution_count": None,
                "id": "map",
                "metadata": {},
                "outputs": [],
                "source": CELL,
            }
        ],
        "metadata": {
            "kernelspec": {
                "display_name": "Python 3",
                "language": "python",
                "name": "python3",
            }
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    (root / "map.ipynb").write_text(json.dumps(nb))
    port, token = _free_port(), "terrakit-test-token"
    env = dict(os.environ)
    env["JUPYTER_CONFIG_DIR"] = str(tmp_path / "config")
    env["JUPYTER_RUNTIME_DIR"] = str(tmp_path / "runtime")
    env["PYTHONPATH"] = os.pathsep.join(
        [str(Path(__file__).resolve().parents[2]), env.get("PYTHONPATH", "")]
    )
    cmd = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        f"--port={port}",
        "--ip=127.0.0.1",
        f"--ServerApp.token={token}",
        f"--ServerApp.root_dir={root}",
        "--ServerApp.allow_root=True",
        "--LabApp.expose_app_in_browser=True",
        f"--LabApp.workspaces_dir={tmp_path / 'workspaces'}",
        f"--LabApp.user_settings_dir={tmp_path / 'settings'}",
        "--LabApp.news_url=",
        "--ServerApp.disable_check_xsrf=False",
    ]
    log = open(tmp_path / "lab.log", "w")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        _wait_http(f"http://127.0.0.1:{port}/api/status?token={token}", 45)
        yield f"http://127.0.0.1:{port}", token, tmp_path
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        log.close()


def test_territory_map_renders_and_moves_a_unit(lab):
    """The map and the balance panel render; one click moves a unit to R01."""
    from playwright.sync_api import sync_playwright

    base, token, tmp = lab
    t0 = time.monotonic()
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox"], headless=True
        )
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 1000})
            page.goto(f"{base}/lab/tree/map.ipynb?token={token}")
            page.wait_for_selector(".jp-Notebook", timeout=60_000)
            page.wait_for_function(
                "() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
                " && window.jupyterapp.shell.currentWidget.sessionContext"
                " && window.jupyterapp.shell.currentWidget.sessionContext.session"
                " && window.jupyterapp.shell.currentWidget.sessionContext.session"
                ".kernel",
                timeout=60_000,
            )
            page.evaluate(
                "() => window.jupyterapp.commands.execute('notebook:run-all-cells')"
            )
            page.wait_for_selector(".tk-balance-row", timeout=90_000)
            t_panel = time.monotonic() - t0
            page.wait_for_function(
                "() => document.querySelectorAll("
                "'.tk-map path.leaflet-interactive').length >= 259",
                timeout=60_000,
            )
            rows = page.locator(".tk-balance-row")
            assert rows.count() == 20
            before = page.evaluate(
                "() => Object.fromEntries([...document.querySelectorAll("
                "'.tk-balance-row')].map(r => [r.dataset.territory, r.dataset.total]))"
            )
            r01 = "#1f77b4"  # tab20[0], the colour of R01
            # a unit outside R01 whose centre is really on it (not under a marker)
            target = page.evaluate(
                """(r01) => {
                  const paths = [...document.querySelectorAll(
                      '.tk-map path.leaflet-interactive')];
                  for (const [k, p] of paths.entries()) {
                    const f = (p.getAttribute('fill') || '').toLowerCase();
                    if (!f || f === r01) continue;
                    const b = p.getBoundingClientRect();
                    const x = b.x + b.width / 2, y = b.y + b.height / 2;
                    if (document.elementFromPoint(x, y) === p) return {k, x, y};
                  }
                  return null;
                }""",
                r01,
            )
            assert target is not None, "no clickable unit outside R01 found"
            t_click = time.monotonic()
            page.mouse.click(target["x"], target["y"])
            # both rows (the unit's old territory and R01) redraw; they need
            # not do so in one frame, so wait for the two
            page.wait_for_function(
                """(before) => [...document.querySelectorAll('.tk-balance-row')]
                    .filter(r => r.dataset.total !== before[r.dataset.territory])
                    .length >= 2""",
                arg=before,
                timeout=30_000,
            )
            t_click = time.monotonic() - t_click
            after = page.evaluate(
                "() => Object.fromEntries([...document.querySelectorAll("
                "'.tk-balance-row')].map(r => [r.dataset.territory, r.dataset.total]))"
            )
            changed = sorted(t for t in after if after[t] != before[t])
            assert "R01" in changed and len(changed) == 2, changed
            assert float(after["R01"]) > float(before["R01"])
            page.wait_for_function(
                """([k, r01]) => (document.querySelectorAll(
                    '.tk-map path.leaflet-interactive')[k].getAttribute('fill')
                    || '').toLowerCase() === r01""",
                arg=[target["k"], r01],
                timeout=30_000,
            )
            # the status line is a third widget message: wait for it too
            page.wait_for_function(
                """() => (document.querySelector('.tk-status') || {}).innerText
                    ?.includes('move 1 unit to R01')""",
                timeout=30_000,
            )
            page.screenshot(path=str(tmp / "territory_map.png"))
            out = os.environ.get("TERRAKIT_SCREENSHOT")
            if out:
                shutil.copy(tmp / "territory_map.png", out)
        finally:
            browser.close()
    print(
        f"\nbrowser: panel shown after {t_panel:.1f} s, click to panel update "
        f"{1000 * t_click:.0f} ms, total {time.monotonic() - t0:.1f} s"
    )
