"""The lake: commits publish atomically, partitions prune, writes are idempotent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from urbanpulse.errors import InvalidQueryError, LakeLockedError
from urbanpulse.store import (
    Lake,
    append_observations,
    get_months,
    read_indicators,
    read_observations,
    read_sites,
    upsert_indicators,
    upsert_sites,
)
from urbanpulse.store.engine import connect

START = datetime(2026, 1, 31, 22, tzinfo=UTC)


def observations(
    site: str, metric: str, hours: int, *, start: datetime = START, value: float = 1.0
) -> pa.Table:
    times = [start + timedelta(hours=h) for h in range(hours)]
    return pa.table(
        {
            "site_id": [site] * hours,
            "metric": [metric] * hours,
            "ts": pa.array(times, pa.timestamp("us", tz="UTC")),
            "value": [value + h for h in range(hours)],
            "unit": ["u"] * hours,
        }
    )


def test_an_empty_lake_reads_as_empty_typed_tables(tmp_path):
    lake = Lake(tmp_path / "lake")
    assert lake.version == 0
    assert read_observations(lake, "pm25").empty
    assert list(read_sites(lake).columns)[:3] == ["site_id", "kind", "name_zh"]


def test_append_is_idempotent_and_counts_skips(tmp_path):
    lake = Lake(tmp_path / "lake")
    assert append_observations(lake, observations("a", "flow", 10)) == (10, 0)
    assert append_observations(lake, observations("a", "flow", 12)) == (2, 10)
    assert len(read_observations(lake, "flow")) == 12
    assert lake.version == 2


def test_a_query_for_one_metric_and_month_touches_only_its_files(tmp_path):
    lake = Lake(tmp_path / "lake")
    append_observations(lake, observations("a", "flow", 4))  # 22:00 Jan 31 -> 01:00 Feb 1
    append_observations(lake, observations("a", "speed", 4))
    files = lake.get_files("observations", metric="flow", month=["2026-02"])
    assert [(f.partition["metric"], f.partition["month"]) for f in files] == [("flow", "2026-02")]
    assert sum(f.rows for f in files) == 2
    window = read_observations(
        lake, "flow", start=datetime(2026, 2, 1, tzinfo=UTC), end=datetime(2026, 3, 1, tzinfo=UTC)
    )
    assert len(window) == 2


def test_months_of_a_window_and_bad_windows():
    assert get_months(datetime(2026, 1, 31, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC)) == [
        "2026-01",
        "2026-02",
    ]
    with pytest.raises(InvalidQueryError):
        get_months(datetime(2026, 2, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC))
    with pytest.raises(InvalidQueryError):
        get_months(datetime(2026, 1, 1), datetime(2026, 2, 1))


def test_upserts_replace_by_key_and_keep_one_snapshot_file(tmp_path):
    lake = Lake(tmp_path / "lake")
    upsert_sites(
        lake,
        pa.table({"site_id": ["a", "b"], "kind": ["road_sensor", "other"], "name_en": ["A", "B"]}),
    )
    upsert_sites(lake, pa.table({"site_id": ["b"], "kind": ["air_monitor"], "name_en": ["B2"]}))
    sites = read_sites(lake).set_index("site_id")
    assert sites.loc["b", "kind"] == "air_monitor" and sites.loc["a", "name_en"] == "A"
    assert len(lake.get_files("sites")) == 1

    rows = {"region_code": ["110000"], "year": [2020], "indicator": ["gdp"], "value": [1.0]}
    upsert_indicators(lake, pa.table(rows))
    upsert_indicators(lake, pa.table({**rows, "value": [2.0]}))
    assert list(read_indicators(lake)["value"]) == [2.0]


def test_one_writer_at_a_time(tmp_path):
    lake = Lake(tmp_path / "lake")
    with lake.write_lock(), pytest.raises(LakeLockedError), Lake(lake.root).write_lock(wait=False):
        pass


def test_a_reader_opened_before_a_commit_sees_it_after_refresh(tmp_path):
    reader = Lake(tmp_path / "lake")
    writer = Lake(tmp_path / "lake")
    append_observations(writer, observations("a", "flow", 3))
    assert sum(f.rows for f in reader.get_files("observations")) == 3
    assert connect(reader).execute("SELECT count(*) FROM observations").fetchall()[0][0] == 3


keys = st.lists(
    st.tuples(
        st.sampled_from(["a", "b", "c"]), st.sampled_from(["flow", "speed"]), st.integers(0, 60)
    ),
    max_size=40,
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(first=keys, second=keys)
def test_ingest_is_idempotent_whatever_the_batches(tmp_path_factory, first, second):
    lake = Lake(tmp_path_factory.mktemp("lake"))

    def table(batch):
        return pa.table(
            {
                "site_id": [s for s, _, _ in batch],
                "metric": [m for _, m, _ in batch],
                "ts": pa.array(
                    [START + timedelta(days=d) for _, _, d in batch], pa.timestamp("us", tz="UTC")
                ),
                "value": [float(d) for _, _, d in batch],
                "unit": ["u"] * len(batch),
            }
        )

    for batch in (first, second, first, second):
        append_observations(lake, table(batch))
    stored = connect(lake).execute("SELECT count(*) FROM observations").fetchall()[0][0]
    assert stored == len(set(first) | set(second))


def test_the_store_questions_on_the_shared_reader_leave_it_ready_for_the_next(tmp_path):
    """Each question on the process's shared cursor reads its whole answer: one left
    half-read (fetchone) made the engine's next read on that thread fail."""
    from urbanpulse.store import build_engine
    from urbanpulse.store.queries import read_observation_keys, read_rows

    lake = Lake(tmp_path / "lake")
    append_observations(lake, observations("a", "flow", 4, value=5.0))
    append_observations(lake, observations("b", "flow", 2, value=9.0))
    last = START + timedelta(hours=3)
    engine = build_engine("duckdb")
    assert engine.read_last_observation_time(lake, ["flow"]) == last
    assert engine.read_observations(lake, "flow").num_rows == 6
    newest = engine.read_newest_values(lake, ["flow"], lookback=timedelta(hours=1)).to_pandas()
    assert newest[["site_id", "value"]].values.tolist() == [["a", 8.0]]
    assert engine.read_observations(lake, "flow", site_ids=["b"]).num_rows == 2
    keys = read_observation_keys(lake, ["flow"], START, START + timedelta(hours=1))
    assert keys == {(s, "flow", START + timedelta(hours=h)) for s in "ab" for h in (0, 1)}
    assert read_rows(lake, "observations", ("site_id", "=", "b")).shape[0] == 2
    assert engine.read_observations(lake, "flow", site_ids=["a"]).num_rows == 4
    assert engine.read_last_observation_time(lake, ["speed"]) is None
