from __future__ import annotations

import json

from urbanpulse.catalog import SITE_KINDS, get_cities
from urbanpulse.catalog.sites import SITES_SCHEMA
from urbanpulse.twin import Network, build_network


def test_sites_follow_the_lake_schema_and_are_labelled_synthetic(network: Network) -> None:
    sites = network.sites.to_pandas()
    assert network.sites.schema.equals(SITES_SCHEMA)
    assert sites["site_id"].is_unique
    assert set(sites["kind"]) == {
        "metro_station",
        "bus_stop",
        "rail_station",
        "road_sensor",
        "air_monitor",
    }
    assert set(sites["kind"]) <= SITE_KINDS
    assert sites["synthetic"].all()
    assert all(json.loads(a)["synthetic"] is True for a in sites["attributes"])
    assert sites["name_zh"].str.len().gt(0).all() and sites["name_en"].str.len().gt(0).all()
    assert 150 <= len(sites) <= 300


def test_every_city_has_sites_near_it(network: Network) -> None:
    sites = network.sites.to_pandas()
    for city in get_cities():
        own = sites[sites["city_code"] == city.code]
        assert "air_monitor" in set(own["kind"]), city.name_en
        assert (own["lat"] - city.lat).abs().max() < 0.8
        assert (own["lon"] - city.lon).abs().max() < 1.6


def test_stations_carry_what_trip_advice_needs(network: Network) -> None:
    sites = network.sites.to_pandas()
    stations = sites[sites["kind"].isin(["metro_station", "bus_stop", "rail_station"])]
    for raw in stations["attributes"]:
        attributes = json.loads(raw)
        assert {"line_id", "line_name_zh", "line_name_en", "sequence", "minutes_to_next"} <= set(
            attributes
        )
    assert stations["capacity"].gt(0).all()
    assert set(network.lines["mode"]) == {"metro", "bus", "rail"}
    assert {"110000", "120000"} <= set(
        network.lines.loc[network.lines["mode"] == "metro", "city_code"]
    )


def test_beijing_zhangjiakou_runs_in_47_minutes(network: Network) -> None:
    links = network.links[network.links["line_id"] == "bjzjk-r"]
    assert links["minutes"].sum() == 47
    rail = network.sites.to_pandas().set_index("site_id")
    first, last = links["from_site_id"].iloc[0], links["to_site_id"].iloc[-1]
    assert (
        rail.loc[first, "name_en"] == "Beijing North" and rail.loc[first, "city_code"] == "110000"
    )
    assert rail.loc[last, "name_en"] == "Zhangjiakou" and rail.loc[last, "city_code"] == "130700"
    assert network.lines.set_index("line_id").loc["bjzjk-r", "minutes_end_to_end"] == 47


def test_tables_have_their_documented_columns(network: Network) -> None:
    assert list(network.lines.columns) == [
        "line_id",
        "mode",
        "city_code",
        "name_zh",
        "name_en",
        "stations",
        "minutes_end_to_end",
        "loop",
        "vehicle_capacity",
        "peak_headway_min",
    ]
    assert list(network.links.columns) == [
        "line_id",
        "sequence",
        "from_site_id",
        "to_site_id",
        "minutes",
    ]
    # A loop line closes: as many links as stations.
    loop = network.lines[network.lines["loop"]].iloc[0]
    assert (network.links["line_id"] == loop["line_id"]).sum() == loop["stations"]


def test_network_is_deterministic_by_seed() -> None:
    assert build_network(3).sites.equals(build_network(3).sites)
    assert not build_network(3).sites.equals(build_network(4).sites)
