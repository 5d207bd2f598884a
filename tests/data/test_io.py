"""Loaders: every format, column mappings, point-in-polygon join, errors."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point, box

from terrakit.data import Study, read_accounts, read_history, read_reps, read_units
from terrakit.exceptions import DataValidationError


@pytest.fixture
def crm_units() -> gpd.GeoDataFrame:
    """Two FIPS-like county squares with leading-zero ids and CRM column names."""
    return gpd.GeoDataFrame(
        {"GEOID": ["01001", "01003"], "Work Hours": [10.0, 20.0]},
        geometry=[box(-87, 32, -86, 33), box(-86, 32, -85, 33)],
        crs="EPSG:4326",
    )


@pytest.fixture
def crm_accounts() -> pd.DataFrame:
    """Four accounts as a CRM exports them: other column names, lon/lat only."""
    return pd.DataFrame(
        {
            "Acct #": ["X1", "X2", "X3", "X4"],
            "Longitude": [-86.5, -85.5, -85.2, -86.9],
            "Latitude": [32.5, 32.5, 32.9, 32.1],
            "Revenue": [100.0, 250.0, 0.0, 40.0],
            "Visits/yr": [12, 24, 4, 6],
        }
    )


ACC_MAP = {
    "Acct #": "account_id",
    "Longitude": "lon",
    "Latitude": "lat",
    "Revenue": "annual_sales",
    "Visits/yr": "calls_per_year",
}


@pytest.mark.parametrize("ext", ["gpkg", "geojson", "shp"])
def test_read_units_spatial_formats_with_mapping(tmp_path, crm_units, ext):
    path = tmp_path / f"units.{ext}"
    crm_units.to_file(path)
    units = read_units(path, columns={"GEOID": "unit_id", "Work Hours": "workload"})
    assert units.index.tolist() == ["01001", "01003"]
    assert units.index.name == "unit_id"
    assert units["workload"].tolist() == [10.0, 20.0]
    assert units.crs.to_epsg() == 4326


def test_read_units_csv_points_keep_leading_zeros(tmp_path):
    pd.DataFrame(
        {"zip": ["02134", "02139"], "x": [-71.12, -71.10], "y": [42.35, 42.36]}
    ).to_csv(tmp_path / "z.csv", index=False)
    units = read_units(
        tmp_path / "z.csv", columns={"zip": "unit_id", "x": "lon", "y": "lat"}
    )
    assert units.index.tolist() == ["02134", "02139"]
    assert (units.geom_type == "Point").all()


def test_read_units_csv_wkt(tmp_path):
    pd.DataFrame({"unit_id": ["a"], "geometry": [box(0, 0, 1, 1).wkt]}).to_csv(
        tmp_path / "u.csv", index=False
    )
    with pytest.raises(DataValidationError, match="no CRS"):
        read_units(tmp_path / "u.csv")
    assert read_units(tmp_path / "u.csv", crs="EPSG:4326").crs.to_epsg() == 4326


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "parquet"])
def test_read_accounts_tabular_with_point_in_polygon(
    tmp_path, crm_units, crm_accounts, fmt
):
    path = tmp_path / f"acc.{fmt}"
    if fmt == "csv":
        crm_accounts.to_csv(path, index=False)
    elif fmt == "xlsx":
        crm_accounts.to_excel(path, index=False)
    else:
        crm_accounts.to_parquet(path)
    units = crm_units.rename(columns={"GEOID": "unit_id"}).set_index("unit_id")
    acc = read_accounts(path, columns=ACC_MAP, units=units)
    assert acc["unit_id"].tolist() == ["01001", "01003", "01003", "01001"]
    assert acc.index.tolist() == ["X1", "X2", "X3", "X4"]
    assert acc["calls_per_year"].tolist() == [12, 24, 4, 6]


def test_read_accounts_outside_every_unit(tmp_path, crm_units, crm_accounts):
    crm_accounts.loc[2, "Longitude"] = -80.0
    crm_accounts.to_csv(tmp_path / "a.csv", index=False)
    units = crm_units.rename(columns={"GEOID": "unit_id"}).set_index("unit_id")
    with pytest.raises(DataValidationError) as err:
        read_accounts(tmp_path / "a.csv", columns=ACC_MAP, units=units)
    assert err.value.rows == ["X3"] and "lie in no unit" in str(err.value)


def test_read_accounts_from_points_geopackage(tmp_path, crm_units):
    pts = gpd.GeoDataFrame(
        {"account_id": ["p1", "p2"]},
        geometry=[Point(-86.5, 32.5), Point(-85.5, 32.2)],
        crs="EPSG:4326",
    ).to_crs("EPSG:3857")
    pts.to_file(tmp_path / "acc.gpkg")
    units = crm_units.rename(columns={"GEOID": "unit_id"}).set_index("unit_id")
    acc = read_accounts(tmp_path / "acc.gpkg", units=units)
    assert acc["unit_id"].tolist() == ["01001", "01003"]
    assert acc["lon"].round(6).tolist() == [-86.5, -85.5]


def test_column_mapping_names_missing_column(tmp_path, crm_accounts):
    crm_accounts.to_csv(tmp_path / "a.csv", index=False)
    with pytest.raises(DataValidationError) as err:
        read_accounts(tmp_path / "a.csv", columns={"Account": "account_id"})
    msg = str(err.value)
    assert "columns mapping names ['Account']" in msg and "'Acct #'" in msg


def test_unknown_suffix_and_missing_file(tmp_path):
    (tmp_path / "a.dbx").write_text("x")
    with pytest.raises(DataValidationError, match=r"unknown file type '\.dbx'"):
        read_reps(tmp_path / "a.dbx")
    with pytest.raises(FileNotFoundError):
        read_reps(tmp_path / "nope.csv")


def test_read_reps_and_history(tmp_path):
    pd.DataFrame(
        {
            "Rep": ["R1", "R2"],
            "lon": [-84.4, -80.8],
            "lat": [33.7, 35.2],
            "Hours": [1600, 1500],
        }
    ).to_excel(tmp_path / "reps.xlsx", index=False, sheet_name="reps")
    reps = read_reps(
        tmp_path / "reps.xlsx",
        sheet="reps",
        columns={
            "Rep": "rep_id",
            "lon": "home_lon",
            "lat": "home_lat",
            "Hours": "capacity_hours",
        },
    )
    assert reps.index.tolist() == ["R1", "R2"]
    pd.DataFrame(
        {"acct": ["X1", "X1"], "month": ["01/2024", "02/2024"], "amount": [5.0, 6.0]}
    ).to_csv(tmp_path / "h.csv", index=False)
    hist = read_history(
        tmp_path / "h.csv",
        period_format="%m/%Y",
        columns={"acct": "account_id", "month": "period", "amount": "sales"},
    )
    assert hist["period"].astype(str).tolist() == ["2024-01", "2024-02"]
    assert isinstance(hist["period"].dtype, pd.PeriodDtype)


def test_loader_never_changes_the_file(tmp_path, crm_accounts):
    path = tmp_path / "a.csv"
    crm_accounts.loc[1, "Revenue"] = -5
    crm_accounts.to_csv(path, index=False)
    before = path.read_bytes()
    with pytest.raises(DataValidationError, match="negative"):
        read_accounts(path, columns=ACC_MAP)
    assert path.read_bytes() == before


def test_loaded_tables_make_a_study(tmp_path, crm_units, crm_accounts):
    crm_units.to_file(tmp_path / "u.gpkg")
    crm_accounts.to_csv(tmp_path / "a.csv", index=False)
    units = read_units(tmp_path / "u.gpkg", columns={"GEOID": "unit_id"})
    acc = read_accounts(tmp_path / "a.csv", columns=ACC_MAP, units=units)
    s = Study(units, acc)
    assert s.unit_measures()["accounts"].tolist() == [2, 2]
