"""One suite, every engine: the same questions on the same lake give the same rows.

Parametrised over DuckDB and Spark (as ibis runs its backends), Spark three ways: local,
on a standalone master and worker, and through Spark Connect (tests/store/conftest.py
starts both from the pyspark package). Answers are checked against an independent
computation in pandas or pyarrow over the rows that went in, so two engines that agree
with it agree with each other. Each Spark serves the tests of this module in turn
(starting one takes 10-20 s); Spark is skipped with a reason where pyspark or a Java
runtime is missing, except under CI, where that fails. A known gap of one engine is
listed in KNOWN_GAPS and xfailed (strictly) on that engine only.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from urbanpulse.errors import InvalidQueryError, MissingExtraError
from urbanpulse.forecast.panel import compute_panel
from urbanpulse.forecast.profiles import compute_profile_table
from urbanpulse.store import Lake, append_observations, compute_rollups, upsert_indicators
from urbanpulse.store.engines import build_engine
from urbanpulse.store.interface import (
    INDICATORS_SCHEMA,
    NEWEST_VALUES_SCHEMA,
    OBSERVATIONS_SCHEMA,
    PERIODS_SCHEMA,
    PROFILES_SCHEMA,
    ROLLUPS_SCHEMA,
    Engine,
    build_day_table,
    compute_profiles,
)
from urbanpulse.twin.indicators import build_indicators
from urbanpulse.twin.observations import build_observations

TZ, COUNTRY = "Asia/Shanghai", "CN"
SITES = [
    "bj-m1-s06",
    "bj-m1-s13",
    "tj-m1-s08",
    "bd-b1-s06",
    "bj-road-05",
    "zjk-road-01",
    "bj-air-03",
    "lf-air-02",
]
# Known gaps, per engine: {(engine, test name): reason}; xfailed on that engine only.
KNOWN_GAPS: dict[tuple[str, str], str] = {}
AIR_MAPPING = Path(__file__).resolve().parents[2] / "mappings" / "beijing-air-quality.toml"


# Spark is asked in the three ways a deployment runs it: in this process (local), on a
# standalone cluster (master and worker), and through a Spark Connect server.
ENGINES = ["duckdb", "spark", "spark-standalone", "spark-connect"]


@pytest.fixture(scope="module", params=ENGINES)
def engine_in_use(request: pytest.FixtureRequest) -> Iterator[tuple[str, Engine]]:
    """(name, engine) for each engine in turn; module-scoped so that tests run grouped by
    engine, since one process holds one classic Spark session at a time."""
    from urbanpulse.errors import ConfigurationError
    from urbanpulse.store.spark_engine import SparkEngine

    name: str = request.param
    if name == "duckdb":
        yield name, build_engine("duckdb")
        return
    if name == "spark-standalone":
        engine = SparkEngine(master=request.getfixturevalue("spark_master_url"))
    elif name == "spark-connect":
        engine = SparkEngine(remote=request.getfixturevalue("spark_connect_url"))
    else:
        engine = SparkEngine(master="local[2]")
    try:
        engine.session  # noqa: B018 - start it now, not inside the first test
    except (MissingExtraError, ConfigurationError) as exc:
        pytest.skip(f"Spark engine unavailable here: {exc}")
    yield name, engine
    engine.session.stop()
    if name == "spark-connect":
        # pyspark marks the whole process as Spark Connect's once a remote session starts;
        # a classic session of a later test file on this process needs the mark gone.
        os.environ.pop("SPARK_CONNECT_MODE_ENABLED", None)


@pytest.fixture
def engine(request: pytest.FixtureRequest, engine_in_use: tuple[str, Engine]) -> Engine:
    """Each engine in turn."""
    name, found = engine_in_use
    gap = KNOWN_GAPS.get((name, request.node.originalname))
    if gap:
        request.node.add_marker(pytest.mark.xfail(reason=gap, strict=True))
    return found


@pytest.fixture(scope="module")
def rows() -> pa.Table:
    """A week of the demo's observations (2026-10-25..31, Golden Week just before) for a
    few sites of every kind, and some readings lost to dropouts."""
    table = build_observations(weeks=1)
    return table.filter(pc.is_in(table["site_id"], pa.array(SITES)))


@pytest.fixture(scope="module")
def lake(rows: pa.Table, tmp_path_factory: pytest.TempPathFactory) -> Lake:
    """The rows in a lake (two commits per metric, so partitions hold several files),
    with the demo's yearly indicators and the rollups of every partition."""
    lake = Lake(tmp_path_factory.mktemp("engines") / "lake")
    half = rows.num_rows // 2
    append_observations(lake, rows.slice(0, half))
    append_observations(lake, rows.slice(half))
    upsert_indicators(lake, pa.Table.from_pandas(build_indicators(2026), preserve_index=False))
    compute_rollups(lake, timezone=TZ)
    return lake


