"""Loaders: every format, column mappings, point-in-polygon join, errors."""

from __future__ import annotations

import codecs
import json
import warnings
import zipfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point, box

from terrakit.data import Study, read_accounts, read_history, read_reps, read_units
from terrakit.exceptions import DataValidationError, TerrakitWarning


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


# -- bad files: the message names the file, the table and the fix -----------------
def test_empty_and_header_only_files_are_named(tmp_path):
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(
        DataValidationError, match=r"^accounts: empty\.csv is empty \(no header"
    ):
        read_accounts(tmp_path / "empty.csv")
    (tmp_path / "head.csv").write_text("account_id,unit_id\n")
    with pytest.raises(DataValidationError, match=r"^accounts: head\.csv has no rows"):
        read_accounts(tmp_path / "head.csv")


def test_folder_instead_of_file(tmp_path):
    (tmp_path / "units.gpkg").mkdir()
    with pytest.raises(DataValidationError, match="is a folder, not a file"):
        read_units(tmp_path / "units.gpkg")


def test_excel_sheets_are_listed(tmp_path):
    reps = pd.DataFrame({"rep_id": ["R1"], "home_lon": [-84.0], "home_lat": [33.0]})
    path = tmp_path / "reps.xlsx"
    with pd.ExcelWriter(path) as xw:
        pd.DataFrame({"note": ["read me"]}).to_excel(xw, sheet_name="README")
        reps.to_excel(xw, sheet_name="Reps", index=False)
    with pytest.raises(
        DataValidationError,
        match=r"reps\.rep_id: the first sheet 'README' of reps\.xlsx has no "
        r"'rep_id' column .*the workbook has the sheets \['README', 'Reps'\], "
        r"and sheet 'Reps' has that column\. Fix: pass sheet='Reps'",
    ):
        read_reps(path)
    with pytest.raises(
        DataValidationError,
        match=r"reps\.xlsx has no sheet 'reps' \(did you mean 'Reps'\?\); its "
        r"sheets are \['README', 'Reps'\]",
    ):
        read_reps(path, sheet="reps")
    assert read_reps(path, sheet="Reps").index.tolist() == ["R1"]


def test_unknown_layer_and_damaged_file(tmp_path, crm_units):
    crm_units.to_file(tmp_path / "u.gpkg", layer="counties")
    with pytest.raises(
        DataValidationError,
        match=r"u\.gpkg has no layer 'countis' \(did you mean 'counties'\?\); "
        r"its layers are \['counties'\]",
    ):
        read_units(tmp_path / "u.gpkg", layer="countis")
    (tmp_path / "bad.gpkg").write_text("not a geopackage")
    with pytest.raises(DataValidationError, match=r"^units: cannot read bad\.gpkg"):
        read_units(tmp_path / "bad.gpkg")


def test_a_file_of_several_layers_is_read_like_a_workbook(tmp_path, crm_units):
    """The first layer was read silently (pyogrio's generic warning only), a
    first layer without ids gave no hint of the others, and layer=5 said the
    file was damaged."""
    path = tmp_path / "m.gpkg"
    units = crm_units.rename(columns={"GEOID": "unit_id"})
    units.to_file(path, layer="counties")
    units.iloc[:1].to_file(path, layer="one")
    with pytest.warns(
        TerrakitWarning, match=r"m\.gpkg has 2 layers \['counties', 'one'\]; read the "
    ):
        assert len(read_units(path)) == 2
    assert len(read_units(path, layer=-1)) == 1
    with pytest.raises(
        DataValidationError,
        match=r"has 2 layer\(s\) \['counties', 'one'\], so there is no layer=5",
    ):
        read_units(path, layer=5)
    other = tmp_path / "o.gpkg"
    crm_units.to_file(other, layer="raw")  # no unit_id in the first layer
    units.to_file(other, layer="counties")
    with pytest.raises(
        DataValidationError,
        match=r"the first layer 'raw' of o\.gpkg has no 'unit_id' column .* the "
        r"file has the layers \['raw', 'counties'\]",
    ):
        read_units(other)
    assert len(read_units(other, layer="counties")) == 2


def test_shapefile_names_cut_to_ten_characters_are_read_back(tmp_path):
    """A shapefile keeps 'capacity_h', 'calls_per_' ...: the reps' capacity
    and the accounts' workload and sales were dropped without a word."""
    reps = gpd.GeoDataFrame(
        {"rep_id": ["R1"], "home_lon": [-86.5], "home_lat": [32.5]},
        geometry=[Point(-86.5, 32.5)],
        crs="EPSG:4326",
    ).assign(capacity_h=[1600.0])
    reps.to_file(tmp_path / "reps.shp")
    with pytest.warns(TerrakitWarning, match=r"\{'capacity_h': 'capacity_hours'\}"):
        got = read_reps(tmp_path / "reps.shp")
    assert got["capacity_hours"].tolist() == [1600.0]
    # a column the user maps is left to the mapping
    with warnings.catch_warnings():
        warnings.simplefilter("error", TerrakitWarning)
        mapped = read_reps(tmp_path / "reps.shp", columns={"capacity_h": "hours"})
    assert "hours" in mapped.columns and "capacity_hours" not in mapped.columns


def test_geoparquet_units_are_read(tmp_path, crm_units):
    """geopandas' to_parquet writes WKB, which was taken for broken WKT."""
    units = crm_units.rename(columns={"GEOID": "unit_id"})
    units.to_parquet(tmp_path / "u.parquet")
    got = read_units(tmp_path / "u.parquet")
    assert got.index.tolist() == ["01001", "01003"]
    assert [g.wkt for g in got.geometry] == [g.wkt for g in units.geometry]


def test_mapping_typo_suggests_the_column(tmp_path, crm_units):
    crm_units.to_file(tmp_path / "u.gpkg")
    with pytest.raises(
        DataValidationError,
        match=r"units\.geoid: .* has no such column \(did you mean 'GEOID'\?\)",
    ):
        read_units(tmp_path / "u.gpkg", columns={"geoid": "unit_id"})


def test_unknown_crs_is_a_validation_error(tmp_path):
    pd.DataFrame({"unit_id": ["a"], "geometry": [box(0, 0, 1, 1).wkt]}).to_csv(
        tmp_path / "u.csv", index=False
    )
    with pytest.raises(
        DataValidationError,
        match=r"units\.geometry: crs='EPSG:99999' is not a coordinate reference",
    ):
        read_units(tmp_path / "u.csv", crs="EPSG:99999")


def test_lost_leading_zeros_are_explained(tmp_path, crm_units):
    """FIPS ids read as numbers (01001 → 1001) are not matched silently: the
    error says the zeros were lost and how to restore them."""
    crm_units.to_file(tmp_path / "u.gpkg")
    units = read_units(tmp_path / "u.gpkg", columns={"GEOID": "unit_id"})
    pd.DataFrame({"account_id": [1, 2], "unit_id": [1001, 1003]}).to_parquet(
        tmp_path / "a.parquet"
    )
    with pytest.raises(
        DataValidationError,
        match=r"zero-padded to 5 digits, 2 of them are known \('1001' → '01001'\): "
        r"the accounts file lost its leading zeros \(restore them with "
        r"\.astype\(str\)\.str\.zfill\(5\)\)",
    ):
        read_accounts(tmp_path / "a.parquet", units=units)


