"""The "southeast" sample study: shape, consistency and a deterministic rebuild."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from terrakit.data.samples import (
    BUILDER_VERSION,
    DEFAULT_SEED,
    TRUE_PARAMETERS,
    build_southeast,
    load_sample,
    sample_dir,
)
from terrakit.data.study import Study

COMMITTED = sample_dir("southeast")


@pytest.fixture(scope="module")
def southeast() -> Study:
    """The committed sample study (259 counties, 6,000 accounts, 20 reps)."""
    return load_sample("southeast")


def test_sizes(southeast: Study) -> None:
    assert len(southeast.units) == 259
    assert len(southeast.accounts) == 6000
    assert list(southeast.reps.index) == [f"R{i:02d}" for i in range(1, 21)]
    assert southeast.units.crs.to_epsg() == 4326
    states = southeast.units["state"].value_counts().to_dict()
    assert states == {"GA": 159, "NC": 100}


def test_unit_ids_are_county_fips(southeast: Study) -> None:
    ids = southeast.units.index
    assert ids.is_unique
    assert all(isinstance(i, str) and len(i) == 5 for i in ids)
    assert southeast.units.loc["13121", "name"] == "Fulton"
    assert southeast.units.loc["37119", "name"] == "Mecklenburg"
    # real 1990 census population of Fulton County, GA
    assert southeast.units.loc["13121", "population"] == 648_951
    nc = southeast.units.loc[southeast.units["state"] == "NC", "population"]
    assert nc.sum() == 6_628_637


def test_accounts_lie_in_their_units(southeast: Study) -> None:
    acc = southeast.accounts
    units = southeast.units
    geoms = units.geometry.reindex(acc["unit_id"]).to_numpy()
    inside = shapely.contains_xy(geoms, acc["lon"].to_numpy(), acc["lat"].to_numpy())
    assert inside.all(), acc.index[~inside][:5].tolist()


def test_segments_and_call_plans(southeast: Study) -> None:
    acc = southeast.accounts
    shares = acc["segment"].value_counts(normalize=True)
    assert shares.to_dict() == pytest.approx({"A": 0.1, "B": 0.3, "C": 0.6})
    for seg, cfg in TRUE_PARAMETERS["segments"].items():
        cpy = acc.loc[acc["segment"] == seg, "calls_per_year"]
        lo, hi = cfg["calls_per_year"]
        assert cpy.between(lo, hi).all()
    assert 6 <= acc["industry"].nunique() <= 8
    assert (acc["employees"] >= 1).all()


def test_unit_aggregates_match_accounts(southeast: Study) -> None:
    units, acc = southeast.units, southeast.accounts
    hours = acc["calls_per_year"] * acc["call_minutes"] / 60.0
    workload = hours.groupby(acc["unit_id"]).sum().reindex(units.index, fill_value=0)
    np.testing.assert_allclose(units["workload"], workload, atol=0.01)
    count = acc.groupby("unit_id").size().reindex(units.index, fill_value=0)
    assert (units["accounts"] == count).all()
    sales = (
        acc.groupby("unit_id")["annual_sales"].sum().reindex(units.index, fill_value=0)
    )
    np.testing.assert_allclose(units["sales"], sales, atol=0.05)
    ratio = units["potential"].sum() / units["sales"].sum()
    assert ratio == pytest.approx(2.5, rel=1e-3)


def test_history_is_monthly_and_consistent(southeast: Study) -> None:
    hist = southeast.history
    assert hist["period"].dtype == pd.PeriodDtype("M")
    periods = hist["period"].drop_duplicates().sort_values()
    assert len(periods) == 36
    assert str(periods.iloc[0]) == "2023-01" and str(periods.iloc[-1]) == "2025-12"
    assert hist["calls"].dtype == np.int32
    assert set(hist["account_id"]) == set(southeast.accounts.index)
    first = hist.groupby("account_id")["period"].min()
    assert (first > pd.Period("2023-01", "M")).sum() > 100  # new accounts
    last12 = hist[hist["period"] >= pd.Period("2025-01", "M")]
    annual = last12.groupby("account_id")["sales"].sum()
    np.testing.assert_allclose(
        southeast.accounts["annual_sales"],
        annual.reindex(southeast.accounts.index, fill_value=0.0),
        atol=0.01,
    )
    assert (southeast.accounts["annual_sales"] == 0).sum() > 10  # churned


def test_sales_respond_to_calls(southeast: Study) -> None:
    """Within segment A, months with more calls sell more (the ADBUDG response)."""
    hist = southeast.history.merge(
        southeast.accounts[["segment"]], left_on="account_id", right_index=True
    )
    a = hist[(hist["segment"] == "A") & (hist["sales"] > 0)].copy()
    a["rel"] = a["sales"] / a.groupby("account_id")["sales"].transform("mean")
    by_calls = a.groupby(a["calls"].clip(upper=5))["rel"].mean()
    assert by_calls.loc[0] < by_calls.loc[2] < by_calls.loc[5]


def test_current_alignment(southeast: Study) -> None:
    import terrakit as tk

    current = southeast.alignments["current"]
    assert set(current.unit_ids) == set(southeast.units.index)
    assert current.territories == list(southeast.reps.index)
    owner = current.assignment.reindex(southeast.accounts["unit_id"]).to_numpy()
    assert (owner == southeast.accounts["rep_id"].to_numpy()).all()
    home = southeast.reps["home_unit"]
    assert all(current[u] == r for r, u in home.items())
    bal = tk.metrics.balance(southeast, current, measures=["workload"])
    assert 0.3 <= bal.loc["workload", "max_rel_dev"] <= 0.6
    assert (tk.metrics.contiguity(southeast, current) == 1).all()


def test_metadata_has_truth(southeast: Study) -> None:
    meta = southeast.metadata
    assert meta["seed"] == DEFAULT_SEED
    assert meta["true_parameters"]["segments"]["A"]["response"] == {
        "c": 0.5,
        "k": 2.0,
        "h": 1.5,
    }


def test_unknown_sample() -> None:
    with pytest.raises(ValueError, match="unknown sample 'nowhere'"):
        load_sample("nowhere")


def _read_all(folder: Path) -> dict[str, object]:
    return {
        "units": gpd.read_file(folder / "units.gpkg", layer="units"),
        "accounts": pd.read_csv(folder / "accounts.csv", dtype={"unit_id": str}),
        "reps": pd.read_csv(folder / "reps.csv"),
        "history": pd.read_parquet(folder / "history.parquet"),
        "alignment": pd.read_csv(folder / "alignment_current.csv", dtype=str),
        "metadata": json.loads((folder / "metadata.json").read_text()),
        "readme": (folder / "README.md").read_text(),
    }


@pytest.fixture(scope="module")
def rebuilt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample rebuilt with the default seed into a temporary folder."""
    out = tmp_path_factory.mktemp("rebuilt")
    build_southeast(out, seed=DEFAULT_SEED)
    return out