def _frame(rows: pa.Table, metric: str, sites: list[str] | None = None) -> pd.DataFrame:
    frame = rows.filter(pc.equal(rows["metric"], metric)).to_pandas()
    if sites is not None:
        frame = frame[frame["site_id"].isin(sites)]
    return frame.sort_values(["site_id", "ts"]).reset_index(drop=True)


def _assert_same(found: pd.DataFrame, expected: pd.DataFrame) -> None:
    """Same rows in the same order; floats equal to 1e-9 (sums may differ in the last
    bits with the order of addition)."""
    assert list(found.columns) == list(expected.columns)
    assert len(found) == len(expected)
    for column in found.columns:
        if pd.api.types.is_float_dtype(found[column]):
            np.testing.assert_allclose(found[column], expected[column], rtol=1e-9, atol=1e-9)
        else:
            assert found[column].tolist() == expected[column].tolist(), column


def test_site_week_is_exactly_the_rows_stored(engine: Engine, lake: Lake, rows: pa.Table) -> None:
    start = datetime(2026, 10, 27, tzinfo=UTC)
    end = start + timedelta(days=3)
    found = engine.read_observations(
        lake, "boardings", site_ids=["bj-m1-s06"], start=start, end=end
    )
    assert found.schema == OBSERVATIONS_SCHEMA
    expected = _frame(rows, "boardings", ["bj-m1-s06"])
    expected = expected[(expected["ts"] >= start) & (expected["ts"] < end)].reset_index(drop=True)
    assert 0 < len(expected) <= 3 * 288  # every 5 minutes, less readings lost
    _assert_same(found.to_pandas(), expected[OBSERVATIONS_SCHEMA.names])


def test_metric_of_every_site_over_a_window(engine: Engine, lake: Lake, rows: pa.Table) -> None:
    found = engine.read_observations(lake, "pm25")
    expected = _frame(rows, "pm25")
    assert set(expected["site_id"]) == {"bj-air-03", "lf-air-02"}
    _assert_same(found.to_pandas(), expected[OBSERVATIONS_SCHEMA.names])


def test_hourly_profiles_match_pandas_over_raw_rows(
    engine: Engine, lake: Lake, rows: pa.Table
) -> None:
    found = compute_profiles(
        lake, "boardings", period_minutes=60, tz=TZ, country=COUNTRY, engine=engine
    )
    assert found.schema == PROFILES_SCHEMA
    expected = []
    for site, part in _frame(rows, "boardings").groupby("site_id"):
        table = compute_profile_table(
            part["ts"], part["value"], period_minutes=60, tz=TZ, country=COUNTRY
        )
        expected.append(table.assign(site_id=site))
    reference = pd.concat(expected, ignore_index=True)[PROFILES_SCHEMA.names]
    reference["period_start"] = reference["period_start"].astype("int32")
    assert {"weekday", "weekend"} <= set(reference["day_type"])
    _assert_same(found.to_pandas(), reference)


def test_profile_of_one_site_in_a_window(engine: Engine, lake: Lake, rows: pa.Table) -> None:
    start = datetime(2026, 10, 26, tzinfo=UTC)
    end = datetime(2026, 10, 30, tzinfo=UTC)
    days = build_day_table(lake, "speed", country=COUNTRY, start=start, end=end)
    found = engine.compute_profiles(
        lake,
        "speed",
        days=days,
        period_minutes=15,
        tz=TZ,
        site_ids=["bj-road-05"],
        start=start,
        end=end,
    ).to_pandas()
    raw = _frame(rows, "speed", ["bj-road-05"])
    raw = raw[(raw["ts"] >= start) & (raw["ts"] < end)]
    reference = compute_profile_table(
        raw["ts"], raw["value"], period_minutes=15, tz=TZ, country=COUNTRY
    )
    assert found["site_id"].unique().tolist() == ["bj-road-05"]
    assert found["n"].sum() == len(raw)
    np.testing.assert_allclose(found["p90"], reference["p90"], rtol=1e-9)


def test_fifteen_minute_panel_matches_pandas_resampling(
    engine: Engine, lake: Lake, rows: pa.Table
) -> None:
    found = engine.compute_periods(lake, "flow", period_minutes=15, tz=TZ)
    assert found.schema == PERIODS_SCHEMA
    wide = found.to_pandas().pivot(index="period_start", columns="site_id", values="mean")
    expected = compute_panel(_frame(rows, "flow"), period_minutes=15, tz=TZ).dropna(how="all")
    wide.index = wide.index.astype(expected.index.dtype)
    np.testing.assert_allclose(wide.to_numpy(), expected.to_numpy(), rtol=1e-9)
    assert (wide.index == expected.index).all()


