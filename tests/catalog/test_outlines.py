"""City outlines (catalog/boundaries.json, from Apache ECharts' map data): checked
against the catalogue's own seats of government, which come from another source."""

from __future__ import annotations

from shapely.geometry import Point, Polygon

from urbanpulse.catalog import get_cities, get_city_outlines


def test_every_city_seat_lies_in_its_own_outline_and_no_other() -> None:
    cities = get_cities()
    outlines = get_city_outlines(c.code for c in cities)
    assert set(outlines) == {c.code for c in cities}
    shapes = {code: [Polygon(ring) for ring in rings] for code, rings in outlines.items()}
    for city in cities:
        seat = Point(city.lon, city.lat)
        inside = {code for code, parts in shapes.items() if any(p.contains(seat) for p in parts)}
        assert inside == {city.code}, city.name_en


def test_outlines_are_closed_rings_with_no_overlap_between_cities() -> None:
    outlines = get_city_outlines(c.code for c in get_cities())
    shapes = {code: [Polygon(ring) for ring in rings] for code, rings in outlines.items()}
    for rings in outlines.values():
        assert all(ring[0] == ring[-1] and len(ring) >= 4 for ring in rings)
    codes = sorted(shapes)
    for i, one in enumerate(codes):
        for other in codes[i + 1 :]:
            shared = sum(a.intersection(b).area for a in shapes[one] for b in shapes[other])
            smaller = min(sum(p.area for p in shapes[one]), sum(p.area for p in shapes[other]))
            assert shared < 0.01 * smaller, (one, other)  # borders touch; areas do not


def test_a_city_without_an_outline_is_left_out() -> None:
    assert get_city_outlines(["110000", "440300"]).keys() == {"110000"}