def test_rebuild_reproduces_committed_files(rebuilt: Path) -> None:
    """Rebuilding with the default seed gives the committed files, value for value."""
    import terrakit as tk

    new, old = _read_all(rebuilt), _read_all(COMMITTED)
    for name in ("accounts", "reps", "history", "alignment"):
        pd.testing.assert_frame_equal(new[name], old[name], check_exact=True)
    # the terrakit and library versions of the build are recorded, and differ
    # between environments; every other value is reproduced
    versions = new["metadata"]["alignment"].pop("versions")
    assert {"numpy", "pandas", "libpysal", "shapely"} <= set(versions)
    old["metadata"]["alignment"].pop("versions", None)
    assert new["metadata"]["alignment"].pop("terrakit_version") == tk.__version__
    old["metadata"]["alignment"].pop("terrakit_version", None)
    assert new["metadata"] == old["metadata"]
    assert new["readme"] == old["readme"]
    nu, ou = new["units"], old["units"]
    pd.testing.assert_frame_equal(
        nu.drop(columns="geometry"), ou.drop(columns="geometry"), check_exact=True
    )
    assert shapely.equals_exact(
        nu.geometry.to_numpy(), ou.geometry.to_numpy(), tolerance=1e-9
    ).all()


def test_installed_package_builds_into_cache(tmp_path: Path, monkeypatch) -> None:
    """Without data/samples (a wheel install) the sample is built into the cache."""
    from terrakit.data import samples

    built = _installed(tmp_path, monkeypatch)
    study = samples.load_sample("southeast")
    assert len(built) == 1
    assert (tmp_path / "cache" / "samples" / "southeast" / "units.gpkg").exists()
    assert len(study.units) == 259
    samples.load_sample("southeast")
    assert len(built) == 1  # the cache is reused


def test_load_sample_hands_out_its_own_copy() -> None:
    """load_sample returned one cached Study: an edit of its nested metadata
    or provenance reached every later load_sample in the kernel."""
    import time

    s = load_sample("southeast")
    s.metadata["periods"].append("2099-12")  # a copy: the study is unchanged
    assert s.metadata["periods"][-1] != "2099-12"
    s.alignments["current"].provenance["config"]["same_state"] = False
    t0 = time.perf_counter()
    t = load_sample("southeast")
    assert time.perf_counter() - t0 < 0.1  # still served from the cache
    assert t is not s
    assert t.alignments["current"].provenance["config"]["same_state"] is True
    assert "2099-12" not in t.metadata["periods"]
    assert t.equals(load_sample("southeast"))


