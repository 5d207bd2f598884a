"""`terrakit demo` writes the study file, the figures and the KPI report."""

from __future__ import annotations

import pytest

from terrakit import Study
from terrakit.cli import main


def test_demo_writes_every_file(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    names = [
        "southeast.gpkg",
        "territory_map.png",
        "balance_workload.png",
        "kpis.txt",
        "kpis.html",
    ]
    for name in names:
        path = tmp_path / name
        assert path.exists() and path.stat().st_size > 0, name
        assert str(path) in printed
    for png in ("territory_map.png", "balance_workload.png"):
        assert (tmp_path / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    study = Study.load(tmp_path / "southeast.gpkg")
    assert "current" in study.alignments
    html = (tmp_path / "kpis.html").read_text()
    for section in ('id="map"', 'id="balance"', 'id="kpis"', 'id="provenance"'):
        assert section in html
    text = (tmp_path / "kpis.txt").read_text()
    assert text.startswith("Alignment 'current': 20 territories")


def test_cli_needs_a_command():
    with pytest.raises(SystemExit):
        main([])