def test_zeros_lost_in_the_referenced_table_are_explained(tmp_path):
    """The accounts' ids were stored as numbers (0000077 → 77) while the
    invoices keep the zeros: the error says so, and its fix restores the
    zeros instead of dropping every history row."""
    accounts = pd.DataFrame(
        {"account_id": ["77", "78"], "lon": [-84.0, -84.1], "lat": [33.0, 33.1]}
    ).set_index("account_id")
    pd.DataFrame(
        {
            "account_id": ["0000077", "0000078"],
            "period": ["2024-01", "2024-01"],
            "sales": [1.0, 2.0],
        }
    ).to_csv(tmp_path / "h.csv", index=False)
    with pytest.raises(DataValidationError) as err:
        read_history(tmp_path / "h.csv", accounts=accounts)
    msg = str(err.value)
    assert (
        "2 of them are known without their leading zeros ('0000077' → '77'): "
        "the accounts table lost the zeros of its ids" in msg
    )
    assert "drop their history rows" not in msg
    assert "Fix: read the ids of the accounts table as text" in msg
    assert ".str.zfill(7)" in msg


@pytest.mark.parametrize(
    ("periods", "months"),
    [
        # day-first: one value says so, so all are read day-first
        (["05/02/2024", "15/03/2024"], ["2024-02", "2024-03"]),
        # month-first: the second field goes above 12
        (["02/01/2024", "03/15/2024"], ["2024-02", "2024-03"]),
        # the 1st of each month, day-first: the constant field is the day
        (["01.02.24", "01.03.24"], ["2024-02", "2024-03"]),
    ],
)
def test_day_month_order_is_one_for_the_column(tmp_path, periods, months):
    """pandas reads '05/02/2024' as May and '15/02/2024' as February in the
    same column; the loader reads the whole column in one order."""
    pd.DataFrame({"account_id": ["A", "B"], "period": periods, "sales": 1.0}).to_csv(
        tmp_path / "h.csv", index=False
    )
    h = read_history(tmp_path / "h.csv")
    assert h["period"].astype(str).tolist() == months


def test_ambiguous_dates_ask_for_the_format(tmp_path):
    pd.DataFrame(
        {"account_id": ["A", "A"], "period": ["01/02/2024", "02/03/2024"], "sales": 1}
    ).to_csv(tmp_path / "h.csv", index=False)
    with pytest.raises(
        DataValidationError,
        match=r"history\.period: dates such as '01/02/2024' can be read day-first "
        r"or month-first .*Fix: pass period_format='%d/%m/%Y' \(day first\) or "
        r"'%m/%d/%Y'",
    ):
        read_history(tmp_path / "h.csv")
    h = read_history(tmp_path / "h.csv", period_format="%d/%m/%Y")
    assert h["period"].astype(str).tolist() == ["2024-02", "2024-03"]


@pytest.mark.parametrize(
    ("periods", "fmt"), [(["Jan-24", "Feb-24"], "%b-%y"), ([202401, 202402], "%Y%m")]
)
def test_unparsed_months_suggest_a_format(tmp_path, periods, fmt):
    pd.DataFrame({"account_id": ["A", "A"], "period": periods, "sales": 1}).to_csv(
        tmp_path / "h.csv", index=False
    )
    with pytest.raises(
        DataValidationError, match=f"Fix: pass period_format='{fmt}' to the loader"
    ):
        read_history(tmp_path / "h.csv")
    assert len(read_history(tmp_path / "h.csv", period_format=fmt)) == 2


# -- CSV as spreadsheets and CRMs write it ------------------------------------------
SAMPLE_REPS = Path(__file__).resolve().parents[2] / "data/samples/southeast/reps.csv"


def test_excel_csv_utf8_byte_order_mark_is_dropped(tmp_path):
    """Excel's "CSV UTF-8" starts the file with a BOM; the first column keeps
    its name."""
    path = tmp_path / "reps.csv"
    path.write_bytes(codecs.BOM_UTF8 + SAMPLE_REPS.read_bytes())
    reps = read_reps(path)
    pd.testing.assert_frame_equal(reps, read_reps(SAMPLE_REPS))


def test_excel_unicode_text_utf16_tab_separated(tmp_path):
    """Excel's "Unicode Text": UTF-16 with a BOM, tab-separated."""
    path = tmp_path / "reps.txt"
    path.write_text("rep_id\thome_lon\thome_lat\nRé\t-84.4\t33.7\n", encoding="utf-16")
    reps = read_reps(path)
    assert reps.index.tolist() == ["Ré"] and reps["home_lon"].tolist() == [-84.4]