def _installed(tmp_path: Path, monkeypatch) -> list[Path]:
    """Pretend to be a wheel install: no data/samples, a cache in tmp_path."""
    import shutil

    from terrakit.data import samples

    built: list[Path] = []

    def fake_build(out_dir: Path, seed: int = DEFAULT_SEED) -> dict[str, Path]:
        built.append(Path(out_dir))
        shutil.copytree(COMMITTED, out_dir, dirs_exist_ok=True)
        return {}

    monkeypatch.setattr(samples, "sample_dir", lambda name: tmp_path / "missing")
    monkeypatch.setattr(samples, "build_southeast", fake_build)
    monkeypatch.setenv("TERRAKIT_CACHE_DIR", str(tmp_path / "cache"))
    return built


@pytest.mark.parametrize(
    ("key", "value", "match"),
    [
        ("builder_version", 1, "built by builder version 1 with seed 20261123"),
        ("seed", 7, "with seed 7, not version"),
    ],
)
def test_stale_cache_is_rebuilt(tmp_path: Path, monkeypatch, key, value, match) -> None:
    """An installed copy kept serving a cache built by an older builder (or
    from another seed): only the files' existence was checked."""
    import shutil

    from terrakit.data import samples
    from terrakit.exceptions import TerrakitWarning

    built = _installed(tmp_path, monkeypatch)
    cache = tmp_path / "cache" / "samples" / "southeast"
    shutil.copytree(COMMITTED, cache)
    meta = json.loads((cache / "metadata.json").read_text())
    meta["study"][key] = value
    (cache / "metadata.json").write_text(json.dumps(meta))
    with pytest.warns(TerrakitWarning, match=f"cached sample in .*{match}.*rebuilding"):
        study = samples.load_sample("southeast")
    assert len(built) == 1
    assert study.metadata["builder_version"] == BUILDER_VERSION
    assert study.metadata["seed"] == DEFAULT_SEED
    samples.load_sample("southeast")
    assert len(built) == 1  # rebuilt once, then current


def test_build_seed_is_checked() -> None:
    """build_southeast(seed=1.5) or seed=-1 ended in a bare numpy traceback."""
    for bad in (-1, 1.5, True, "7", float("nan")):
        with pytest.raises(
            ValueError, match=r"^build_southeast: seed must be a whole number >= 0"
        ):
            build_southeast("/nonexistent/never-written", seed=bad)  # type: ignore[arg-type]


