"""NGSI-LD geo-queries (ETSI GS CIM 009, clause 4.10) over sites' points.

``georel=near;maxDistance==2000&geometry=Point&coordinates=[116.4,39.9]`` keeps the
sites within 2 km (great-circle metres, the transfers' haversine); ``within``, ``contains``, ``intersects``,
``disjoint``, ``equals`` and ``overlaps`` test a site's point, or a provisioned
entity's GeoJSON geometry, against any GeoJSON geometry with shapely.

A polygon whose ring crosses itself is repaired (``shapely.make_valid``: a bow tie
becomes its two triangles), in a query as in an entity, rather than refused: GeoJSON
does not forbid it, FIWARE's brokers answer such queries, and the ETSI suite sends them.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

import shapely
from shapely.geometry import Point, shape
from shapely.geometry.base import BaseGeometry
from shapely.ops import nearest_points

from urbanpulse.errors import InvalidQueryError
from urbanpulse.transit.transfers import get_metres

# A GeoProperty's name: a term (letters of any script, digits, _) or an IRI.
GEOPROPERTY = re.compile(r"^(?:[^\W\d]\w*|[A-Za-z][A-Za-z0-9+.\-]*:\S+)\Z")
RELATIONS = ("near", "within", "contains", "intersects", "disjoint", "equals", "overlaps")
GEOMETRIES = ("Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon")


@dataclass(frozen=True)
class GeoQuery:
    """A parsed geo-query: relation, reference geometry and distance bounds (metres)."""

    relation: str
    geometry: BaseGeometry
    max_distance: float | None = None
    min_distance: float | None = None
    # The GeoProperty the query is on (a site has only its location).
    geoproperty: str = "location"


def parse_geo_query(
    *,
    georel: str | None,
    geometry: str | None,
    coordinates: str | None,
    geoproperty: str | None = None,
) -> GeoQuery | None:
    """Parse ``georel``, ``geometry`` and ``coordinates``; None when none is given.

    Raises
    ------
    InvalidQueryError
        When one is missing, unknown or malformed.
    """
    if not (georel or geometry or coordinates):
        return None
    if not (georel and geometry and coordinates):
        raise InvalidQueryError("a geo-query needs georel, geometry and coordinates together")
    geoproperty = geoproperty or "location"
    if not GEOPROPERTY.match(geoproperty):
        raise InvalidQueryError(f"geoproperty {geoproperty!r} is not an attribute name")
    relation, *modifiers = (part.strip() for part in georel.split(";"))
    if relation not in RELATIONS:
        raise InvalidQueryError(f"georel {relation!r}: use one of {', '.join(RELATIONS)}")
    if geometry not in GEOMETRIES:
        raise InvalidQueryError(f"geometry {geometry!r}: use one of {', '.join(GEOMETRIES)}")
    reference = build_geometry(geometry, coordinates)
    bounds = _parse_distances(relation, modifiers)
    return GeoQuery(
        relation, reference, bounds.get("maxDistance"), bounds.get("minDistance"), geoproperty
    )


def match_geo(query: GeoQuery, lon: float | None, lat: float | None) -> bool:
    """Whether the point (lon, lat) satisfies ``query``; a site without one never does."""
    if lon is None or lat is None or math.isnan(lon) or math.isnan(lat):
        return False
    return match_geometry(query, Point(lon, lat))


def match_geometry(query: GeoQuery, geometry: BaseGeometry) -> bool:
    """Whether an entity's geometry satisfies ``query`` (the entity is the subject:
    ``within`` is the entity within the reference, ``contains`` the entity containing it)."""
    if query.relation == "near":
        metres = get_distance_metres(geometry, query.geometry)
        if query.max_distance is not None and metres > query.max_distance:
            return False
        return query.min_distance is None or metres >= query.min_distance
    test = getattr(geometry, query.relation)
    return bool(test(query.geometry))


def get_distance_metres(geometry: BaseGeometry, reference: BaseGeometry) -> float:
    """Metres between the closest points of two geometries (4.10: a line or an area is
    near what lies near any of its points), measured on the sphere."""
    mine, theirs = nearest_points(geometry, reference)
    return float(get_metres(mine.y, mine.x, theirs.y, theirs.x))


def read_geometry(value: Any) -> BaseGeometry | None:
    """A GeoProperty's GeoJSON value as a valid shapely geometry; None when it is none."""
    if not isinstance(value, dict) or value.get("type") not in GEOMETRIES:
        return None
    try:
        built = shape(value)
    except (ValueError, TypeError, IndexError, AttributeError, shapely.errors.ShapelyError):
        return None
    if built.is_empty or not _finite_lon_lat(built):
        return None
    return built if built.is_valid else shapely.make_valid(built)


def build_geometry(geometry: str, coordinates: str) -> BaseGeometry:
    try:
        parsed: Any = json.loads(coordinates)
        built = shape({"type": geometry, "coordinates": parsed})
    except (ValueError, TypeError, IndexError, AttributeError, shapely.errors.ShapelyError) as exc:
        raise InvalidQueryError(
            f"coordinates {coordinates[:80]!r} are not a {geometry} (JSON array of lon, lat)"
        ) from exc
    if built.is_empty or not _finite_lon_lat(built):
        raise InvalidQueryError(
            f"coordinates {coordinates[:80]!r}: need lon in [-180, 180], lat in [-90, 90]"
        )
    return built if built.is_valid else shapely.make_valid(built)


def _finite_lon_lat(geometry: BaseGeometry) -> bool:
    coords = shapely.get_coordinates(geometry)
    lon, lat = coords[:, 0], coords[:, 1]
    return bool(len(coords) and ((lon >= -180) & (lon <= 180) & (lat >= -90) & (lat <= 90)).all())


def _parse_distances(relation: str, modifiers: list[str]) -> dict[str, float]:
    bounds: dict[str, float] = {}
    for modifier in modifiers:
        name, sep, value = modifier.partition("==")
        if relation != "near" or name not in ("maxDistance", "minDistance") or not sep:
            raise InvalidQueryError(
                f"georel modifier {modifier!r}: near takes maxDistance==N or minDistance==N"
            )
        try:
            bounds[name] = float(value)
        except ValueError:
            raise InvalidQueryError(f"georel {name}: {value!r} is not a number of metres") from None
        if not math.isfinite(bounds[name]) or bounds[name] < 0 or (name == "maxDistance" and bounds[name] == 0):  # fmt: skip
            raise InvalidQueryError(
                f"georel {name}: {value!r} must be a number of metres, above 0 for maxDistance"
            )
    if relation == "near" and len(modifiers) != 1:
        raise InvalidQueryError("georel near takes one of maxDistance==N or minDistance==N (metres)")  # fmt: skip
    return bounds


def split_geo_query(text: str) -> dict[str, str]:
    """A geo-query written as one text, as some clients send it in ``geoQ``
    (``geometry=Point;coordinates=[116.4,39.9];georel=near;maxDistance==2000``): its
    georel, geometry, coordinates and geoproperty, each as its own parameter reads.

    Raises
    ------
    InvalidQueryError
        A part that is none of them.
    """
    parts: dict[str, str] = {}
    for token in text.split(";"):
        name, sep, value = token.partition("=")
        if sep and not value.startswith("=") and name in ("georel", "geometry", "coordinates", "geoproperty"):  # fmt: skip
            parts[name] = value
        elif "georel" in parts and "==" in token:  # a modifier of the relation
            parts["georel"] += ";" + token
        else:
            raise InvalidQueryError(f"geoQ {text!r}: {token!r} is not part of a geo-query")
    return parts
