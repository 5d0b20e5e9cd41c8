"""Times and days far outside any data are refused as bad requests, not server errors."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from fastapi.testclient import TestClient

from urbanpulse.catalog.calendar import check_moment
from urbanpulse.errors import InvalidQueryError

SITE = "/api/sites/bj-metro-1"


@pytest.mark.parametrize(
    ("path", "params"),
    [
        (f"{SITE}/observations", {"metric": "pm25", "start": "0001-01-01T00:00"}),
        (f"{SITE}/observations", {"metric": "pm25", "start": "1000-01-01T00:00Z"}),
        (f"{SITE}/observations", {"metric": "pm25", "end": "9999-12-31T00:00"}),
        (f"{SITE}/profile", {"metric": "pm25", "start": "0001-01-01T00:00"}),
        (f"{SITE}/forecast", {"metric": "pm25", "start": "9999-12-31T23:00"}),
        ("/api/advice", {"origin": "bj-metro-1", "start": "0001-01-01T07:00",
                         "end": "0001-01-01T09:00"}),
        ("/api/advice", {"origin": "bj-metro-1", "start": "2026-03-16T07:00",
                         "end": "2026-03-16T09:00", "preferred": "9999-12-31T08:00"}),
        ("/api/operator/accuracy", {"site_id": "bj-metro-1", "day": "9999-12-31"}),
        ("/api/operator/accuracy", {"site_id": "bj-metro-1", "day": "0001-01-01"}),
        ("/api/operator/effect", {"line_id": "bj-m1", "day": "0001-01-01"}),
    ],
)  # fmt: skip
def test_out_of_range_times_are_400_in_the_one_error_shape(
    government_client: TestClient, path: str, params: dict[str, str]
) -> None:
    # Government may call each of these routes, so the answer is the route's own.
    response = government_client.get(path, params=params)
    assert response.status_code == 400, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "detail"}
    assert body["error"]["code"] == "invalid_query"
    assert "out of range" in body["error"]["message"]


def test_posted_advice_is_bounded_too(client: TestClient) -> None:
    body = {"origin": "bj-metro-1", "start": "0001-01-01T07:00", "end": "0001-01-01T09:00"}
    response = client.post("/api/advice", json=body)
    assert response.status_code == 400 and "out of range" in response.text


def test_bounds_keep_the_edges_and_refuse_beyond() -> None:
    assert check_moment(date(1970, 1, 1), name="day") == date(1970, 1, 1)
    assert check_moment(datetime(2199, 12, 31, 23, 59), name="t") == datetime(2199, 12, 31, 23, 59)
    assert check_moment(None, name="t") is None
    for moment in (date(1969, 12, 31), datetime(2200, 1, 1)):
        with pytest.raises(InvalidQueryError, match="out of range"):
            check_moment(moment, name="t")
