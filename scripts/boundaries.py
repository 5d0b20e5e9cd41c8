"""Build the city outlines the monitor's map draws, from Apache ECharts' map data.

Run by hand when the data should change: ``python scripts/boundaries.py ECHARTS_TGZ``,
where ``ECHARTS_TGZ`` is ``npm pack echarts@4.9.0`` (the last release that carried its
province maps; Apache-2.0). It writes ``src/urbanpulse/catalog/boundaries.json``:
a GeoJSON FeatureCollection with one feature per city of the region, keyed by the
catalogue's city code. ECharts stores coordinates delta- and zigzag-encoded in
characters; they are decoded here, Beijing's and Tianjin's districts are merged into
their municipality, and outlines are simplified to about 500 m and rounded to 3
decimals (about 100 m): the map shows where a city lies, not its legal border.
"""

from __future__ import annotations

import json
import sys
import tarfile
from pathlib import Path
from typing import Any

from shapely.geometry import MultiPolygon, Polygon, mapping, shape
from shapely.ops import unary_union

from urbanpulse.catalog import get_cities

OUT = Path(__file__).resolve().parents[1] / "src" / "urbanpulse" / "catalog" / "boundaries.json"
PROVINCES = {"beijing": "110000", "tianjin": "120000", "hebei": None}
SOURCE = "Apache ECharts 4.9.0 map data (npm package echarts, map/json/province), Apache-2.0"
SIMPLIFY_DEGREES = 0.005
CLOSE_DEGREES = 0.002
MIN_PART_AREA = 0.001  # square degrees, about 10 km2: an exclave stays, a crumb goes


def decode_ring(text: str, offset: list[int], scale: float = 1024.0) -> list[tuple[float, float]]:
    """One ring of ECharts' encoded coordinates (parseGeoJson.js's decodePolygon)."""
    x, y = offset
    points = []
    for i in range(0, len(text), 2):
        dx, dy = ord(text[i]) - 64, ord(text[i + 1]) - 64
        x += (dx >> 1) ^ -(dx & 1)
        y += (dy >> 1) ^ -(dy & 1)
        points.append((x / scale, y / scale))
    return points


def decode_geometry(geometry: dict[str, Any]) -> Polygon | MultiPolygon:
    rings, offsets = geometry["coordinates"], geometry["encodeOffsets"]
    if geometry["type"] == "Polygon":
        parts = [[decode_ring(r, o) for r, o in zip(rings, offsets, strict=True)]]
    else:
        parts = [
            [decode_ring(r, o) for r, o in zip(poly, offs, strict=True)]
            for poly, offs in zip(rings, offsets, strict=True)
        ]
    polygons = [Polygon(p[0], p[1:]) for p in parts]
    return polygons[0] if len(polygons) == 1 else MultiPolygon(polygons)


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__.splitlines()[2], file=sys.stderr)
        return 2
    codes = {c.name_zh: c.code for c in get_cities()}
    found: dict[str, list[Any]] = {}
    with tarfile.open(sys.argv[1]) as archive:
        for province, code in PROVINCES.items():
            member = archive.extractfile(f"package/map/json/province/{province}.json")
            assert member is not None
            for feature in json.load(member)["features"]:
                geometry = decode_geometry(feature["geometry"]).buffer(0)
                city = code or codes[feature["properties"]["name"].removesuffix("市")]
                found.setdefault(city, []).append(geometry)
    features = []
    for city in get_cities():
        # A slight swell and shrink closes the slivers between districts' borders.
        merged = unary_union(found[city.code]).buffer(CLOSE_DEGREES).buffer(-CLOSE_DEGREES)
        simple = merged.simplify(SIMPLIFY_DEGREES)
        rounded = json.loads(json.dumps(mapping(simple)), parse_float=lambda v: round(float(v), 3))
        outline = shape(rounded).buffer(0)
        parts = getattr(outline, "geoms", [outline])
        kept = [p for p in parts if p.area >= MIN_PART_AREA]  # crumbs of the rounding
        geometry = kept[0] if len(kept) == 1 else MultiPolygon(kept)
        features.append(
            {"type": "Feature", "properties": {"code": city.code}, "geometry": mapping(geometry)}
        )
    collection = {"type": "FeatureCollection", "source": SOURCE, "features": features}
    OUT.write_text(json.dumps(collection, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"{OUT}: {len(features)} cities, {OUT.stat().st_size:,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