def test_periods_start_on_the_local_clock(engine: Engine, lake: Lake) -> None:
    # Kolkata is UTC+05:30: an hourly period starts at local HH:00, i.e. UTC HH:30.
    found = engine.compute_periods(lake, "pm25", period_minutes=60, tz="Asia/Kolkata")
    minutes = {ts.minute for ts in found["period_start"].to_pylist()}
    assert minutes == {30}
    days = engine.compute_periods(lake, "pm25", period_minutes=1440, tz=TZ)
    assert {(ts.hour, ts.minute) for ts in days["period_start"].to_pylist()} == {(16, 0)}


def test_daily_aggregates_agree_with_the_stored_daily_rollups(engine: Engine, lake: Lake) -> None:
    computed = engine.compute_periods(lake, "boardings", period_minutes=1440, tz=TZ).to_pandas()
    stored = engine.read_rollups(lake, "boardings", grain="daily").to_pandas()
    assert len(stored) == len(computed) > 0
    assert stored["bucket_start"].tolist() == computed["period_start"].tolist()
    assert stored["count"].tolist() == computed["n"].tolist()
    np.testing.assert_allclose(stored["sum"], computed["sum"], rtol=1e-9)


def test_rollups_are_the_stored_ones_added_up(engine: Engine, lake: Lake) -> None:
    from urbanpulse.store.retention import read_rollups

    start = datetime(2026, 10, 28, tzinfo=UTC)
    end = datetime(2026, 10, 29, tzinfo=UTC)
    found = engine.read_rollups(
        lake, "load", grain="hourly", site_ids=["bj-m1-s13"], start=start, end=end
    )
    assert found.schema == ROLLUPS_SCHEMA
    expected = read_rollups(
        lake, "load", grain="hourly", site_ids=["bj-m1-s13"], start=start, end=end
    )
    assert found.num_rows == 24
    _assert_same(found.to_pandas(), expected.select(ROLLUPS_SCHEMA.names).to_pandas())


def test_indicator_panel(engine: Engine, lake: Lake) -> None:
    source = build_indicators(2026)
    wanted = sorted(source["indicator"].unique())[:3]
    found = engine.read_indicators(lake, indicators=wanted, region_codes=["110000", "120000"])
    assert found.schema == INDICATORS_SCHEMA
    expected = source[
        source["indicator"].isin(wanted) & source["region_code"].isin(["110000", "120000"])
    ]
    assert found.num_rows == len(expected) > 0
    assert found["year"].to_pylist() == sorted(found["year"].to_pylist(), key=lambda _: 0)
    assert found.to_pandas()[["indicator", "region_code", "year"]].equals(
        found.to_pandas()[["indicator", "region_code", "year"]]
        .sort_values(["indicator", "region_code", "year"])
        .reset_index(drop=True)
    )


def test_unit_of_a_site_metric(engine: Engine, lake: Lake) -> None:
    assert engine.get_metric_unit(lake, "bj-air-03", "pm25") == (True, "ug/m3")
    assert engine.get_metric_unit(lake, "bj-m1-s06", "pm25") == (False, None)
    assert engine.get_metric_unit(lake, "bj-air-03", "no-such-metric") == (False, None)


def test_a_metric_with_no_files_answers_empty_typed_tables(engine: Engine, lake: Lake) -> None:
    assert engine.read_observations(lake, "rainfall").schema == OBSERVATIONS_SCHEMA
    assert engine.read_observations(lake, "rainfall").num_rows == 0
    assert engine.compute_periods(lake, "rainfall", period_minutes=60, tz=TZ).num_rows == 0
    assert engine.read_rollups(lake, "rainfall", grain="daily").schema == ROLLUPS_SCHEMA


def test_only_published_files_are_read(engine: Engine, lake: Lake, tmp_path: Path) -> None:
    before = engine.read_observations(lake, "no2").num_rows
    stray = Path(lake.get_paths("observations", metric="no2")[0]).with_name("stray.parquet")
    pq.write_table(pq.read_table(lake.get_paths("observations", metric="no2")[0]), stray)
    try:
        assert engine.read_observations(lake, "no2").num_rows == before
    finally:
        stray.unlink()