def test_windows_1252_csv_is_read_with_a_warning(tmp_path):
    path = tmp_path / "reps.csv"
    path.write_bytes("rep_id,home_lon,home_lat\nRé,-84.4,33.7\n".encode("cp1252"))
    with pytest.warns(
        TerrakitWarning,
        match=r"^reps: reps\.csv is not UTF-8 text \(byte 0xe9 is not UTF-8\), so "
        r"it was read as Windows-1252 \(encoding='cp1252'\).* pass encoding=",
    ):
        reps = read_reps(path)
    assert reps.index.tolist() == ["Ré"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert read_reps(path, encoding="latin-1").index.tolist() == ["Ré"]
    with pytest.raises(
        DataValidationError,
        match=r"^reps: reps\.csv is not utf-8 text \(byte 0xe9 cannot be read\)\. "
        r"Fix: pass the encoding the file was saved in",
    ):
        read_reps(path, encoding="utf-8")


@pytest.mark.parametrize(("name", "sep"), [("reps.csv", ";"), ("reps.tsv", "\t")])
def test_decimal_commas_are_read_as_numbers(tmp_path, name, sep):
    """Excel where ',' is the decimal mark writes ';'-separated CSV; '.' then
    groups thousands."""
    rows = [
        ["rep_id", "home_lon", "home_lat", "capacity_hours", "name"],
        ["R1", "-84,3", "33,7", "1.600", "Dupont, Marie"],
        ["R2", "-80,85", "35,2", "1500", "Lee"],
    ]
    (tmp_path / name).write_text("\n".join(sep.join(r) for r in rows) + "\n")
    reps = read_reps(tmp_path / name)
    assert reps["home_lon"].tolist() == [-84.3, -80.85]
    assert reps["home_lat"].tolist() == [33.7, 35.2]
    assert reps["capacity_hours"].tolist() == [1600, 1500]
    assert reps["name"].tolist() == ["Dupont, Marie", "Lee"]


def test_comma_that_may_group_thousands_asks_for_the_decimal_mark(tmp_path):
    path = tmp_path / "reps.csv"
    path.write_text("rep_id;home_lon;home_lat\nR1;-84,388;33,749\n")
    with pytest.raises(
        DataValidationError,
        match=r"^reps\.home_lon: numbers such as '-84,388' in column 'home_lon' of "
        r"reps\.csv read as -84\.388 with a decimal comma or as -84388 with a comma "
        r"grouping thousands.*Fix: pass decimal=\",\" .* or decimal=\"\.\"",
    ):
        read_reps(path)
    reps = read_reps(path, decimal=",")
    assert reps["home_lon"].tolist() == [-84.388]


def test_commas_grouping_thousands_in_a_semicolon_file(tmp_path):
    path = tmp_path / "reps.csv"
    path.write_text(
        "rep_id;home_lon;home_lat;capacity_hours\n"
        "R1;-84.3;33.7;1,600\n"
        "R2;-80.8;35.2;1,250,000\n"
    )
    reps = read_reps(path)
    assert reps["capacity_hours"].tolist() == [1600, 1250000]
    assert reps["home_lon"].tolist() == [-84.3, -80.8]


def test_both_comma_kinds_in_one_file_are_refused(tmp_path):
    path = tmp_path / "reps.csv"
    path.write_text(
        "rep_id;home_lon;home_lat;capacity_hours\nR1;-84,3;33,7;1,250,000\n"
    )
    with pytest.raises(
        DataValidationError,
        match=r"reps\.csv has numbers with a decimal comma \('-84,3' in column "
        r"'home_lon'\) and numbers whose thousands are grouped by commas "
        r"\('1,250,000' in column 'capacity_hours'\)",
    ):
        read_reps(path)


def test_spaces_around_ids_are_stripped_with_a_warning(tmp_path, crm_units):
    """'R09 ' from a CRM export still matches 'R09' in the other tables."""
    crm_units.to_file(tmp_path / "u.gpkg")
    units = read_units(tmp_path / "u.gpkg", columns={"GEOID": "unit_id"})
    (tmp_path / "reps.csv").write_text(
        "rep_id,home_lon,home_lat\nR1 ,-86.5,32.5\n R2,-85.5,32.5\n"
    )
    with pytest.warns(
        TerrakitWarning,
        match=r"^reps\.rep_id: 2 id\(s\) had leading or trailing spaces, removed so "
        r"that they match the other tables: 'R1 ' → 'R1', ' R2' → 'R2' "
        r"\(rows: 'R1', 'R2'\)",
    ):
        reps = read_reps(tmp_path / "reps.csv")
    assert reps.index.tolist() == ["R1", "R2"]
    (tmp_path / "acc.csv").write_text(
        "account_id,unit_id,rep_id\nA1,01001,R1\nA2,01003\u00a0,R2 \n"
    )
    with pytest.warns(TerrakitWarning) as record:
        acc = read_accounts(tmp_path / "acc.csv", units=units)
    msgs = [str(w.message) for w in record]
    assert msgs == [
        "accounts.unit_id: 1 id(s) had leading or trailing spaces, removed so that "
        "they match the other tables: '01003\\xa0' → '01003' (rows: 'A2')",
        "accounts.rep_id: 1 id(s) had leading or trailing spaces, removed so that "
        "they match the other tables: 'R2 ' → 'R2' (rows: 'A2')",
    ]
    assert record[0].filename == __file__
    assert acc["unit_id"].tolist() == ["01001", "01003"]
    assert Study(units, acc, reps).accounts["rep_id"].tolist() == ["R1", "R2"]


def test_id_of_spaces_only_is_missing(tmp_path):
    (tmp_path / "reps.csv").write_text("rep_id,home_lon,home_lat\n   ,-86.5,32.5\n")
    with (
        pytest.warns(TerrakitWarning, match=r"'   ' → empty \(rows: 'row 0'\)"),
        pytest.raises(DataValidationError, match=r"^reps\.rep_id: 1 rows have no id"),
    ):
        read_reps(tmp_path / "reps.csv")


@pytest.fixture
def two_counties() -> gpd.GeoDataFrame:
    """Two county squares indexed by unit_id, as read_units returns them."""
    return gpd.GeoDataFrame(
        {"workload": [1.0, 2.0]},
        geometry=[box(-85, 33, -84, 34), box(-84, 33, -83, 34)],
        index=pd.Index(["01001", "01003"], name="unit_id"),
        crs="EPSG:4326",
    )


def test_the_feature_id_can_be_mapped(tmp_path):
    """The 'fid' QGIS shows for a GeoPackage and a GeoJSON feature's "id" are
    no fields: columns={'fid': 'unit_id'} said the file had no such column."""
    gpd.GeoDataFrame(
        {"name": ["Appling", "Atkinson"]},
        geometry=[box(-85, 33, -84, 34), box(-84, 33, -83, 34)],
        crs=4326,
    ).to_file(tmp_path / "c.gpkg", layer="counties")
    got = read_units(tmp_path / "c.gpkg", columns={"fid": "unit_id"})
    assert got.index.tolist() == [1, 2]
    assert got["name"].tolist() == ["Appling", "Atkinson"]
    fc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": 13001,
                "properties": {"name": "Appling"},
                "geometry": {"type": "Point", "coordinates": [-84.5, 33.5]},
            }
        ],
    }
    (tmp_path / "u.geojson").write_text(json.dumps(fc))
    got = read_units(tmp_path / "u.geojson", columns={"id": "unit_id"})
    assert got.index.tolist() == [13001]


def test_a_zipped_csv_reads_like_the_csv(tmp_path, two_counties):
    """GDAL read a zipped CSV with every column as text (lon, lat, scores)."""
    df = pd.DataFrame(
        {
            "account_id": ["A1", "A2"],
            "lon": [-84.5, -83.5],
            "lat": [33.5, 33.5],
            "score": [0.5, 0.7],
        }
    )
    df.to_csv(tmp_path / "accounts.csv", index=False)
    with zipfile.ZipFile(tmp_path / "accounts.zip", "w") as z:
        z.write(tmp_path / "accounts.csv", "export/accounts.csv")
    a = read_accounts(tmp_path / "accounts.csv", units=two_counties)
    b = read_accounts(tmp_path / "accounts.zip", units=two_counties)
    pd.testing.assert_frame_equal(a, b)
    (tmp_path / "de.csv").write_text("account_id;lon;lat\nA1;-84,5;33,5\n")
    with zipfile.ZipFile(tmp_path / "de.zip", "w") as z:
        z.write(tmp_path / "de.csv", "de.csv")
    assert read_accounts(tmp_path / "de.zip")["lon"].tolist() == [-84.5]
    with zipfile.ZipFile(tmp_path / "readme.zip", "w") as z:
        z.write(tmp_path / "accounts.csv", "accounts.csv")
        z.writestr("README.txt", "exported from the CRM")
    pd.testing.assert_frame_equal(
        a, read_accounts(tmp_path / "readme.zip", units=two_counties)
    )
    with zipfile.ZipFile(tmp_path / "two.zip", "w") as z:
        z.write(tmp_path / "accounts.csv", "accounts.csv")
        z.write(tmp_path / "de.csv", "de.csv")
    with pytest.raises(
        DataValidationError, match=r"two\.zip holds 2 tables: \['accounts\.csv', "
    ):
        read_accounts(tmp_path / "two.zip")


def test_a_zipped_shapefile_in_a_folder_is_found(tmp_path):
    """'Compress folder' puts the .shp in a folder of the zip: it was refused
    as 'not recognized as being in a supported file format'."""
    gdf = gpd.GeoDataFrame(
        {"unit_id": ["01001", "01003"]},
        geometry=[box(-85, 33, -84, 34), box(-84, 33, -83, 34)],
        crs=4326,
    )
    for name in ("counties", "tracts"):
        (tmp_path / name).mkdir()
        gdf.to_file(tmp_path / name / f"{name}.shp")
    with zipfile.ZipFile(tmp_path / "one.zip", "w") as z:
        for f in (tmp_path / "counties").iterdir():
            z.write(f, "counties/" + f.name)
    assert read_units(tmp_path / "one.zip").index.tolist() == ["01001", "01003"]
    with zipfile.ZipFile(tmp_path / "two.zip", "w") as z:
        for name in ("counties", "tracts"):
            for f in (tmp_path / name).iterdir():
                z.write(f, f"{name}/{f.name}")
    with pytest.raises(
        DataValidationError,
        match=r"two\.zip holds 2 shapefiles: .*'counties/counties\.shp'.*layer=",
    ):
        read_units(tmp_path / "two.zip")
    got = read_units(tmp_path / "two.zip", layer="tracts/tracts.shp")
    assert got.index.tolist() == ["01001", "01003"]


def test_accounts_without_a_unit_id_are_joined_by_location(tmp_path, two_counties):
    """Accounts with coordinates but an empty unit_id (new prospects) 'lay
    in no unit', although the docstring promises they are joined."""
    pd.DataFrame(
        {
            "account_id": ["A1", "A2", "P3"],
            "unit_id": ["01001", "01001", None],
            "lon": [-84.5, -83.5, -83.2],
            "lat": [33.5, 33.5, 33.4],
        }
    ).to_csv(tmp_path / "acc.csv", index=False)
    with pytest.warns(TerrakitWarning, match=r"1 account\(s\) had no unit_id.*'P3'"):
        got = read_accounts(tmp_path / "acc.csv", units=two_counties)
    # the given unit_ids are kept, even where the point says otherwise
    assert got["unit_id"].tolist() == ["01001", "01001", "01003"]


