"""study.toml: the shipped example, and every kind of mistake named clearly."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from terrakit.report.config import ConfigError, StudyConfig, load_config
from terrakit.report.pipeline import demo_config

SAMPLE_TOML = (
    Path(__file__).resolve().parents[2]
    / "data"
    / "samples"
    / "southeast"
    / "study.toml"
)


def _write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "units.gpkg").write_bytes(b"")  # existence is all that is checked
    p = tmp_path / "study.toml"
    p.write_text(text, encoding="utf-8")
    return p


MINIMAL = '[data]\nunits = "units.gpkg"\n'


def test_shipped_example_matches_the_demo():
    """The example file and `terrakit demo` run the same settings."""
    cfg = load_config(SAMPLE_TOML)
    demo = demo_config()
    for f in dataclasses.fields(StudyConfig):
        if f.name not in ("data", "source"):
            assert getattr(cfg, f.name) == getattr(demo, f.name), f.name
    assert cfg.data is not None
    assert cfg.data.units == SAMPLE_TOML.parent / "units.gpkg"
    assert cfg.data.alignment is not None and cfg.data.alignment.exists()
    assert cfg.data.columns["accounts"] == {
        "account_id": "account_id",
        "rep_id": "rep_id",
    }


def test_defaults_of_a_minimal_file(tmp_path):
    cfg = load_config(_write(tmp_path, MINIMAL))
    assert cfg.name == "study" and cfg.seed == 0
    assert cfg.enabled_steps() == (
        "design",
        "realign",
        "sizing",
        "potential",
        "forecast",
        "routing",
    )
    assert cfg.without("forecast", "routing").enabled_steps()[-1] == "potential"
    assert cfg.to_dict()["data"]["units"] == str(tmp_path / "units.gpkg")
    assert cfg.data.snap_m is None
    assert load_config(_write(tmp_path, MINIMAL + "snap_m = 500\n")).data.snap_m == 500


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        (
            MINIMAL + "[design]\nbalanse = { workload = 0.1 }\n",
            [
                "study.toml: [design]",
                "unknown key 'balanse'",
                "allowed keys are enabled, balance, contiguity, time_limit, solver",
            ],
        ),
        (
            MINIMAL + "[desing]\n",
            ["study.toml: top level", "unknown key 'desing'", "design, realign"],
        ),
        (
            MINIMAL + "[design]\ntime_limit = 'long'\n",
            ["[design] time_limit: must be a number, got 'long'"],
        ),
        (
            MINIMAL + "[design]\ntime_limit = 0\n",
            ["[design] time_limit: must be > 0, got 0"],
        ),
        (
            MINIMAL + "[design]\nbalance = { workload = 5 }\n",
            [
                "[design] balance.workload: must be in (0, 1), got 5",
                "write workload = 0.10 for a balance tolerance of ±10 % of the mean",
            ],
        ),
        (
            MINIMAL + "[design]\nsolver = 'gurobi'\n",
            ["[design] solver: must be one of 'auto', 'mip', 'heuristic'"],
        ),
        (
            MINIMAL + "[design]\ncontiguity = 'yes'\n",
            ["[design] contiguity: must be true or false", "(no quotes)"],
        ),
        (
            MINIMAL + "[sizing]\nmin_reps = 20\nmax_reps = 10\n",
            ["[sizing] max_reps: (10) is below min_reps (20)"],
        ),
        (
            MINIMAL + "[realign]\nmax_moved = 1.5\n",
            ["[realign] max_moved: must be in (0, 1], got 1.5"],
        ),
        (
            MINIMAL + "snap_m = 0\n",
            ["[data] snap_m: must be > 0, got 0"],
        ),
        (
            MINIMAL + "[columns.reps]\nID = 'rep_id'\n",
            ["[columns.reps]", "[data] has no reps file"],
        ),
        (
            MINIMAL + "[columns.accounts]\nID = 3\n",
            ["[columns.accounts]", "has no accounts file"],
        ),
        (
            MINIMAL + "[report]\nhtml_file = 'out/report.html'\n",
            ["[report] html_file: must be a plain file name"],
        ),
        ('[study]\nname = "x"\n', ["study.toml: [data]: the section is missing"]),
        ("[data]\naccounts = 'a.csv'\n", ["[data] units: is required"]),
        ("design = 3\n" + MINIMAL, ["top level design: must be a [design] table"]),
    ],
)
def test_mistakes_are_named(tmp_path, text, fragments):
    with pytest.raises(ConfigError) as info:
        load_config(_write(tmp_path, text))
    msg = str(info.value)
    for frag in fragments:
        assert frag in msg, (frag, msg)
    assert "Fix:" in msg


def test_missing_data_file_names_the_path(tmp_path):
    p = _write(tmp_path, MINIMAL + 'accounts = "crm/accounts.csv"\n')
    with pytest.raises(ConfigError) as info:
        load_config(p)
    msg = str(info.value)
    assert "[data] accounts: no file at" in msg
    assert str(tmp_path / "crm" / "accounts.csv") in msg
    assert "relative paths are read from the config file's folder" in msg


def test_invalid_toml(tmp_path):
    with pytest.raises(ConfigError, match=r"study.toml: not valid TOML \(.*line 2"):
        load_config(_write(tmp_path, '[data]\nunits = "units.gpkg\n'))


def test_missing_config_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no study configuration at"):
        load_config(tmp_path / "nope.toml")


def test_unknown_step_to_skip(tmp_path):
    cfg = load_config(_write(tmp_path, MINIMAL))
    with pytest.raises(ConfigError, match="unknown step 'plotting'; the steps are"):
        cfg.without("plotting")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            MINIMAL + "[realign]\nmax_move = 0.2\n",
            "study.toml: [realign]: unknown key 'max_move' (did you mean "
            "'max_moved'?); allowed keys are enabled, balance, max_moved, "
            "moved_measure, time_limit. Fix: write 'max_moved'",
        ),
        (
            MINIMAL + "[relign]\n",
            "study.toml: top level: unknown key 'relign' (did you mean 'realign'?)",
        ),
        (
            MINIMAL + "[report]\nstudy_file = 'study.sqlite'\n",
            "[report] study_file: must end in .gpkg, got 'study.sqlite'. "
            'Fix: e.g. study_file = "study.gpkg"',
        ),
        (
            MINIMAL + "[report]\nexcel_file = 'report.csv'\n",
            "[report] excel_file: must end in .xlsx, got 'report.csv'",
        ),
        (
            MINIMAL + "[report]\nhtml_file = 'report.pdf'\n",
            "[report] html_file: must end in .html or .htm, got 'report.pdf'",
        ),
        (
            MINIMAL + "[report]\ntolerance = 1.0\n",
            "[report] tolerance: must be in (0, 1), got 1.0",
        ),
        (
            MINIMAL + "crs = 'EPSG:99999'\n",
            "[data] crs: 'EPSG:99999' is not a coordinate reference system",
        ),
        (
            MINIMAL.replace("units.gpkg", "."),
            "[data] units: ",
        ),
    ],
)
def test_mistakes_found_before_the_run(tmp_path, text, message):
    """Settings that used to pass the file check and fail hours later (a
    report file name Study.save or StudyReport refuses, a CRS the loader
    cannot use, a folder as the units file), and typos with their match."""
    with pytest.raises(ConfigError) as info:
        load_config(_write(tmp_path, text))
    assert message in str(info.value)
    if text.startswith('[data]\nunits = "."'):
        assert "is a folder, not a file (given as '.')" in str(info.value)


def _numeric_settings() -> list[tuple[str, str]]:
    """Every numeric setting of the file, read from the section dataclasses."""
    from terrakit.report import config as c

    sections = {
        "design": c.DesignConfig,
        "realign": c.RealignConfig,
        "sizing": c.SizingConfig,
        "potential": c.PotentialConfig,
        "forecast": c.ForecastConfig,
        "routing": c.RoutingConfig,
        "report": c.ReportConfig,
    }
    out = [("study", "seed"), ("data", "snap_m")]
    for name, cls in sections.items():
        for f in dataclasses.fields(cls):
            default = getattr(cls(), f.name)
            if isinstance(default, (int, float)) and not isinstance(default, bool):
                out.append((name, f.name))
    return out


@pytest.mark.parametrize(("section", "key"), _numeric_settings())
@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_nan_and_inf_are_refused_for_every_number(tmp_path, section, key, value):
    """TOML has nan and inf; a NaN passed every range check (comparisons with
    NaN are false) and the run failed at the very end, naming no key.  No
    setting means anything by infinity (time limits are finite seconds)."""
    if section == "data":
        text = MINIMAL + f"{key} = {value}\n"
    else:
        text = MINIMAL + f"[{section}]\n{key} = {value}\n"
    with pytest.raises(ConfigError) as info:
        load_config(_write(tmp_path, text))
    msg = str(info.value)
    got = value.lstrip("+")
    assert f"study.toml: [{section}] {key}: must be a finite number, got {got}" in msg
    assert "Fix: write a plain number" in msg


@pytest.mark.parametrize("value", ["nan", "inf"])
def test_nan_and_inf_balance_tolerances_are_refused(tmp_path, value):
    text = MINIMAL + f"[realign]\nbalance = {{ workload = {value} }}\n"
    with pytest.raises(ConfigError) as info:
        load_config(_write(tmp_path, text))
    assert (
        f"study.toml: [realign] balance.workload: must be a finite number, got "
        f"{value}" in str(info.value)
    )


def test_nan_in_the_shipped_example_is_refused_by_from_dict():
    """The QA reproduction: nan/inf put into the parsed sample file."""
    import tomllib

    raw = tomllib.loads(SAMPLE_TOML.read_text(encoding="utf-8"))
    for section, key, value in [
        ("report", "tolerance", float("nan")),
        ("sizing", "hours_per_rep", float("nan")),
        ("design", "time_limit", float("inf")),
        ("sizing", "cost_per_rep", float("inf")),
    ]:
        bad = {k: dict(v) if isinstance(v, dict) else v for k, v in raw.items()}
        bad[section][key] = value
        with pytest.raises(ConfigError) as info:
            StudyConfig.from_dict(bad, SAMPLE_TOML.parent, source="study.toml")
        assert (
            f"study.toml: [{section}] {key}: must be a finite number, got {value!r}"
            in str(info.value)
        )


@pytest.mark.parametrize(
    ("table", "mapping", "message"),
    [
        (
            "accounts",
            '"Annual Revenue" = "anual_sales"',
            "[columns.accounts] 'Annual Revenue': maps to 'anual_sales', which is "
            "no column terrakit knows for the accounts table (did you mean "
            "'annual_sales'?)",
        ),
        (
            "units",
            'Pop_2024 = "populaton"',
            "(did you mean 'population'?)",
        ),
        (
            "history",
            'Amount = "Sales"',
            "[columns.history] 'Amount': maps to 'Sales', which is no column "
            "terrakit knows for the history table (did you mean 'sales'?)",
        ),
    ],
)
def test_misspelt_mapping_target_is_refused(tmp_path, table, mapping, message):
    """The right side of a mapping is terrakit's name: a typo there used to
    keep the column as an extra one, and its data vanished from the report."""
    (tmp_path / f"{table}.csv").write_text("x\n1\n")
    text = MINIMAL
    if table != "units":
        text += f'{table} = "{table}.csv"\n'
    with pytest.raises(ConfigError) as info:
        load_config(_write(tmp_path, text + f"[columns.{table}]\n{mapping}\n"))
    assert message in str(info.value) and "Fix: write" in str(info.value)


def test_mapping_to_an_extra_column_of_ones_own_is_kept(tmp_path):
    (tmp_path / "accounts.csv").write_text("x\n1\n")
    text = MINIMAL + 'accounts = "accounts.csv"\n[columns.accounts]\nTier = "tier"\n'
    cfg = load_config(_write(tmp_path, text))
    assert cfg.data is not None
    assert cfg.data.columns["accounts"] == {"Tier": "tier"}
    # a name close to a terrakit one is no typo when another column supplies
    # that one (a second segmentation beside the segment)
    text = MINIMAL + (
        'accounts = "accounts.csv"\n[columns.accounts]\n'
        'Segment = "segment"\n"Old segment" = "segment2"\n'
    )
    cfg = load_config(_write(tmp_path, text))
    assert cfg.data is not None
    assert cfg.data.columns["accounts"]["Old segment"] == "segment2"


def test_sheet_keys_of_the_data_section(tmp_path):
    (tmp_path / "crm.xlsx").write_bytes(b"")
    (tmp_path / "reps.csv").write_text("x\n1\n")
    text = MINIMAL + 'accounts = "crm.xlsx"\naccounts_sheet = "Customer List"\n'
    cfg = load_config(_write(tmp_path, text))
    assert cfg.data is not None and cfg.data.accounts_sheet == "Customer List"
    assert cfg.data.units_sheet is None
    with pytest.raises(ConfigError) as info:
        load_config(
            _write(tmp_path, MINIMAL + 'reps = "reps.csv"\nreps_sheet = "Reps"\n')
        )
    assert "[data] reps_sheet: names a sheet, but the reps file is 'reps.csv', " in (
        str(info.value)
    )


def test_potential_columns_keys(tmp_path):
    text = (
        MINIMAL + '[potential]\nunit_covariates = ["population"]\nunit_sales = "rev"\n'
    )
    cfg = load_config(_write(tmp_path, text))
    assert cfg.potential.unit_covariates == ("population",)
    assert cfg.potential.unit_sales == "rev"
    none = load_config(
        _write(tmp_path, MINIMAL + "[potential]\nunit_covariates = []\n")
    )
    assert none.potential.unit_covariates == ()
    with pytest.raises(
        ConfigError, match=r"\[potential\] unit_covariates: must be a list"
    ):
        load_config(_write(tmp_path, MINIMAL + '[potential]\nunit_covariates = "x"\n'))


def test_potential_defaults_are_the_models():
    from terrakit.potential import DEFAULT_MODEL_CONFIG
    from terrakit.report.config import PotentialConfig

    d = PotentialConfig()
    assert list(d.unit_covariates) == DEFAULT_MODEL_CONFIG["unit_covariates"]
    assert d.unit_sales == DEFAULT_MODEL_CONFIG["unit_sales"]
    assert list(d.account_covariates) == DEFAULT_MODEL_CONFIG["account_covariates"]
    assert d.segment_column == DEFAULT_MODEL_CONFIG["segment_column"]
    assert d.industry_column == DEFAULT_MODEL_CONFIG["industry_column"]


def test_potential_account_columns_keys(tmp_path):
    """level = "account" reads the accounts' 'employees' (and 'segment',
    'industry'), which the file could neither name nor drop:
    account_covariates = [] was refused as an unknown key."""
    text = (
        MINIMAL + '[potential]\nlevel = "account"\naccount_covariates = []\n'
        'segment_column = false\nindustry_column = "Branche"\n'
    )
    p = load_config(_write(tmp_path, text)).potential
    assert p.account_covariates == ()
    assert p.segment_column is None and p.industry_column == "Branche"
    both = load_config(
        _write(tmp_path, MINIMAL + '[potential]\naccount_covariates = ["staff"]\n')
    ).potential
    assert both.account_covariates == ("staff",)
    assert both.segment_column == "segment" and both.industry_column == "industry"
    for line, said in [
        (
            'account_covariates = "staff"',
            "study.toml: [potential] account_covariates: must be a list of account "
            "column names (may be empty), got 'staff'. Fix: e.g. account_covariates "
            '= ["employees"]',
        ),
        (
            "segment_column = true",
            "study.toml: [potential] segment_column: must be a column name of the "
            "accounts, or false for none, got True. Fix: e.g. segment_column = "
            '"segment", or segment_column = false (no quotes)',
        ),
        (
            'industry_column = ""',
            "study.toml: [potential] industry_column: must be a column name of the "
            "accounts, or false for none, got ''. Fix: e.g. industry_column = "
            '"industry", or industry_column = false (no quotes)',
        ),
    ]:
        with pytest.raises(ConfigError) as info:
            load_config(_write(tmp_path, MINIMAL + f"[potential]\n{line}\n"))
        assert str(info.value) == said


def test_sheet_keys_take_a_name_or_a_position(tmp_path):
    """The loaders' fix for a wrong sheet offers "its position, 0 = first",
    which the file refused ("must be text")."""
    (tmp_path / "reps.xlsx").write_bytes(b"")
    base = MINIMAL + 'reps = "reps.xlsx"\n'
    for value, read in [("0", 0), ("-1", -1), ('"Reps"', "Reps")]:
        cfg = load_config(_write(tmp_path, base + f"reps_sheet = {value}\n"))
        assert cfg.data is not None and cfg.data.reps_sheet == read
    for value in ("1.5", "true"):
        with pytest.raises(ConfigError) as info:
            load_config(_write(tmp_path, base + f"reps_sheet = {value}\n"))
        shown = {"1.5": "1.5", "true": "True"}[value]
        assert str(info.value) == (
            "study.toml: [data] reps_sheet: must be a sheet's name (text) or "
            f"position (a whole number, 0 = first), got {shown}. Fix: write "
            'reps_sheet = "Sheet name" or reps_sheet = 0 (the first sheet)'
        )


def test_a_seed_beyond_32_bits_is_refused(tmp_path):
    """Was accepted, and the routing died with a bare TypeError from pyvrp."""
    from terrakit._runargs import check_seed
    from terrakit.exceptions import SpecificationError

    with pytest.raises(ConfigError) as info:
        load_config(_write(tmp_path, "[study]\nseed = 4294967296\n" + MINIMAL))
    msg = str(info.value)
    assert "[study] seed: must be in [0, 4294967295], got 4294967296" in msg
    assert "Fix: use a whole number from 0 to 4294967295 (2**32 - 1)" in msg
    cfg = load_config(_write(tmp_path, "[study]\nseed = 4294967295\n" + MINIMAL))
    assert cfg.seed == 2**32 - 1
    # the API's check has the same bound
    assert check_seed(2**32 - 1) == 2**32 - 1
    with pytest.raises(SpecificationError, match=r"from 0 to 4294967295 \(2\*\*32"):
        check_seed(2**32)


def test_a_byte_order_mark_is_read(tmp_path):
    """Notepad's and Excel's 'UTF-8' start with a BOM: was 'not valid TOML'."""
    p = _write(tmp_path, "")
    p.write_bytes(b"\xef\xbb\xbf" + ("# ±10 %\n" + MINIMAL).encode("utf-8"))
    assert load_config(p).data.units == (tmp_path / "units.gpkg").resolve()


@pytest.mark.parametrize(
    ("encoding", "where"),
    [("cp1252", "byte 30 (line 3) is b'\\xb1'"), ("utf-16", "starts like UTF-16")],
)
def test_a_file_not_in_utf8_is_a_config_error(tmp_path, encoding, where):
    """Was a bare UnicodeDecodeError naming neither the file nor the fix."""
    p = _write(tmp_path, "")
    p.write_bytes((MINIMAL + "# ±10 %\n").encode(encoding))
    with pytest.raises(ConfigError) as info:
        load_config(p)
    msg = str(info.value)
    assert msg.startswith("study.toml: not UTF-8 text: ")
    assert where in msg and "Fix: save it as UTF-8" in msg


def test_account_level_potential_takes_advi_not_laplace(tmp_path):
    """The account model refuses Laplace (its pooling scales come out several
    times too wide); a study file with level = "account" got the unit level's
    default "laplace" and failed at the potential step, after the design."""
    cfg = load_config(_write(tmp_path, MINIMAL + '[potential]\nlevel = "account"\n'))
    assert cfg.potential.method == "advi"
    unit = load_config(_write(tmp_path, MINIMAL + "[potential]\nenabled = true\n"))
    assert unit.potential.method == "laplace"
    with pytest.raises(ConfigError) as info:
        load_config(
            _write(
                tmp_path,
                MINIMAL + '[potential]\nlevel = "account"\nmethod = "laplace"\n',
            )
        )
    assert str(info.value).startswith(
        'study.toml: [potential] method: "laplace" is not available with '
        'level = "account"'
    )


def test_routing_takes_the_working_day_and_the_lunch_break(tmp_path):
    """The routing error's fix says "widen day_hours", which [routing] refused
    as an unknown key."""
    cfg = load_config(
        _write(tmp_path, MINIMAL + "[routing]\nday_hours = [7, 19.5]\nlunch = false\n")
    )
    assert (cfg.routing.day_hours, cfg.routing.lunch) == ((7, 19.5), None)
    cfg = load_config(
        _write(tmp_path, MINIMAL + "[routing]\nlunch = [11, 14]\nlunch_minutes = 45\n")
    )
    assert cfg.routing.lunch == (11, 14) and cfg.routing.lunch_minutes == 45
    assert cfg.routing.day_hours == (8, 17)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "day_hours = [17, 8]",
            "[routing] day_hours: must be [start, end] with 0 <= start < end <= "
            "24, got [17, 8]. Fix: write the hours in order, e.g. day_hours = "
            "[8, 17]",
        ),
        (
            "day_hours = 9",
            "[routing] day_hours: must be [start, end] in hours of the day, got 9. "
            "Fix: write two numbers, e.g. day_hours = [8, 17]",
        ),
        (
            "day_hours = [9, 17]\nlunch = [8, 9]",
            "[routing] lunch: the lunch break [8, 9] of 60 minutes must lie within "
            "day_hours [9, 17] and last at most its window. Fix: move the window "
            "inside day_hours, shorten lunch_minutes, or write lunch = false for "
            "no break",
        ),
        (
            "lunch = false\nlunch_minutes = 30",
            "[routing] lunch_minutes: is 30 but lunch = false (no lunch break). "
            "Fix: give the window the break is taken in, e.g. lunch = [12, 13], "
            "or remove lunch_minutes",
        ),
    ],
)
def test_routing_hours_mistakes_are_named(tmp_path, text, message):
    with pytest.raises(ConfigError) as info:
        load_config(_write(tmp_path, MINIMAL + "[routing]\n" + text + "\n"))
    assert str(info.value).endswith(message)


def test_a_bool_territory_is_refused(tmp_path):
    """territory = true was read as the territory id "True"."""
    with pytest.raises(ConfigError) as info:
        load_config(_write(tmp_path, MINIMAL + "[routing]\nterritory = true\n"))
    assert "[routing] territory: must be a territory id, got True" in str(info.value)
    cfg = load_config(_write(tmp_path, MINIMAL + "[routing]\nterritory = 5\n"))
    assert cfg.routing.territory == "5"


def test_growth_quotas_over_more_than_a_year_are_refused_at_load(tmp_path):
    """horizon = 24 with quota = "growth" was accepted; quota() refused it only
    after the design, the realignment, the sizing and the forecast's sampling
    had run, in Python terms (predict(horizon=12))."""
    text = MINIMAL + '[forecast]\nhorizon = 24\nquota = "growth"\n'
    with pytest.raises(ConfigError) as info:
        load_config(_write(tmp_path, text))
    msg = str(info.value)
    assert msg.startswith(
        'study.toml: [forecast] horizon: is 24 months, but quota = "growth" '
        "compares each forecast month with the same month a year earlier"
    )
    assert msg.endswith(
        "Fix: set [forecast] horizon = 12 (or less) for growth quotas, or quota = "
        '"share_of_potential" (or "none")'
    )
    # a year of growth quotas, and a longer horizon of other quotas, are fine
    for ok in ('horizon = 12\nquota = "growth"\n', "horizon = 24\n"):
        cfg = load_config(_write(tmp_path, MINIMAL + "[forecast]\n" + ok))
        assert cfg.forecast.horizon in (12, 24)


def test_forecast_tune_0_is_refused_at_load_with_nutpie(tmp_path):
    """tune = 0 with the default nutpie sampler passed the config and was
    refused only when the forecast step started, after the long steps."""
    text = MINIMAL + "[forecast]\ntune = 0\n"
    with pytest.raises(ConfigError, match=r"\[forecast\] tune"):
        load_config(_write(tmp_path, text))
    cfg = load_config(_write(tmp_path, text + 'method = "pymc"\n'))
    assert cfg.forecast.tune == 0


def test_units_layer_on_a_file_without_layers_is_refused(tmp_path):
    """units_layer on a CSV was accepted and then ignored by the loader: the
    layer asked for was never read, and nothing said so."""
    (tmp_path / "units.csv").write_text("unit_id,lon,lat\na,-84,33\n")
    text = '[data]\nunits = "units.csv"\nunits_layer = "zips_2024"\n'
    p = tmp_path / "layer.toml"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(p)
    msg = str(info.value)
    assert msg.startswith(
        "layer.toml: [data] units_layer: names a layer, but the units file "
        "'units.csv' has no layers (layers are read from .fgb, .geojson, .gpkg, "
    )
    assert "Fix: remove units_layer, or give units = a GeoPackage (.gpkg)" in msg
    cfg = load_config(_write(tmp_path, MINIMAL + 'units_layer = "zips_2024"\n'))
    assert cfg.data is not None and cfg.data.units_layer == "zips_2024"