def test_bad_questions_get_one_clear_error(engine: Engine, lake: Lake) -> None:
    with pytest.raises(InvalidQueryError, match="timezone-aware"):
        engine.read_observations(lake, "pm25", start=datetime(2026, 10, 27))
    with pytest.raises(InvalidQueryError, match="divide a day"):
        engine.compute_periods(lake, "pm25", period_minutes=7, tz=TZ)
    with pytest.raises(InvalidQueryError, match="hourly or daily"):
        engine.read_rollups(lake, "pm25", grain="weekly")


@pytest.mark.shared_data
def test_real_air_quality_profiles_on_every_engine(
    engine: Engine, shared_data: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Dongsi's four years of hourly PM2.5 (750 readings missing), 2013-2017 holidays."""
    source = shared_data / "beijing-air-quality" / "PRSA_Data_Dongsi_20130301-20170228.csv"
    if not source.is_file():
        pytest.skip(f"Beijing air-quality data not found at {source} (set URBANPULSE_SHARED_DATA)")
    lake = _air_lake(source, tmp_path_factory)
    found = compute_profiles(
        lake, "pm25", period_minutes=60, tz=TZ, country=COUNTRY, engine=engine
    ).to_pandas()
    raw = build_engine("duckdb").read_observations(lake, "pm25").to_pandas()
    reference = compute_profile_table(
        raw["ts"], raw["value"], period_minutes=60, tz=TZ, country=COUNTRY
    )
    assert len(found) == 3 * 24
    assert found["n"].sum() == raw["value"].notna().sum() > 30_000
    np.testing.assert_allclose(found["p50"], reference["p50"], rtol=1e-9)
    np.testing.assert_allclose(found["p90"], reference["p90"], rtol=1e-9)
    np.testing.assert_allclose(found["mean"], reference["mean"], rtol=1e-9)


_AIR_LAKES: dict[str, Lake] = {}


def _air_lake(source: Path, factory: pytest.TempPathFactory) -> Lake:
    if "lake" not in _AIR_LAKES:
        from urbanpulse.ingest import ingest_files, read_mapping

        lake = Lake(factory.mktemp("air") / "lake")
        ingest_files(lake, [source], read_mapping(AIR_MAPPING))
        _AIR_LAKES["lake"] = lake
    return _AIR_LAKES["lake"]


def test_the_newest_values_and_time_match_pandas(
    engine: Engine, lake: Lake, rows: pa.Table
) -> None:
    """What stands "now": each site's newest value of each metric within the lookback
    before the newest reading of them all, NaN left out."""
    metrics, lookback = ["boardings", "pm25"], timedelta(hours=6)
    frame = rows.filter(pc.is_in(rows["metric"], pa.array(metrics))).to_pandas()
    assert engine.read_last_observation_time(lake, metrics) == frame["ts"].max().to_pydatetime()
    assert engine.read_last_observation_time(lake, ["no_such_metric"]) is None
    found = engine.read_newest_values(lake, metrics, lookback=lookback).to_pandas()
    known = frame[frame["value"].notna()]
    recent = known[known["ts"] >= known["ts"].max() - lookback]
    newest = recent.sort_values("ts").groupby(["site_id", "metric"], as_index=False).last()
    expected = newest[["site_id", "metric", "value", "ts"]]
    assert len(found) >= 4
    _assert_same(found, expected.sort_values(["site_id", "metric"]).reset_index(drop=True))
    some = engine.read_newest_values(lake, metrics, lookback=lookback, site_ids=[SITES[0]])
    assert set(some["site_id"].to_pylist()) == {SITES[0]}
    nothing = engine.read_newest_values(lake, ["no_such_metric"], lookback=lookback)
    assert nothing.num_rows == 0 and nothing.schema == NEWEST_VALUES_SCHEMA


SHENZHEN_FILE = "szt_records_14_14.csv"


@pytest.fixture(scope="module")
def tap_lake(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Lake:
    """Real Shenzhen taps (37,000, 2018-09-01 07:57-11:30) pseudonymised into a lake."""
    from urbanpulse.privacy import KeyRing, ingest_taps
    from urbanpulse.privacy.taps import SHENZHEN_TAPS

    source = shared_data / "shenzhen-smartcard" / SHENZHEN_FILE
    if not source.is_file():
        pytest.skip(f"Shenzhen taps not found at {source} (set URBANPULSE_SHARED_DATA)")
    root = tmp_path_factory.mktemp("taps")
    lake = Lake(root / "lake")
    ingest_taps(
        lake, [source], SHENZHEN_TAPS, KeyRing(root / "keys"), k=10, period_minutes=15,
        timezone=TZ,
    )  # fmt: skip
    return lake


def _metro_taps(lake: Lake, period_minutes: int) -> pd.DataFrame:
    """The stored metro taps read with pyarrow, each with its local period's start."""
    taps = pq.read_table(lake.get_paths("taps"), partitioning=None).to_pandas()
    taps = taps[(taps["mode"] == "metro") & taps["site_id"].notna()].copy()
    local = taps["ts"].dt.tz_convert(TZ).dt.floor(f"{period_minutes}min")
    taps["period_start"] = local.dt.tz_convert("UTC")
    return taps


@pytest.mark.shared_data
def test_station_taps_on_every_engine_match_pandas(engine: Engine, tap_lake: Lake) -> None:
    found = engine.count_station_taps(tap_lake, period_minutes=15, tz=TZ).to_pandas()
    taps = _metro_taps(tap_lake, 15)
    expected = (
        taps.groupby(["period_start", "site_id", "direction"], as_index=False)
        .agg(station=("station", "min"), taps=("ts", "size"))
        .assign(period_minutes=15)
    )[["site_id", "station", "period_start", "period_minutes", "direction", "taps"]]
    assert len(found) > 500 and found["taps"].sum() == len(taps) > 15_000
    _assert_same(found, expected.astype({"period_minutes": "int32"}))


@pytest.mark.shared_data
def test_bounded_taps_on_every_engine_match_pandas(engine: Engine, tap_lake: Lake) -> None:
    """Each card's first two taps (ties in time: entry before exit, then by station),
    on the full grid of stations, periods and directions, zeros included."""
    found = engine.count_bounded_taps(
        tap_lake, key_period="2018-09", max_taps=2, period_minutes=15, tz=TZ
    ).to_pandas()
    taps = _metro_taps(tap_lake, 15).sort_values(["pseudonym", "ts", "direction", "site_id"])
    kept = taps.groupby("pseudonym").head(2)
    counted = kept.groupby(["period_start", "site_id", "direction"]).size()
    periods = pd.date_range(taps["period_start"].min(), taps["period_start"].max(), freq="15min")
    grid = pd.MultiIndex.from_product(
        [periods, sorted(taps["site_id"].unique()), ["entry", "exit"]],
        names=["period_start", "site_id", "direction"],
    )
    expected = counted.reindex(grid, fill_value=0).rename("taps").reset_index()
    expected = expected.assign(period_minutes=np.int32(15))[
        ["site_id", "period_start", "period_minutes", "direction", "taps"]
    ]
    assert (found["taps"] == 0).any() and found["taps"].sum() == len(kept)
    _assert_same(found, expected)


def test_taps_questions_on_a_lake_without_taps(engine: Engine, lake: Lake) -> None:
    assert engine.count_station_taps(lake, period_minutes=15, tz=TZ).num_rows == 0
    bounded = engine.count_bounded_taps(
        lake, key_period="2026-10", max_taps=2, period_minutes=15, tz=TZ
    )
    assert bounded.num_rows == 0
    with pytest.raises(InvalidQueryError, match="divide a day"):
        engine.count_station_taps(lake, period_minutes=7, tz=TZ)


def test_spark_without_its_extra_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    from urbanpulse.store.spark_engine import build_session

    monkeypatch.setitem(sys.modules, "pyspark", None)
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)
    with pytest.raises(MissingExtraError, match=r'pip install "urbanpulse\[spark\]"'):
        build_session()


def test_unknown_engine_is_refused() -> None:
    with pytest.raises(InvalidQueryError, match="duckdb, spark"):
        build_engine("pandas")


def test_the_store_shows_questions_not_its_sql() -> None:
    """The store's public face is questions: DuckDB connections and SQL stay in
    ``urbanpulse.store.engine``, which .importlinter forbids to the API, the pages and
    the domains (the writers still building SQL are listed there as known debt)."""
    import urbanpulse.store as store

    exposed = {"connect", "scan_sql", "quote_sql_text", "refresh_views"} & set(dir(store))
    assert exposed == set()
    assert {"read_sites", "read_observations", "read_table"} <= set(store.__all__)


def test_a_spark_connect_url_given_as_the_master_is_used_as_one() -> None:
    from urbanpulse.store.spark_engine import SparkEngine

    engine = build_engine("spark", master="sc://127.0.0.1:15002")
    assert isinstance(engine, SparkEngine)
    assert (engine.remote, engine.master) == ("sc://127.0.0.1:15002", "local[*]")
    cluster = build_engine("spark", master="spark://127.0.0.1:7077")
    assert isinstance(cluster, SparkEngine)
    assert (cluster.remote, cluster.master) == (None, "spark://127.0.0.1:7077")