def test_units_with_the_id_as_a_column_and_polygon_accounts(tmp_path):
    """units=gpd.read_file(...) (unit_id a column) raised a bare KeyError;
    accounts given as polygons raised shapely's ValueError."""
    raw = gpd.GeoDataFrame(
        {"unit_id": ["01001", "01003"], "workload": [1.0, 2.0]},
        geometry=[box(-85, 33, -84, 34), box(-84, 33, -83, 34)],
        crs="EPSG:4326",
    )
    pd.DataFrame(
        {"account_id": ["A1", "A2"], "lon": [-84.5, -83.5], "lat": [33.5, 33.5]}
    ).to_csv(tmp_path / "acc.csv", index=False)
    got = read_accounts(tmp_path / "acc.csv", units=raw)
    assert got["unit_id"].tolist() == ["01001", "01003"]
    with pytest.raises(DataValidationError, match=r"no unit_id index or column"):
        read_accounts(tmp_path / "acc.csv", units=raw.drop(columns="unit_id"))
    gpd.GeoDataFrame(
        {"account_id": ["A1", "A2"]},
        geometry=[box(-84.6, 33.4, -84.5, 33.5), box(-83.6, 33.4, -83.5, 33.5)],
        crs=4326,
    ).to_file(tmp_path / "acc_poly.geojson")
    with pytest.warns(TerrakitWarning, match=r"\['Polygon'\] geometries, not points"):
        got = read_accounts(tmp_path / "acc_poly.geojson", units=raw)
    assert got["unit_id"].tolist() == ["01001", "01003"]


def test_a_saved_study_is_read_layer_by_table(tmp_path):
    """On a study file, read_accounts/read_history without layer= read the
    'units' layer although 'accounts' and 'history' layers exist."""
    from terrakit.data.synthetic import synthetic_region

    s = synthetic_region(n_units=30, n_accounts=90, n_reps=3, seed=1, history_months=2)
    s.save(tmp_path / "client.gpkg")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        acc = read_accounts(tmp_path / "client.gpkg")
        reps = read_reps(tmp_path / "client.gpkg")
        hist = read_history(tmp_path / "client.gpkg")
    assert acc.index.tolist() == s.accounts.index.tolist()
    assert reps.index.tolist() == s.reps.index.tolist()
    assert len(hist) == len(s.history)


def test_accounts_far_from_point_units_are_not_joined(tmp_path):
    """With ZIP centroids as units, an account in Seattle and one with lon/lat
    swapped were joined to the nearest Georgia ZIP, 3,500 and 13,800 km off."""
    pd.DataFrame(
        {
            "unit_id": ["30303", "30601", "31401"],
            "lon": [-84.39, -83.37, -81.09],
            "lat": [33.75, 33.96, 32.08],
        }
    ).to_csv(tmp_path / "zips.csv", index=False)
    units = read_units(tmp_path / "zips.csv")
    pd.DataFrame(
        {"account_id": ["A1", "A2"], "lon": [-84.40, -83.4], "lat": [33.76, 33.9]}
    ).to_csv(tmp_path / "ok.csv", index=False)
    ok = read_accounts(tmp_path / "ok.csv", units=units)
    assert ok["unit_id"].tolist() == ["30303", "30601"]
    pd.DataFrame(
        {
            "account_id": ["A1", "A2", "A3"],
            "lon": [-84.40, -122.33, 33.75],
            "lat": [33.76, 47.61, -84.39],
        }
    ).to_csv(tmp_path / "acc.csv", index=False)
    with pytest.raises(
        DataValidationError,
        match=r"2 accounts lie more than \d+ km from their unit's point "
        r"\('A2': 3,50\d km, 'A3': 13,8\d\d km\).*swapping lon and lat puts 1",
    ):
        read_accounts(tmp_path / "acc.csv", units=units)


def test_a_row_number_is_no_feature_id(tmp_path):
    """Only a real feature id maps: a shapefile's FID and the numbers GDAL
    gives GeoJSON features without an "id" are row numbers."""
    gpd.GeoDataFrame(
        {"name": ["Appling"]}, geometry=[box(-85, 33, -84, 34)], crs=4326
    ).to_file(tmp_path / "c.shp")
    with pytest.raises(DataValidationError, match=r"no such column"):
        read_units(tmp_path / "c.shp", columns={"FID": "unit_id"})
    fc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"name": "Appling"},
                "geometry": {"type": "Point", "coordinates": [-84.5, 33.5]},
            }
        ],
    }
    (tmp_path / "u.geojson").write_text(json.dumps(fc))
    with pytest.raises(DataValidationError, match=r"no such column"):
        read_units(tmp_path / "u.geojson", columns={"id": "unit_id"})


def test_mapping_columns_on_another_sheet_name_it(tmp_path):
    # a CRM workbook whose first sheet is a cover page: the error names the
    # sheets and the one that holds the mapped columns
    acc = pd.DataFrame(
        {"Customer ID": ["A1"], "Long": [-84.0], "Lat": [33.0], "Revenue": [5.0]}
    )
    path = tmp_path / "crm.xlsx"
    with pd.ExcelWriter(path) as xw:
        pd.DataFrame({"Export": ["CRM export"]}).to_excel(
            xw, sheet_name="Cover", index=False
        )
        acc.to_excel(xw, sheet_name="Customer List", index=False)
    cols = {
        "Customer ID": "account_id",
        "Long": "lon",
        "Lat": "lat",
        "Revenue": "annual_sales",
    }
    with pytest.raises(
        DataValidationError,
        match=r"sheet 'Cover' of crm\.xlsx has no such column .*the workbook has "
        r"the sheets \['Cover', 'Customer List'\], and sheet 'Customer List' holds "
        r"these columns\. Fix: pass sheet='Customer List' \(\[data\] "
        r"accounts_sheet",
    ):
        read_accounts(path, columns=cols)
    got = read_accounts(path, columns=cols, sheet="Customer List")
    assert got.loc["A1", "annual_sales"] == 5.0


def test_misspelt_mapping_target_is_refused(tmp_path):
    pd.DataFrame(
        {"id": ["A1"], "lon": [-84.0], "lat": [33.0], "Revenue": [5.0], "Tier": [1]}
    ).to_csv(tmp_path / "acc.csv", index=False)
    with pytest.raises(
        DataValidationError,
        match=r"accounts\.anual_sales: the columns mapping maps 'Revenue' to "
        r"'anual_sales', .*\(did you mean 'annual_sales'\?\)",
    ):
        read_accounts(
            tmp_path / "acc.csv",
            columns={"id": "account_id", "Revenue": "anual_sales"},
        )
    # a name far from every terrakit name is the client's own extra column
    got = read_accounts(
        tmp_path / "acc.csv", columns={"id": "account_id", "Tier": "tier_level"}
    )
    assert "tier_level" in got.columns