def test_build_script_rejects_a_negative_seed(tmp_path: Path) -> None:
    """scripts/build_samples.py --seed -1 ended in a numpy traceback."""
    import subprocess
    import sys

    script = Path(__file__).resolve().parents[2] / "scripts" / "build_samples.py"
    r = subprocess.run(
        [sys.executable, str(script), "--out", str(tmp_path), "--seed", "-1"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert r.returncode == 2
    assert "argument --seed: must be a whole number >= 0" in r.stderr
    assert "Traceback" not in r.stderr
    assert not (tmp_path / "southeast").exists()


def test_sample_provenance_records_the_build_versions(tmp_path: Path) -> None:
    """The sample's 'current' provenance listed the loading session's libraries
    (pulp, never used), not those of the build (libpysal)."""
    import shutil

    from terrakit.data.samples import read_southeast

    committed = read_southeast(COMMITTED)  # the build's libraries, libpysal too
    versions = committed.alignments["current"].provenance["versions"]
    assert "libpysal" in versions and "pulp" not in versions
    shutil.copytree(COMMITTED, tmp_path / "s")
    meta = json.loads((tmp_path / "s" / "metadata.json").read_text())
    meta["alignment"]["versions"] = {"numpy": "1.0", "libpysal": "4.0"}
    (tmp_path / "s" / "metadata.json").write_text(json.dumps(meta))
    prov = read_southeast(tmp_path / "s").alignments["current"].provenance
    assert prov["versions"] == {"numpy": "1.0", "libpysal": "4.0"}


def test_docstring_workload_numbers(southeast: Study) -> None:
    """The module docstring said 'Atlanta's four reps carry more than the rural
    reps'; R19 (Greenville NC) is the most loaded and R03 (Atlanta) carries
    less than eight reps elsewhere.  The numbers it gives now are checked."""
    from terrakit.data import samples

    units = southeast.units
    terr = southeast.alignments["current"].assignment.reindex(units.index)
    w = units["workload"].groupby(terr).sum()
    atlanta = ["R01", "R02", "R03", "R04"]
    doc = " ".join((samples.__doc__ or "").split())
    assert "carry more than the rural reps" not in doc
    assert (
        w.idxmax() == "R19"
        and f"{w.max():,.0f} h (+{w.max() / w.mean() - 1:.0%}".replace("%", " %") in doc
    )
    assert (
        w.idxmin() == "R06"
        and f"{w.min():,.0f} h (−{1 - w.min() / w.mean():.0%}".replace("%", " %") in doc
    )
    assert f"mean of {w.mean():,.0f} hours" in doc
    assert (
        f"{w[atlanta].mean():,.0f} h on average against {w.drop(atlanta).mean():,.0f} h"
        in doc
    )
    assert f"R03``, {w['R03']:,.0f} h) carries less than eight" in doc
    assert (w.drop(atlanta) > w["R03"]).sum() == 8


def test_study_toml_says_it_keeps_no_sample_metadata() -> None:
    """`terrakit run study.toml` keeps no seed, sources or true_parameters,
    unlike `terrakit demo`; the header comment claimed 'the same pipeline'."""
    header = []
    for line in (COMMITTED / "study.toml").read_text().splitlines():
        if not line.startswith("#"):
            break
        header.append(line.lstrip("# "))
    text = " ".join(" ".join(header).split())
    assert "keeps no seed, sources or true_parameters" in text
    assert 'tk.load_sample("southeast")' in text


def _last_change(gpkg: Path) -> str:
    import sqlite3

    con = sqlite3.connect(f"file:{gpkg}?mode=ro", uri=True)
    try:
        return con.execute("select last_change from gpkg_contents").fetchone()[0]
    finally:
        con.close()


def test_rebuild_is_byte_identical(rebuilt: Path, tmp_path: Path) -> None:
    """units.gpkg got other bytes on every rebuild (GDAL stamped
    gpkg_contents.last_change with the time of writing), so `make samples`
    changed a committed file though no value changed."""
    import pyogrio

    from terrakit.data.samples import _FILES

    # a GDAL option set by the caller is restored after the build
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": "2000-01-01T00:00:00.000Z"})
    try:
        build_southeast(tmp_path, seed=DEFAULT_SEED)
        after = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE")
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": None})
    assert after == "2000-01-01T00:00:00.000Z"
    for name in _FILES:
        assert (tmp_path / name).read_bytes() == (rebuilt / name).read_bytes(), name
    # the builder's pinned date (_BUILDER_DATE), in the shipped file too
    for folder in (rebuilt, COMMITTED):
        assert _last_change(folder / "units.gpkg") == "2026-11-23T00:00:00.000Z"


def test_sample_provenance_records_the_build_terrakit_version(
    tmp_path: Path, monkeypatch
) -> None:
    """The sample's provenance took terrakit_version from the reading session
    while versions and created came from the build."""
    import shutil

    import terrakit
    from terrakit.data.samples import read_southeast

    meta = json.loads((COMMITTED / "metadata.json").read_text())
    built_with = meta["alignment"]["terrakit_version"]
    monkeypatch.setattr(terrakit, "__version__", "9.9.9")  # a later reader
    prov = read_southeast(COMMITTED).alignments["current"].provenance
    assert prov["terrakit_version"] == built_with != "9.9.9"
    # files built before the version was recorded: unknown, not the reader's
    shutil.copytree(COMMITTED, tmp_path / "s")
    del meta["alignment"]["terrakit_version"]
    (tmp_path / "s" / "metadata.json").write_text(json.dumps(meta))
    prov = read_southeast(tmp_path / "s").alignments["current"].provenance
    assert prov["terrakit_version"] is None


@pytest.mark.parametrize("under", ["", "sub"])
def test_unusable_cache_folder_is_named(tmp_path: Path, monkeypatch, under) -> None:
    """TERRAKIT_CACHE_DIR naming a file (or a folder under a file) ended in a
    bare NotADirectoryError that neither named the cache nor the fix."""
    from terrakit.data import samples

    built = _installed(tmp_path, monkeypatch)
    blocker = tmp_path / "cachefile"
    blocker.write_text("")
    cache = blocker / under if under else blocker
    monkeypatch.setenv("TERRAKIT_CACHE_DIR", str(cache))
    with pytest.raises(NotADirectoryError) as info:
        samples.load_sample("southeast")
    folder = cache / "samples"
    assert str(info.value) == (
        f"load_sample: cannot use the cache folder {str(folder)!r} for the sample "
        f"(Not a directory: {str(folder)!r}); set "
        "TERRAKIT_CACHE_DIR to a folder you can write to (e.g. "
        "TERRAKIT_CACHE_DIR=/tmp/terrakit-cache)"
    )
    assert built == []


def _damage(tmp_path: Path) -> Path:
    import shutil

    cache = tmp_path / "cache" / "samples" / "southeast"
    shutil.copytree(COMMITTED, cache)
    (cache / "units.gpkg").write_bytes(b"x")
    return cache


def test_damaged_cache_is_rebuilt(tmp_path: Path, monkeypatch) -> None:
    """A damaged cached units.gpkg gave 'open it in QGIS, or export it again'
    advice about a file the user never made; it is rebuilt, with a warning."""
    from terrakit.data import samples
    from terrakit.exceptions import TerrakitWarning

    built = _installed(tmp_path, monkeypatch)
    cache = _damage(tmp_path)
    with pytest.warns(
        TerrakitWarning,
        match=rf"^load_sample: the cached sample in {cache} cannot be read "
        r"\(DataValidationError: units: cannot read units\.gpkg .*\); rebuilding "
        r"it \(no network needed\)$",
    ):
        study = samples.load_sample("southeast")
    assert len(built) == 1
    assert len(study.units) == 259
    assert (cache / "units.gpkg").read_bytes() == (
        COMMITTED / "units.gpkg"
    ).read_bytes()


def test_damaged_cache_that_cannot_be_rebuilt(tmp_path: Path, monkeypatch) -> None:
    """When the rebuilt copy cannot be read either, the error names the cache
    folder and the fix."""
    import shutil

    from terrakit.data import samples
    from terrakit.exceptions import TerrakitWarning

    _installed(tmp_path, monkeypatch)
    cache = _damage(tmp_path)

    def broken_build(out_dir: Path, seed: int = DEFAULT_SEED) -> dict[str, Path]:
        shutil.copytree(cache, out_dir, dirs_exist_ok=True)  # damaged again
        return {}

    monkeypatch.setattr(samples, "build_southeast", broken_build)
    with (
        pytest.warns(TerrakitWarning, match="cannot be read"),
        pytest.raises(OSError) as info,
    ):
        samples.load_sample("southeast")
    msg = str(info.value)
    assert msg.startswith(
        f"load_sample: the cached sample in {cache} cannot be read and rebuilding "
        "it failed (DataValidationError: units: cannot read units.gpkg"
    )
    assert msg.endswith(
        "; delete that folder and try again, or set TERRAKIT_CACHE_DIR to another "
        "folder you can write to"
    )


def test_build_script_refuses_a_file_as_out(tmp_path: Path) -> None:
    """scripts/build_samples.py --out <a file> built the whole sample, then
    died with a NotADirectoryError traceback."""
    import subprocess
    import sys

    script = Path(__file__).resolve().parents[2] / "scripts" / "build_samples.py"
    afile = tmp_path / "afile"
    afile.write_text("")
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "southeast").write_text("")
    for out, bad in [(afile, afile), (afile / "x", afile), (tmp_path / "dir", None)]:
        r = subprocess.run(
            [sys.executable, str(script), "--out", str(out)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert r.returncode == 2, r.stderr
        assert "Traceback" not in r.stderr and r.stdout == ""
        last = r.stderr.strip().splitlines()[-1]
        if bad is None:
            expected = (
                f"--out {str(out / 'southeast')!r} is a file, not a folder; give a "
                "folder to write the sample into (e.g. --out data/samples)"
            )
        elif bad == out:
            expected = (
                f"--out {str(out)!r} is a file, not a folder; give a folder to "
                "write the sample into (e.g. --out data/samples)"
            )
        else:
            expected = (
                f"--out {str(out)!r} cannot be made: {str(bad)!r} is a file, not "
                "a folder; give a folder path (e.g. --out data/samples)"
            )
        assert last == f"build_samples.py: error: {expected}"


def test_empty_cache_variable_counts_as_unset(tmp_path: Path, monkeypatch) -> None:
    """TERRAKIT_CACHE_DIR='' (a common way to unset it) built the sample into
    ./samples/southeast of whatever folder the user worked in."""
    from terrakit.data import samples

    built = _installed(tmp_path, monkeypatch)
    monkeypatch.setenv("TERRAKIT_CACHE_DIR", " ")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    study = samples.load_sample("southeast")
    assert len(study.units) == 259
    cache = tmp_path / "home" / ".cache" / "terrakit" / "samples"
    assert len(built) == 1 and built[0].parent == cache
    assert (cache / "southeast" / "units.gpkg").is_file()
    assert list(work.iterdir()) == []
