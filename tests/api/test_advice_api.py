"""The advice endpoint over a one-week demo lake: ranking, intervals, holdout, errors."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from urbanpulse.api import create_app
from urbanpulse.settings import Settings
from urbanpulse.store import Lake

DAY = "2026-11-02"  # the Monday after the demo's last day (Saturday 2026-10-31)
TRIP = {"origin": "bj-m1-s05", "destination": "bj-m1-s07"}
WINDOW = {"start": f"{DAY}T07:00", "end": f"{DAY}T09:30", "preferred": f"{DAY}T08:00"}
SLOT_FIELDS = {
    "departure", "label", "arrival", "travel_minutes", "crowding", "crowding_p10",
    "crowding_p90", "expected_extra", "bottleneck_site_id", "forecast_share", "shift_minutes",
    "score",
    "recommended", "reason",
}  # fmt: skip


def build_client(lake: Lake, **settings: object) -> TestClient:
    return TestClient(create_app(Settings(lake_path=Path(lake.root), **settings)))


@pytest.fixture(scope="module")
def client(demo_lake: Lake) -> Iterator[TestClient]:
    with build_client(demo_lake, advice_holdout_share=0.0) as test_client:
        yield test_client


def ask(client: TestClient, **changes: object) -> object:
    params = {k: v for k, v in {**TRIP, **WINDOW, **changes}.items() if v is not None}
    return client.get("/api/advice", params=params)


def test_lines_list_stations_in_running_order(client: TestClient) -> None:
    body = client.get("/api/lines").json()
    line = next(item for item in body["items"] if item["line_id"] == "bj-m1")
    assert body["synthetic"] is True
    assert line["name_en"] == "Beijing Subway Line 1" and line["city_code"] == "110000"
    sequences = [s["sequence"] for s in line["stations"]]
    assert sequences == sorted(sequences) and sequences[0] == 1
    tianjin = client.get("/api/lines", params={"city": "Tianjin"}).json()["items"]
    assert tianjin and {item["city_code"] for item in tianjin} == {"120000"}


def test_advice_ranks_slots_with_the_recommendation_first(client: TestClient) -> None:
    response = ask(client)
    assert response.status_code == 200, response.text
    body = response.json()
    slots = body["slots"]
    assert len(slots) == 11  # 07:00 to 09:30 (the latest departure) by 15 minutes
    assert all(set(slot) == SLOT_FIELDS for slot in slots)
    assert body["holdout"] is False and slots[0]["recommended"] is True
    assert [s["recommended"] for s in slots[1:]] == [False] * 10
    assert body["recommended"] == slots[0]
    scores = [s["score"] for s in slots[1:]]
    assert scores == sorted(scores)  # the rest ranked best first
    # The preferred time is kept unless another saves min_gain minutes; spreading may
    # pick a near-best slot (within the tolerance): never one clearly worse than both.
    assert slots[0]["score"] <= min(scores) + body["min_gain"] + 1e-9
    for slot in slots:
        assert slot["crowding_p10"] <= slot["crowding"] <= slot["crowding_p90"]
        assert slot["travel_minutes"] == body["travel_minutes"] > 0 and slot["reason"]
    assert body["message"].startswith(f"Leave at {slots[0]['label']}")
    assert body["origin_name"] == "Yuquanlu" and body["synthetic"] is True


def test_clock_replays_the_day_after_the_demo_data(client: TestClient) -> None:
    clock = ask(client).json()["clock"]
    assert clock["mode"] == "replay"
    assert clock["now"] == "2026-11-01T00:00:00+08:00"
    assert clock["planning_day"] == DAY  # 2026-11-01 is a Sunday
    assert "2026-10-31" in clock["note"]


def test_post_gives_the_same_slots_as_get(client: TestClient) -> None:
    posted = client.post("/api/advice", json={**TRIP, **WINDOW})
    assert posted.status_code == 200, posted.text
    labels = {s["label"] for s in posted.json()["slots"]}
    assert labels == {s["label"] for s in ask(client).json()["slots"]}


def test_single_site_advice_has_no_travel_time(client: TestClient) -> None:
    body = ask(client, destination=None).json()
    assert body["destination"] is None and body["travel_minutes"] == 0
    assert {s["bottleneck_site_id"] for s in body["slots"]} == {"bj-m1-s05"}


@pytest.mark.parametrize(("share", "holdout"), [(1.0, True), (0.0, False)])
def test_holdout_share_decides_who_gets_a_recommendation(
    demo_lake: Lake, share: float, holdout: bool, grant: Callable[..., dict[str, str]]
) -> None:
    with build_client(demo_lake, advice_holdout_share=share) as own:
        government = grant(own.app, "government")
        # Effect counts persist with the lake, so count what these requests add.
        params = {"line_id": "bj-m1"}
        before = own.get("/api/operator/effect", params=params, headers=government).json()
        # three riders (three keys), the first asking twice: counted once
        riders = [grant(own.app, "business") for _ in range(3)]
        bodies = [
            own.post("/api/advice", json={**TRIP, **WINDOW}, headers=headers).json()
            for headers in [riders[0], *riders]
        ]
        effect = own.get("/api/operator/effect", params=params, headers=government).json()
    for body in bodies:
        assert body["holdout"] is holdout
        assert (body["recommended"] is None) is holdout
        assert any(s["recommended"] for s in body["slots"]) is not holdout
    assert [b["repeat"] for b in bodies] == [False, True, False, False]
    assert [b["recorded"] for b in bodies] == [True, False, True, True]
    added = (effect["holdout"] - before["holdout"], effect["advised"] - before["advised"])
    assert added == ((3, 0) if holdout else (0, 3))


def test_get_reads_and_only_post_is_counted(
    demo_lake: Lake, grant: Callable[..., dict[str, str]]
) -> None:
    with build_client(demo_lake, advice_holdout_share=0.0) as own:
        government = grant(own.app, "government")

        def effect() -> dict:
            params = {"line_id": "bj-m1"}
            return own.get("/api/operator/effect", params=params, headers=government).json()

        before = effect()
        read = [ask(own).json() for _ in range(20)]
        after_reads = effect()
        posted = own.post("/api/advice", json={**TRIP, **WINDOW}).json()
        after_post = effect()
    assert all(body["recorded"] is False for body in read) and posted["recorded"] is True
    # Twenty GETs counted nothing; one POST counted once.
    assert (after_reads["advised"], after_reads["holdout"]) == (
        before["advised"],
        before["holdout"],
    )
    assert after_post["advised"] == before["advised"] + 1


@pytest.mark.parametrize(
    ("changes", "status", "code", "words"),
    [
        ({"origin": "no-such-station"}, 404, "not_found", "unknown station"),
        ({"destination": "no-such-station"}, 404, "not_found", "unknown station"),
        ({"destination": "tj-m1-s03"}, 400, "invalid_query", "no journey connects"),
        ({"destination": "bj-m1-s05"}, 400, "invalid_query", "same station"),
        ({"destination": "bj-air-01"}, 400, "invalid_query", "not a station"),
        ({"start": "2026-10-30T07:00", "end": "2026-10-30T09:30", "preferred": None},
         400, "invalid_query", "in the past"),
        ({"end": f"{DAY}T06:00"}, 400, "invalid_query", "ends before it starts"),
        ({"end": "2026-11-03T09:30"}, 400, "invalid_query", "longer than 24 hours"),
        ({"preferred": f"{DAY}T10:00"}, 400, "invalid_query", "outside the departure window"),
        ({"start": "2026-11-20T07:00", "end": "2026-11-20T09:00", "preferred": None},
         400, "invalid_query", "7 days"),
        ({"start": "tomorrow morning"}, 422, "validation_error", "start"),
        ({"end": "2026-11-02T25:00"}, 422, "validation_error", "end"),
        ({"origin": None}, 422, "validation_error", "origin"),
    ],
)  # fmt: skip
def test_bad_requests_get_one_error_shape(
    client: TestClient, changes: dict[str, object], status: int, code: str, words: str
) -> None:
    response = ask(client, **changes)
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "detail"}
    assert body["error"]["code"] == code
    assert words in body["error"]["message"]


def test_post_with_a_malformed_body_is_422(client: TestClient) -> None:
    response = client.post("/api/advice", json={"origin": "bj-m1-s05", "start": "soon"})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"


def test_fixed_clock_judges_windows(demo_lake: Lake) -> None:
    with build_client(demo_lake, clock="2026-11-02T08:40:00") as own:
        body = ask(own).json()
        assert body["clock"]["mode"] == "fixed"
        # The window has begun: slots start at the one holding now (08:30).
        assert body["start"] == "2026-11-02T08:40:00+08:00"
        assert min(s["label"] for s in body["slots"]) == "08:30"
        late = ask(own, start=f"{DAY}T06:00", end=f"{DAY}T08:30", preferred=None)
        assert late.status_code == 400 and "in the past" in late.json()["error"]["message"]


def test_openapi_documents_advice_with_examples(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    post = schema["paths"]["/api/advice"]["post"]
    assert "morning" in post["requestBody"]["content"]["application/json"]["examples"]
    assert {"200", "400", "404", "422"} <= set(post["responses"])
    assert "holdout" in schema["components"]["schemas"]["AdvicePublic"]["properties"]
    assert "/api/lines" in schema["paths"]


def test_each_leg_says_how_crowded_its_train_is_and_where(client: TestClient) -> None:
    """西直门 -> 国贸 changes line once: each leg carries its own train's load, band and
    most crowded station, and the worst of them is the slot's crowding."""
    body = ask(client, origin="bj-m2-s01", destination="bj-m1-s20").json()
    legs, first = body["legs"], body["slots"][0]
    assert len(legs) == 2
    for leg in legs:
        assert leg["crowding_p10"] <= leg["crowding"] <= leg["crowding_p90"]
        assert leg["bottleneck_site_id"] and leg["bottleneck_name_zh"]
    worst = max(legs, key=lambda leg: leg["crowding"])
    assert worst["crowding"] == pytest.approx(first["crowding"], abs=1e-4)
    assert worst["bottleneck_site_id"] == first["bottleneck_site_id"]
    assert legs[0]["bottleneck_site_id"] != legs[1]["bottleneck_site_id"]