# -- round 11: dots that may group thousands, decimal=".", empty and title rows --
def test_dot_followed_by_three_digits_asks_for_the_decimal_mark(tmp_path):
    """'1.250' in a ;-separated file was read as 1.25 (1000x too small) while
    '1,250' asked for decimal=."""
    head = "account_id;unit_id;annual_sales;calls_per_year\n"
    path = tmp_path / "acc.csv"
    path.write_text(head + "A1;01001;1.250;12\nA2;01003;12.345;6\nA3;01003;2.500;4\n")
    with pytest.raises(DataValidationError) as info:
        read_accounts(path)
    assert str(info.value) == (
        "accounts.annual_sales: numbers such as '1.250' in column 'annual_sales' "
        "of acc.csv read as 1.250 with a decimal point or as 1250 with a dot "
        "grouping thousands, and no other number in the file tells which. Fix: "
        'pass decimal="." (a decimal point) or decimal="," (the dot groups '
        "thousands, as Excel writes ;-separated files) to the loader"
    )
    assert read_accounts(path, decimal=",")["annual_sales"].tolist() == [
        1250,
        12345,
        2500,
    ]
    assert read_accounts(path, decimal=".")["annual_sales"].tolist() == [
        1.25,
        12.345,
        2.5,
    ]

    def sales(body: str, name: str = "acc.csv", head: str = head) -> list[float]:
        (tmp_path / name).write_text(head + body)
        return read_accounts(tmp_path / name)["annual_sales"].tolist()

    # another number settles it: dots grouping thousands, or a decimal point
    assert sales("A1;01001;1.250.000;12\nA2;01003;12.345;6\n") == [1250000, 12345]
    assert sales("A1;01001;1.250;12\nA2;01003;12.5;6\n") == [1.25, 12.5]
    assert sales("A1;01001;1.250;12\nA2;01003;3.14159;6\n") == [1.25, 3.14159]
    assert sales("A1;01001;0.250;12\n") == [0.25]
    # a coordinate with three decimals is no thousands: its dot is decimal
    coords = "account_id;unit_id;annual_sales;lon;lat\n"
    assert sales("A1;01001;1.250;-84.388;33.749\n", head=coords) == [1.25]
    # a tab-separated file alike
    tsv = head.replace(";", "\t")
    with pytest.raises(DataValidationError, match=r"numbers such as '1\.250'"):
        sales("A1\t01001\t1.250\t12\n", name="acc.tsv", head=tsv)
    with pytest.raises(DataValidationError) as info:
        sales("A1;01001;1.250.000;12\nA2;01003;3.5;6\n")
    assert info.value.problem == (
        "acc.csv has numbers whose thousands are grouped by dots ('1.250.000' in "
        "column 'annual_sales') and numbers with a decimal point ('3.5' in column "
        "'annual_sales')"
    )


def test_decimal_point_reads_commas_grouping_thousands(tmp_path):
    """The error's own fix, decimal=".", still refused '1,600' in a ; file."""
    path = tmp_path / "reps.csv"
    path.write_text(
        "rep_id;home_lon;home_lat;capacity_hours\nR1;-84.3;33.7;1,600\n"
        "R2;-80.8;35.2;1,500\n"
    )
    with pytest.raises(DataValidationError, match=r"numbers such as '1,600'"):
        read_reps(path)
    reps = read_reps(path, decimal=".")
    assert reps["capacity_hours"].tolist() == [1600, 1500]
    assert reps["home_lon"].tolist() == [-84.3, -80.8]
    # decimal="," reads dots grouping thousands
    path.write_text("rep_id;home_lon;home_lat;capacity_hours\nR1;-84,3;33,7;1.600\n")
    assert read_reps(path, decimal=",")["capacity_hours"].tolist() == [1600]
    # '1,5' is no comma grouping thousands: refused, not read as 15
    path.write_text("rep_id;home_lon;home_lat;capacity_hours\nR1;-84.3;33.7;1,5\n")
    with pytest.raises(DataValidationError) as info:
        read_reps(path, decimal=".")
    assert str(info.value) == (
        "reps.capacity_hours: 1 values are not numbers (e.g. '1,5') (rows: 'R1'). "
        'Fix: these numbers have a decimal comma: pass decimal="," to the loader '
        "(tk.data.read_...), or write them with a decimal point"
    )


def test_text_coordinates_with_decimal_commas_are_not_missing(tmp_path):
    """Quoted '-86,6' in a comma-separated file was 'missing ... geocode'."""
    path = tmp_path / "units.csv"
    path.write_text('unit_id,lon,lat\n01001,"-86,6","32,5"\n01003,"-87,7","30,7"\n')
    with pytest.raises(DataValidationError) as info:
        read_units(path)
    assert str(info.value) == (
        "units.lon: 2 coordinates are text, not numbers (e.g. '-86,6') (rows: "
        "'01001', '01003'). Fix: these numbers have a decimal comma: pass "
        'decimal="," to the loader (tk.data.read_...), or write them with a '
        "decimal point"
    )
    units = read_units(path, decimal=",")
    assert units[["lon", "lat"]].to_numpy().tolist() == [[-86.6, 32.5], [-87.7, 30.7]]


def test_empty_workbook_is_named(tmp_path):
    """A 0-byte .xlsx gave pandas' 'Excel file format cannot be determined'."""
    (tmp_path / "reps.xlsx").write_bytes(b"")
    with pytest.raises(DataValidationError) as info:
        read_reps(tmp_path / "reps.xlsx")
    assert str(info.value) == (
        "reps: reps.xlsx is empty (no header, no rows). Fix: export the reps "
        "table again; the file holds nothing"
    )
    (tmp_path / "bad.xlsx").write_bytes(b"not a workbook")
    with pytest.raises(
        DataValidationError, match=r"^reps: cannot read bad\.xlsx as an Excel workbook"
    ):
        read_reps(tmp_path / "bad.xlsx")


def test_empty_wkt_cell_is_a_missing_geometry(tmp_path):
    """An empty WKT cell gave 'Expected bytes or string, got float', naming no
    row."""
    path = tmp_path / "units.csv"
    path.write_text(
        'unit_id,geometry\n01001,"POLYGON((-86 32,-85 32,-85 33,-86 33,-86 32))"\n'
        '01003,\n01005,"POLYGON((-85 32,-84 32,-84 33,-85 33,-85 32))"\n'
    )
    with pytest.raises(DataValidationError) as info:
        read_units(path, crs=4326)
    assert str(info.value) == (
        "units.geometry: 1 units have no geometry (rows: '01003'). Fix: drop these "
        "units or supply their polygons/points"
    )
    path.write_text(
        'unit_id,geometry\n01001,"POLYGON((-86 32,-85 32,-85 33,-86 33,-86 32))"\n'
        '01003,"POLYGON((-86 32"\n'
    )
    with pytest.raises(DataValidationError) as info:
        read_units(path, crs=4326)
    assert info.value.rows == ["01003"]
    assert info.value.problem.startswith(
        "1 values of the geometry column are not WKT text ('POLYGON((-86 32': "
    )


def test_title_row_above_a_workbook_header_is_named(tmp_path):
    """A merged title row above the header blamed the column names and
    suggested columns={...}, which cannot help."""
    import openpyxl

    path = tmp_path / "reps.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Reps"
    ws.append(["Sales reps 2025"])
    ws.merge_cells("A1:D1")
    ws.append([])
    ws.append(["rep_id", "home_lon", "home_lat", "capacity_hours"])
    ws.append(["R1", -84.3, 33.7, 1600])
    wb.save(path)
    with pytest.raises(DataValidationError) as info:
        read_reps(path)
    assert str(info.value) == (
        "reps.rep_id: the header of sheet 'Reps' of reps.xlsx looks like a title, "
        "not column names (columns seen: ['Sales reps 2025', 'Unnamed: 1', "
        "'Unnamed: 2', 'Unnamed: 3']); the column names (['rep_id', 'home_lon', "
        "'home_lat', 'capacity_hours']) are in row 3 of the sheet. Fix: delete the "
        "row(s) above row 3 (titles, notes, blank rows) so that the column names "
        "are in the sheet's first row, then read it again"
    )
    # with a mapping, the id's name in the file is looked for
    with pytest.raises(DataValidationError, match=r"are in row 3 of the sheet"):
        read_reps(path, columns={"rep_id": "rep_id", "home_lon": "home_lon"})
    ws.delete_rows(1, 2)
    wb.save(path)
    assert read_reps(path)["capacity_hours"].tolist() == [1600]


