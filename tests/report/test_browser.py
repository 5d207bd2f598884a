"""The report opens in a real headless Chromium and shows every section.

Skipped when no Chromium is installed, unless ``TERRAKIT_REQUIRE_BROWSER=1``
(set by ``.ci/run``): then a missing browser fails the test.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

import terrakit as tk
from terrakit.report import SECTIONS, StudyReport

#: Debian's Chromium, used when ``chromium`` is not on PATH.
CHROMIUM_FALLBACK = Path("/usr/bin/chromium")


def _chromium() -> str:
    """The Chromium to drive; skip without one, or fail when CI requires one."""
    path = shutil.which("chromium") or (
        str(CHROMIUM_FALLBACK) if CHROMIUM_FALLBACK.exists() else None
    )
    if path is None:
        msg = "no chromium on PATH or at /usr/bin/chromium (apt-get install chromium)"
        if os.environ.get("TERRAKIT_REQUIRE_BROWSER") == "1":
            pytest.fail(f"TERRAKIT_REQUIRE_BROWSER=1 but {msg}")
        pytest.skip(msg)
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        if os.environ.get("TERRAKIT_REQUIRE_BROWSER") == "1":
            pytest.fail("TERRAKIT_REQUIRE_BROWSER=1 but playwright is not installed")
        pytest.skip("playwright is not installed (pip install terrakit[test])")
    return path


@pytest.mark.parametrize("required", ["1", None])
def test_missing_browser_skips_or_fails(monkeypatch, tmp_path, required):
    """Without Chromium: skip, unless TERRAKIT_REQUIRE_BROWSER=1 (then fail)."""
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setattr(
        sys.modules[__name__], "CHROMIUM_FALLBACK", tmp_path / "no-chromium"
    )
    if required:
        monkeypatch.setenv("TERRAKIT_REQUIRE_BROWSER", required)
        with pytest.raises(pytest.fail.Exception, match="TERRAKIT_REQUIRE_BROWSER=1"):
            _chromium()
    else:
        monkeypatch.delenv("TERRAKIT_REQUIRE_BROWSER", raising=False)
        with pytest.raises(pytest.skip.Exception, match="no chromium"):
            _chromium()


@pytest.mark.browser
def test_report_renders_every_section(
    small_study,
    small_proposal,
    small_forecast,
    small_headcount,
    small_quotas,
    tmp_path,
):
    _chromium()
    report = StudyReport(
        small_study,
        ["current", small_proposal],
        workload=tk.sizing.workload(small_study, travel=None),
        headcount=small_headcount,
        forecast=small_forecast,
        quotas=small_quotas,
        call_plan=tk.routing.plan_calls(
            small_study, "current", "R08", weeks=1, time_limit=3, seed=0
        ),
    )
    check_in_browser(report.save(tmp_path / "report.html"), tmp_path / "report.png")
    # the potential section is checked on the demo's report (slow pipeline test)
    assert set(SECTIONS) - set(report.section_ids()) == {"potential"}


def check_in_browser(page_path: Path, shot: Path) -> None:
    """Open the page in Chromium; assert every section is shown; screenshot it."""
    chromium = _chromium()
    from playwright.sync_api import sync_playwright

    html = page_path.read_text(encoding="utf-8")
    expected = [s for s in SECTIONS if f'<section id="{s}">' in html]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            requests: list[str] = []
            page.on("request", lambda r: requests.append(r.url))
            page.goto(page_path.resolve().as_uri())
            page.wait_for_load_state("load")
            for sid in expected:
                sec = page.locator(f"section#{sid}")
                assert sec.count() == 1, sid
                sec.scroll_into_view_if_needed()
                assert sec.is_visible(), sid
                heading = sec.locator("h2")
                assert heading.inner_text() == SECTIONS[sid]
                box = sec.bounding_box()
                assert box is not None and box["height"] > 40, sid
            # every image decoded in the browser (inline data, nothing fetched)
            sizes = page.eval_on_selector_all(
                "img", "els => els.map(e => [e.complete, e.naturalWidth])"
            )
            assert len(sizes) >= 7
            assert all(done and w > 100 for done, w in sizes), sizes
            # no table widens the page: wide ones scroll inside their container
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 1280, width
            # the navigation links jump to the sections
            page.click("nav a[href='#comparison']")
            assert page.evaluate("location.hash") == "#comparison"
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    # only the page itself was loaded: no network, no other file
    assert all(u.startswith(("file://", "data:")) for u in requests), requests
    assert sum(u.startswith("file://") for u in requests) == 1
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(png) > 200_000  # a long page of maps, charts and tables


@pytest.mark.browser
@pytest.mark.parametrize("viewport", [1280, 390])
def test_wide_tables_scroll_inside_the_page(small_study, tmp_path, viewport):
    """Wide tables overflowed the page (the KPI table was cut at the screen's
    edge and the whole page scrolled sideways, at 1280 px and on a phone):
    each table now scrolls in its own container, a long value without spaces
    (a file path) wraps, and the page keeps the viewport's width."""
    path = "/data/" + "/".join(f"folder_{k:02d}" for k in range(40)) + "/units.gpkg"
    report = StudyReport(small_study, ["current"], provenance={"units_file": path})
    got = _layout(report.save(tmp_path / "report.html"), viewport)
    assert got["view"] == viewport
    if viewport == 390:
        assert got["widest"] > viewport  # the KPI table is wider than the phone
    assert got["page"] <= viewport, got
    assert got["scrolling"] == got["tables"] > 0, got


