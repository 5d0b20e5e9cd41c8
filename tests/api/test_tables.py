"""The unit lookup of the data routes reads only the files of the metric asked for."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from urbanpulse.api import create_app
from urbanpulse.api.tables import get_metric_unit
from urbanpulse.errors import NotFoundError
from urbanpulse.settings import Settings
from urbanpulse.store import Lake, build_engine

ENGINE = build_engine("duckdb")


@pytest.fixture
def scans(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, dict[str, object]]]]:
    """Every (table, partition filter) the lake is asked for paths of."""
    seen: list[tuple[str, dict[str, object]]] = []
    get_paths = Lake.get_paths

    def spy(self: Lake, table: str, **partition: object) -> list[str]:
        seen.append((table, partition))
        return get_paths(self, table, **partition)  # type: ignore[arg-type]

    monkeypatch.setattr(Lake, "get_paths", spy)
    yield seen


@pytest.mark.parametrize("route", ["observations", "profile", "forecast"])
def test_data_routes_never_scan_every_observation_file(
    make_lake, scans: list[tuple[str, dict[str, object]]], route: str, grant
) -> None:
    lake = make_lake(days=3)
    app = create_app(Settings(lake_path=lake.root))
    client = TestClient(app, headers=grant(app, "government"))
    scans.clear()  # building the lake is not the request
    response = client.get(f"/api/sites/bj-metro-1/{route}", params={"metric": "pm25"})
    assert response.status_code == 200, response.text
    assert response.json()["unit"] == "µg/m³"
    observation_scans = [filters for table, filters in scans if table == "observations"]
    assert observation_scans and all(f.get("metric") for f in observation_scans)


def test_unit_is_read_once_per_lake_version(
    make_lake, scans: list[tuple[str, dict[str, object]]]
) -> None:
    lake = make_lake(days=1)
    scans.clear()
    assert get_metric_unit(lake, "bj-metro-1", "passengers", engine=ENGINE) == "persons/15min"
    assert get_metric_unit(lake, "bj-metro-1", "passengers", engine=ENGINE) == "persons/15min"
    assert len(scans) == 1


def test_a_missing_metric_names_the_sites_metrics(make_lake) -> None:
    lake = make_lake(days=1)
    with pytest.raises(NotFoundError, match="has no metric 'no2'; it has: passengers, pm25"):
        get_metric_unit(lake, "bj-metro-1", "no2", engine=ENGINE)
    # The metric exists in the lake, but not at this air monitor.
    with pytest.raises(NotFoundError, match="has no metric 'passengers'; it has: pm25"):
        get_metric_unit(lake, "tj-air-1", "passengers", engine=ENGINE)