# -- QA round 16: crs= for lon/lat columns, files without a CRS -----------------------
def test_lon_lat_columns_follow_a_projected_crs(tmp_path):
    """crs=32616 with UTM metres in the lon/lat columns was refused as 'must be
    WGS84 degrees' (crs= ignored); degrees with that wrong crs= were taken as
    metres near (0, 0) without a word."""
    import numpy as np
    import pyproj

    from terrakit.data.geo import lonlat

    lon, lat = np.array([-84.4, -84.3, -84.2]), np.array([33.7, 33.8, 33.9])
    x, y = pyproj.Transformer.from_crs(4326, 32616, always_xy=True).transform(lon, lat)
    pd.DataFrame({"unit_id": list("abc"), "lon": x, "lat": y}).to_csv(
        tmp_path / "utm.csv", index=False
    )
    units = read_units(tmp_path / "utm.csv", crs=32616)
    assert units.crs.to_epsg() == 32616
    np.testing.assert_allclose(np.column_stack(lonlat(units)), np.c_[lon, lat])
    # degrees declared as UTM metres
    pd.DataFrame(
        {"unit_id": list("abc"), "lon": [-124.0, -100.0, -67.0], "lat": [47, 35, 45]}
    ).to_csv(tmp_path / "deg.csv", index=False)
    with pytest.raises(DataValidationError) as err:
        read_units(tmp_path / "deg.csv", crs=32616)
    assert str(err.value) == (
        "units.geometry: the CRS is projected (EPSG:32616) but all coordinates lie "
        "within [-124, -67] × [35, 47]: they look like lon/lat degrees, so the CRS "
        "does not match. Fix: if they are lon/lat degrees, declare EPSG:4326: "
        "gdf.set_crs('EPSG:4326', allow_override=True), or read the file without "
        "crs= (lon/lat columns are taken as EPSG:4326)"
    )
    assert read_units(tmp_path / "deg.csv").crs.to_epsg() == 4326
    # a geographic crs= still wants degrees
    with pytest.raises(DataValidationError, match="3 longitudes outside"):
        read_units(tmp_path / "utm.csv", crs=4269)


def test_accounts_file_without_a_crs_warns_as_reps_do(tmp_path):
    """A CRS-less accounts GeoPackage was taken as lon/lat silently, while
    reps warned."""
    from terrakit.exceptions import CRSWarning

    units = gpd.GeoDataFrame(
        {"unit_id": ["a", "b"]}, geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)], crs=4326
    ).set_index("unit_id")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gpd.GeoDataFrame(
            {"account_id": ["x", "y"]}, geometry=[Point(0.5, 0.5), Point(1.5, 0.5)]
        ).to_file(tmp_path / "acc.gpkg")
        gpd.GeoDataFrame({"rep_id": ["r1"]}, geometry=[Point(0.5, 0.5)]).to_file(
            tmp_path / "reps.gpkg"
        )
    out = {}
    for table, read in (
        ("accounts", lambda: read_accounts(tmp_path / "acc.gpkg", units=units)),
        ("reps", lambda: read_reps(tmp_path / "reps.gpkg")),
    ):
        with pytest.warns(CRSWarning) as rec:
            out[table] = read()
        msgs = [str(w.message) for w in rec if w.category is CRSWarning]
        assert msgs == [f"{table}: the file has no CRS; assuming lon/lat (EPSG:4326)"]
        assert rec[0].filename == __file__
    assert out["accounts"]["unit_id"].tolist() == ["a", "b"]
    assert out["reps"].index.tolist() == ["r1"]


# -- QA round 17: periods and ids read as text ------------------------------------
def test_periods_are_read_as_text_not_numbers(tmp_path):
    """The period column was read as numbers first: '2024.10' became 2024.1,
    January, and '09.2020' became 9.202, refused even with period_format.
    Text cells of a workbook alike; its date cells stay dates."""
    (tmp_path / "dot.csv").write_text(
        "account_id,period,sales\nA1,2024.09,5\nA1,2024.10,7\nA2,2024.11,3\n"
    )
    h = read_history(tmp_path / "dot.csv")
    assert h["period"].astype(str).tolist() == ["2024-09", "2024-10", "2024-11"]
    (tmp_path / "sap.csv").write_text(
        "Konto;Monat;Umsatz\nA1;09.2020;5,5\nA1;10.2020;7\nA2;11.2020;3\n"
    )
    h = read_history(
        tmp_path / "sap.csv",
        {"Konto": "account_id", "Monat": "period", "Umsatz": "sales"},
        period_format="%m.%Y",
    )
    assert h["period"].astype(str).tolist() == ["2020-09", "2020-10", "2020-11"]
    assert h["sales"].tolist() == [5.5, 7.0, 3.0]
    pd.DataFrame(
        {"account_id": ["A1", "A1"], "period": ["2024.09", "2024.10"], "sales": 1}
    ).to_excel(tmp_path / "h.xlsx", index=False)
    h = read_history(tmp_path / "h.xlsx")
    assert h["period"].astype(str).tolist() == ["2024-09", "2024-10"]
    # date cells are dates, whatever period_format says of text
    pd.DataFrame(
        {
            "account_id": ["A1", "A1"],
            "period": pd.to_datetime(["2024-09-01", "2024-10-01"]),
            "sales": 1,
        }
    ).to_excel(tmp_path / "d.xlsx", index=False)
    h = read_history(tmp_path / "d.xlsx", period_format="%m/%Y")
    assert h["period"].astype(str).tolist() == ["2024-09", "2024-10"]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_text_ids_like_na_stay_ids(tmp_path, fmt):
    """'NA' (Namibia), 'NULL', 'None' in an id column were read as missing:
    unit 'NA' had "no id", an account of unit 'NA' "no unit_id", and an
    account of rep 'NA' silently no owner.  Only an empty cell is a missing
    id; in other columns 'NA' stays missing."""

    def write(df: pd.DataFrame, name: str) -> Path:
        path = tmp_path / f"{name}.{fmt}"
        if fmt == "csv":
            df.to_csv(path, index=False)
        else:
            df.to_excel(path, index=False)
        return path

    units = read_units(
        write(
            pd.DataFrame(
                {
                    "unit_id": ["ZA", "NA", "NULL"],
                    "lon": [24.7, 17.1, 24.7],
                    "lat": [-29.0, -22.6, -22.3],
                    "population": ["5", "NA", "7"],
                }
            ),
            "units",
        )
    )
    assert units.index.tolist() == ["ZA", "NA", "NULL"]
    assert units["population"].isna().tolist() == [False, True, False]
    acc = read_accounts(
        write(
            pd.DataFrame(
                {
                    "account_id": ["A1", "A2", "A3"],
                    "unit_id": ["ZA", "NA", "NULL"],
                    "rep_id": ["NA", "None", None],
                    "annual_sales": [10, 20, 30],
                }
            ),
            "acc",
        ),
        units=units,
    )
    assert acc["unit_id"].tolist() == ["ZA", "NA", "NULL"]
    assert acc["rep_id"].tolist()[:2] == ["NA", "None"]
    assert pd.isna(acc["rep_id"].iloc[2])  # an empty cell: unowned
    reps = read_reps(
        write(
            pd.DataFrame(
                {
                    "rep_id": ["NA", "None"],
                    "home_lon": [17.1, 24.7],
                    "home_lat": [-22.6, -29.0],
                    "home_unit": ["NA", None],
                }
            ),
            "reps",
        )
    )
    assert reps.index.tolist() == ["NA", "None"]
    assert reps["home_unit"].tolist()[0] == "NA" and pd.isna(reps["home_unit"].iloc[1])
    study = Study(units, accounts=acc, reps=reps)
    assert study.accounts["rep_id"].isin(study.reps.index).tolist() == [
        True,
        True,
        False,
    ]


