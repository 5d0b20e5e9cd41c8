"""Observations, profiles, quarantine and indicators."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
from fastapi.testclient import TestClient

from urbanpulse.api.schemas import ObservationPublic, ObservationsPublic
from urbanpulse.api.tables import get_utc_text, get_utc_texts


def test_observations_in_a_window(government_client: TestClient) -> None:
    client = government_client
    body = client.get(
        "/api/sites/bj-metro-1/observations",
        params={
            "metric": "passengers",
            "start": "2026-03-03T08:00:00+08:00",
            "end": "2026-03-03T09:00:00+08:00",
        },
    ).json()
    assert (body["site_id"], body["metric"], body["unit"]) == (
        "bj-metro-1",
        "passengers",
        "persons/15min",
    )
    assert body["synthetic"] is True and body["truncated"] is False
    assert body["count"] == 4 == len(body["items"])
    times = [pd.Timestamp(o["ts"]) for o in body["items"]]
    assert times[0] == pd.Timestamp("2026-03-03T00:00:00Z")  # 08:00 in Beijing
    assert times == sorted(times)
    # The synthetic metro has its morning peak around 08:00.
    assert all(o["value"] > 2000 for o in body["items"])
    # Written without a model per row, in the schema's own form: times in UTC with Z.
    assert ObservationsPublic.model_validate(body).model_dump(mode="json") == body
    assert body["items"][0]["ts"] == "2026-03-03T00:00:00Z"
    assert body["start"] == "2026-03-03T00:00:00Z"


def test_times_are_written_as_the_schema_writes_them() -> None:
    times = pd.Series(
        pd.to_datetime(["2026-03-03T00:00:00Z", "2026-03-03T00:00:00.25Z"], format="ISO8601")
    )
    written = get_utc_texts(pa.array(times))
    expected = [ObservationPublic(ts=t, value=None).model_dump(mode="json")["ts"] for t in times]
    assert written == expected == ["2026-03-03T00:00:00Z", "2026-03-03T00:00:00.250000Z"]
    assert [get_utc_text(t.to_pydatetime()) for t in times] == written


def test_time_without_offset_is_local_time(government_client: TestClient) -> None:
    client = government_client
    naive = client.get(
        "/api/sites/bj-metro-1/observations",
        params={"metric": "pm25", "start": "2026-03-03T08:00", "end": "2026-03-03T08:15"},
    ).json()
    assert [pd.Timestamp(o["ts"]) for o in naive["items"]] == [pd.Timestamp("2026-03-03T00:00:00Z")]


def test_limit_returns_latest_without_start_and_first_with_it(
    government_client: TestClient,
) -> None:
    client = government_client
    latest = client.get(
        "/api/sites/tj-air-1/observations", params={"metric": "pm25", "limit": 3}
    ).json()
    assert latest["truncated"] is True and latest["count"] == 3
    assert pd.Timestamp(latest["items"][-1]["ts"]) == pd.Timestamp("2026-03-15T15:45:00Z")
    first = client.get(
        "/api/sites/tj-air-1/observations",
        params={"metric": "pm25", "limit": 2, "start": "2026-03-02T00:00:00+08:00"},
    ).json()
    assert [pd.Timestamp(o["ts"]) for o in first["items"]] == [
        pd.Timestamp("2026-03-01T16:00:00Z"),
        pd.Timestamp("2026-03-01T16:15:00Z"),
    ]


def test_profile_by_day_type_and_period(client: TestClient) -> None:
    body = client.get(
        "/api/sites/bj-metro-1/profile", params={"metric": "passengers", "period": 60}
    ).json()
    assert body["period_minutes"] == 60 and body["timezone"] == "Asia/Shanghai"
    assert body["synthetic"] is True
    rows = pd.DataFrame(body["items"])
    assert list(rows.columns) == [
        "day_type",
        "period_start",
        "period_label",
        "mean",
        "p50",
        "p90",
        "n",
    ]
    assert rows.groupby("day_type").size().to_dict() == {"weekday": 24, "weekend": 24}
    weekday = rows[rows["day_type"] == "weekday"].set_index("period_label")
    assert weekday.loc["08:00", "mean"] > 5 * weekday.loc["03:00", "mean"]
    assert (rows["p90"] >= rows["p50"]).all()
    assert weekday.loc["08:00", "n"] == 10 * 4  # ten weekdays, four readings an hour


def test_profile_defaults_to_15_minutes(client_for) -> None:
    government = client_for("government")
    body = government.get("/api/sites/tj-air-1/profile", params={"metric": "pm25"}).json()
    assert body["period_minutes"] == 15 and body["count"] == 2 * 96
    # The public sees cells of five readings or more: ten weekdays, not four weekend days.
    public = client_for("public").get("/api/sites/tj-air-1/profile", params={"metric": "pm25"})
    assert public.json()["count"] == 96 and {r["n"] for r in public.json()["items"]} == {10}


def test_quarantine_filters_by_reason_and_source(admin_client: TestClient) -> None:
    client = admin_client
    everything = client.get("/api/quarantine").json()
    assert everything["count"] == 3 and everything["synthetic"] is None
    assert set(everything["items"][0]) == {
        "batch_id",
        "source",
        "line",
        "column_name",
        "reason",
        "raw",
        "quarantined_at",
    }
    by_reason = client.get("/api/quarantine", params={"reason": "NUMBER"}).json()
    assert [(r["source"], r["line"]) for r in by_reason["items"]] == [("counts.csv", 3)]
    by_source = client.get("/api/quarantine", params={"source": "counts", "limit": 1}).json()
    assert by_source["count"] == 1 and by_source["limit"] == 1


def test_indicators_filter_by_name_and_region(client: TestClient) -> None:
    body = client.get("/api/indicators", params={"indicator": "gdp"}).json()
    assert body["count"] == 3 and body["synthetic"] is True
    beijing = client.get("/api/indicators", params={"region": "110000"}).json()
    assert [(i["year"], i["value"]) for i in beijing["items"]] == [(2020, 36102.6), (2021, 40269.6)]
    assert client.get("/api/indicators", params={"indicator": "nope"}).json()["count"] == 0