@pytest.mark.slow
@pytest.mark.browser
def test_demo_report_in_browser(tmp_path, capsys):
    """`terrakit demo --fast` end to end; its report shows all twelve sections."""
    from terrakit.cli import main

    _chromium()
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--fast", "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "terrakit demo finished in" in printed
    for name in ("southeast.gpkg", "report.html", "report.xlsx"):
        assert (out / name).stat().st_size > 10_000, name
    html = (out / "report.html").read_text(encoding="utf-8")
    assert all(f'<section id="{s}">' in html for s in SECTIONS)
    check_in_browser(out / "report.html", tmp_path / "demo.png")


@pytest.mark.browser
@pytest.mark.parametrize("viewport", [1280, 390])
def test_kpi_page_keeps_the_viewport_width(sample_study, tmp_path, viewport):
    """The KPI page had no viewport tag (a phone laid it out 980 px wide) and
    its provenance table sat outside any scroll container: at 390 px the page
    was 435 px wide. Every table now scrolls in its own container."""
    from terrakit.report import kpi_report

    page_path = kpi_report(sample_study, "current", out=tmp_path / "kpi.html")
    # a phone's layout honours the viewport tag (is_mobile)
    got = _layout(page_path, viewport, mobile=viewport < 500)
    assert got["view"] == viewport, got
    assert got["page"] <= viewport, got
    assert got["scrolling"] == got["tables"] == 3, got
    if viewport == 390:
        assert got["last"] > viewport, got  # the provenance table scrolls inside


def _layout(page_path, viewport: int, *, mobile: bool = False) -> dict:
    """Widths of a page in Chromium at ``viewport`` px: ``page`` (scroll
    width), ``view`` (client width), ``tables``, ``scrolling`` (tables in a
    container that scrolls sideways), ``widest`` and ``last`` (table widths)."""
    chromium = _chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            context = browser.new_context(
                viewport={"width": viewport, "height": 900}, is_mobile=mobile
            )
            page = context.new_page()
            page.goto(page_path.resolve().as_uri())
            page.wait_for_load_state("load")
            return page.evaluate(
                """() => {
                  const tables = [...document.querySelectorAll('table')];
                  const widths = tables.map(t => t.getBoundingClientRect().width);
                  return {
                    page: document.documentElement.scrollWidth,
                    view: document.documentElement.clientWidth,
                    tables: tables.length,
                    scrolling: tables.filter(
                      t => getComputedStyle(t.parentElement).overflowX === 'auto'
                    ).length,
                    widest: Math.max(...widths),
                    last: widths[widths.length - 1],
                  };
                }"""
            )
        finally:
            browser.close()