def test_decimal_columns_from_sql_exports_are_numbers(tmp_path):
    """A Parquet file of SQL NUMBER(38,0) ids and NUMERIC(12,2) sales held
    Decimal objects: the study was built, and save() then died with a
    TypeError blaming a 'provenance value'."""
    import decimal

    import pyarrow as pa
    import pyarrow.parquet as pq

    D = decimal.Decimal
    units = gpd.GeoDataFrame(
        {"workload": [1.0, 2.0]},
        geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)],
        index=pd.Index([1001, 1003], name="unit_id"),
        crs="EPSG:4326",
    )
    big = 100000000000000001
    pq.write_table(
        pa.table(
            {
                "account_id": pa.array([D(1), D(2), D(big)], pa.decimal128(38, 0)),
                "unit_id": pa.array([D(1001), D(1003), D(1003)], pa.decimal128(38, 0)),
                "rep_id": pa.array([D(7), None, D(7)], pa.decimal128(38, 0)),
                "annual_sales": pa.array(
                    [D("10.50"), D("20.25"), None], pa.decimal128(12, 2)
                ),
            }
        ),
        tmp_path / "acc.parquet",
    )
    acc = read_accounts(tmp_path / "acc.parquet", units=units)
    assert acc.index.dtype == "int64" and acc.index.tolist() == [1, 2, big]
    assert acc["unit_id"].dtype == "int64"
    assert acc["rep_id"].dtype == "Int64" and acc["rep_id"].tolist()[0] == 7
    assert acc["annual_sales"].dtype == "float64"
    assert acc["annual_sales"].tolist()[:2] == [10.5, 20.25]
    s = Study(units, accounts=acc)
    assert Study.load(s.save(tmp_path / "s.gpkg")).equals(s)


# -- round 19: extra values, index in Parquet, names twice or with spaces ---------
@pytest.mark.parametrize(("name", "sep"), [("acc.tsv", "\t"), ("acc.csv", ",")])
def test_a_delimiter_ending_every_line_shifts_no_column(tmp_path, name, sep):
    """Rows one value longer than the header (a trailing delimiter) made the
    first column the index: a tab file read the unit ids as account ids and
    the sales as unit ids, a comma file raised a bare AssertionError."""
    rows = [
        "account_id,unit_id,annual_sales,calls_per_year",
        "A1,U1,100,4,",
        "A2,U2,200,6,",
    ]
    path = tmp_path / name
    path.write_text("\n".join(r.replace(",", sep) for r in rows) + "\n")
    acc = read_accounts(path)
    assert acc.index.tolist() == ["A1", "A2"]
    assert acc["unit_id"].tolist() == ["U1", "U2"]
    assert acc["annual_sales"].tolist() == [100, 200]
    assert acc["calls_per_year"].tolist() == [4, 6]
    # one line only with an empty value more is read too
    rows[2] = "A2,U2,200,6"
    path.write_text("\n".join(r.replace(",", sep) for r in rows) + "\n")
    assert read_accounts(path)["unit_id"].tolist() == ["U1", "U2"]


def test_values_past_the_header_are_refused_with_their_lines(tmp_path):
    path = tmp_path / "acc.csv"
    path.write_text(
        "account_id,unit_id,annual_sales\nA1,U1,100\nA2,U2,Dupont, Marie\n"
        "A3,U3,300,,\nA4,U4,1,600\n"
    )
    with pytest.raises(DataValidationError) as info:
        read_accounts(path)
    assert str(info.value) == (
        "accounts: 2 line(s) of acc.csv hold more values than its header has "
        "column names (3): line 3: 4 values, extra ' Marie'; line 5: 4 values, "
        "extra '600'. Fix: put quotes around values that hold a comma (\"Dupont, "
        'Marie"), give the extra column a name in the header, or delete the '
        "extra values"
    )


@pytest.mark.parametrize(("name", "sep"), [("acc.csv", ","), ("acc.tsv", "\t")])
def test_a_quote_never_closed_names_its_line(tmp_path, name, sep):
    """An unclosed quote gave pandas' bare ParserError."""
    path = tmp_path / name
    path.write_text(
        'account_id,unit_id,annual_sales\nA1,U1,100\nA2,"U2,200\nA3,U3,300\n'.replace(
            ",", sep
        )
    )
    with pytest.raises(DataValidationError) as info:
        read_accounts(path)
    assert info.value.problem == (
        f'a quote (") opened on line 3 of {name} is never closed, so the rest of '
        "the file reads as one value"
    )


@pytest.mark.parametrize("table", ["accounts", "reps", "units"])
def test_parquet_written_from_a_study_table_reads_back(tmp_path, table):
    """study.accounts.to_parquet(p) keeps account_id as the index: read_accounts
    refused it, 'required column(s) ['account_id'] missing'."""
    units = gpd.GeoDataFrame(
        {"workload": [1.0, 2.0]},
        geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)],
        index=pd.Index(["U1", "U2"], name="unit_id"),
        crs="EPSG:4326",
    )
    frames = {
        "units": units,
        "accounts": pd.DataFrame(
            {"unit_id": ["U1", "U2"], "annual_sales": [1.0, 2.0]},
            index=pd.Index(["A1", "A2"], name="account_id"),
        ),
        "reps": pd.DataFrame(
            {"home_lon": [0.5, 1.5], "home_lat": [0.5, 0.5]},
            index=pd.Index(["R1", "R2"], name="rep_id"),
        ),
    }
    frames[table].to_parquet(tmp_path / "t.parquet")
    reader = {"units": read_units, "accounts": read_accounts, "reps": read_reps}
    got = reader[table](tmp_path / "t.parquet")
    assert got.index.name == frames[table].index.name
    assert got.index.tolist() == frames[table].index.tolist()
    assert list(got.columns) == list(frames[table].columns)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_column_named_twice_in_the_header_is_refused(tmp_path, fmt):
    """Two 'annual_sales' columns were read silently, pandas naming the second
    'annual_sales.1' and terrakit using the first."""
    import openpyxl

    rows = [
        ["account_id", "unit_id", "annual_sales", "annual_sales ", "Notes", "Notes"],
        ["A1", "U1", 100, 900, "x", "y"],
    ]
    path = tmp_path / f"acc.{fmt}"

    def write() -> None:
        if fmt == "csv":
            path.write_text("\n".join(",".join(map(str, r)) for r in rows) + "\n")
            return
        wb = openpyxl.Workbook()
        for r in rows:
            wb.active.append(r)
        wb.save(path)

    write()
    with pytest.raises(DataValidationError) as info:
        read_accounts(path)
    assert str(info.value) == (
        f"accounts.annual_sales: the header of acc.{fmt} names 2 columns "
        "'annual_sales' (columns 3 and 4), so which one to read as 'annual_sales' "
        "cannot be told. Fix: rename the others in the file (e.g. 'annual_sales "
        "2024'), so that only the column to read is named 'annual_sales', or map "
        "the one to read with columns={...}"
    )
    # a column terrakit does not read may be named twice: kept, with a warning
    rows[0][3] = "sales 2025"
    write()
    with pytest.warns(
        TerrakitWarning,
        match=rf"^accounts: the header of acc\.{fmt} names some columns more than "
        r"once: 'Notes' \(columns 5, 6\); the later ones are kept as '<name>\.1'",
    ):
        acc = read_accounts(path)
    assert acc[["annual_sales", "Notes", "Notes.1"]].values.tolist() == [
        [100, "x", "y"]
    ]


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "gpkg"])
def test_spaces_around_column_names_are_removed_with_a_warning(tmp_path, fmt):
    """'capacity_hours ' was kept as an extra column and ignored: the reps lost
    their capacities without a word."""
    reps = pd.DataFrame(
        {
            " rep_id": ["R1", "R2"],
            "home_lon": [-84.3, -84.4],
            "home_lat": [33.7, 33.8],
            "capacity_hours ": [1600, 1400],
            "Home Unit ": ["01001", "01003"],
        }
    )
    path = tmp_path / f"reps.{fmt}"
    if fmt == "gpkg":
        gpd.GeoDataFrame(
            reps,
            geometry=gpd.points_from_xy(reps["home_lon"], reps["home_lat"]),
            crs="EPSG:4326",
        ).to_file(path)
    elif fmt == "xlsx":
        reps.to_excel(path, index=False)
    else:
        reps.to_csv(path, index=False)
    with pytest.warns(
        TerrakitWarning,
        match=rf"^reps: 3 column name\(s\) of reps\.{fmt} had leading or trailing "
        r"spaces, removed so that they match terrakit's names and columns=\{\.\.\.\}: "
        r"' rep_id' → 'rep_id', 'capacity_hours ' → 'capacity_hours', 'Home Unit ' "
        r"→ 'Home Unit'$",
    ):
        got = read_reps(path, columns={"Home Unit": "home_unit"})
    assert got.index.tolist() == ["R1", "R2"]
    assert got["capacity_hours"].tolist() == [1600, 1400]
    assert got["home_unit"].tolist() == ["01001", "01003"]  # read as text


def test_utf8_encoding_drops_the_byte_order_mark(tmp_path):
    """encoding='utf-8' kept Excel's byte-order mark in the first name:
    "required column(s) ['account_id'] missing (columns seen: account_id, ...)"."""
    path = tmp_path / "acc.csv"
    path.write_bytes(codecs.BOM_UTF8 + b"account_id,unit_id\nA1,01001\n")
    for encoding in ("utf-8", "UTF8", "utf-8-sig"):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            acc = read_accounts(path, encoding=encoding)
        assert acc.index.tolist() == ["A1"]
        assert acc["unit_id"].tolist() == ["01001"]
    with pytest.raises(DataValidationError, match=r"encoding='utf-9' is no encoding"):
        read_accounts(path, encoding="utf-9")


def test_decimal_point_reads_quoted_thousands_in_a_comma_file(tmp_path):
    """'"1,600"' in a comma-separated file: decimal="." (documented to read
    commas grouping thousands) was ignored, and the error advised decimal=","
    too, which reads 1,600 as 1.6."""
    path = tmp_path / "acc.csv"
    path.write_text(
        'account_id,unit_id,annual_sales,lon,lat\nA1,U1,"1,600",-84.3,33.7\n'
        'A2,U2,"1,250,000.5",-84.4,33.8\nA3,U3,75,-84.5,33.9\n'
    )
    with pytest.raises(DataValidationError) as info:
        read_accounts(path)
    assert info.value.fix == (
        'the commas group thousands (1,600 is 1600): pass decimal="." to the '
        "loader (tk.data.read_...) to read them so, or remove the separators"
    )
    acc = read_accounts(path, decimal=".")
    assert acc["annual_sales"].tolist() == [1600, 1250000.5, 75]
    assert acc["lon"].tolist() == [-84.3, -84.4, -84.5]


def test_decimal_reads_text_numbers_of_a_workbook(tmp_path):
    """Amounts stored as text ('12,5') in a workbook: the error said pass
    decimal=",", and passing it changed nothing."""
    import openpyxl

    wb = openpyxl.Workbook()
    for r in (
        ["account_id", "unit_id", "lon", "lat", "annual_sales", "segment"],
        ["A1", "01001", "-84,388", "33.749", "12,5", "01"],
        ["A2", "01003", -84.3, "33,7", 100, "02"],
        ["A3", "01003", "-84.5", 33.6, "1.234,5", "03"],
    ):
        wb.active.append(r)
    wb.save(tmp_path / "acc.xlsx")
    with pytest.raises(DataValidationError, match=r"pass decimal=\",\""):
        read_accounts(tmp_path / "acc.xlsx")
    acc = read_accounts(tmp_path / "acc.xlsx", decimal=",")
    assert acc["annual_sales"].tolist() == [12.5, 100, 1234.5]
    # a coordinate's dot is a decimal point
    assert acc["lon"].tolist() == [-84.388, -84.3, -84.5]
    assert acc["lat"].tolist() == [33.749, 33.7, 33.6]
    assert acc["unit_id"].tolist() == ["01001", "01003", "01003"]
    # decimal="." reads commas grouping thousands
    wb = openpyxl.Workbook()
    for r in (
        ["rep_id", "home_lon", "home_lat", "capacity_hours"],
        ["R1", -84.3, 33.7, "1,600"],
        ["R2", -84.4, 33.8, 1500],
    ):
        wb.active.append(r)
    wb.save(tmp_path / "reps.xlsx")
    with pytest.raises(DataValidationError, match=r"pass decimal=\"\.\" to the"):
        read_reps(tmp_path / "reps.xlsx")
    assert read_reps(tmp_path / "reps.xlsx", decimal=".")[
        "capacity_hours"
    ].tolist() == [1600, 1500]
    with pytest.raises(DataValidationError, match=r"decimal=';' is not a decimal mark"):
        read_reps(tmp_path / "reps.xlsx", decimal=";")


def test_coordinates_keep_their_decimal_point_beside_decimal_commas(tmp_path):
    """A ;-file with amounts '1234,5' and coordinates '-84.388' read the
    coordinates' dots as thousands (-84388) and blamed them as projected."""
    path = tmp_path / "acc.csv"
    path.write_text(
        "account_id;unit_id;lon;lat;annual_sales\n"
        "A1;U1;-84.388;33.749;1234,5\nA2;U2;-84,391;33.752;1.099,9\n"
    )
    for decimal in (None, ","):
        acc = read_accounts(path, decimal=decimal)
        assert acc["lon"].tolist() == [-84.388, -84.391]
        assert acc["lat"].tolist() == [33.749, 33.752]
        assert acc["annual_sales"].tolist() == [1234.5, 1099.9]


# -- QA round 21 --------------------------------------------------------------------
def test_date_cells_beside_text_months_read_with_the_format_advised(tmp_path):
    """A workbook's period column of date cells and text months ('03.2024'):
    the loader advised period_format='%m.%Y' ('it reads all of them'), and
    with it refused the date cells, although date cells are read as dates
    whatever the format.  The format now applies to the text cells only."""
    import datetime as dt

    import openpyxl

    wb = openpyxl.Workbook()
    for r in (
        ["account_id", "period", "sales"],
        ["A1", dt.datetime(2024, 1, 1), 100],
        ["A1", dt.datetime(2024, 2, 1), 110],
        ["A1", "03.2024", 120],
        ["A1", "04.2024", 130],
    ):
        wb.active.append(r)
    wb.save(tmp_path / "h.xlsx")
    with pytest.raises(DataValidationError) as info:
        read_history(tmp_path / "h.xlsx")
    assert str(info.value) == (
        "history.period: 2 periods do not parse as months (e.g. '03.2024') (rows: "
        "'row 2', 'row 3'). Fix: pass period_format='%m.%Y' to the loader (it "
        "reads all of them), or write months as YYYY-MM"
    )
    h = read_history(tmp_path / "h.xlsx", period_format="%m.%Y")
    assert h["period"].astype(str).tolist() == [
        "2024-01",
        "2024-02",
        "2024-03",
        "2024-04",
    ]
    assert h["sales"].tolist() == [100, 110, 120, 130]


def test_a_tilde_path_is_the_home_folder(tmp_path, crm_units, monkeypatch):
    """read_units('~/units.gpkg') said 'no file' where geopandas and pandas
    read the file in the home folder."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path.parent)
    crm_units.to_file(tmp_path / "units.gpkg")
    units = read_units("~/units.gpkg", columns={"GEOID": "unit_id"})
    assert units.index.tolist() == ["01001", "01003"]
    with pytest.raises(FileNotFoundError, match=r"units: no file at '.*/nope\.gpkg'"):
        read_units("~/nope.gpkg")
