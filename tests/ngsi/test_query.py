"""The NGSI-LD query language and geo-query parameters."""

from __future__ import annotations

import operator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from urbanpulse.errors import InvalidQueryError
from urbanpulse.ngsi.geo import match_geo, match_geometry, parse_geo_query, read_geometry
from urbanpulse.ngsi.query import MISSING, build_entity_query, match_q, parse_q

OPERATORS = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le,
             "==": operator.eq, "!=": operator.ne}  # fmt: skip


def matches(q: str, **values: Any) -> bool:
    return match_q(parse_q(q), lambda path: values.get(path[0], MISSING))


@given(
    value=st.integers(-10_000, 10_000),
    wanted=st.integers(-10_000, 10_000),
    op=st.sampled_from(sorted(OPERATORS)),
)
def test_a_comparison_is_the_comparison(value: int, wanted: int, op: str) -> None:
    assert matches(f"x{op}{wanted}", x=float(value)) == OPERATORS[op](value, wanted)


@given(a=st.booleans(), b=st.booleans(), c=st.booleans())
def test_and_binds_tighter_than_or(a: bool, b: bool, c: bool) -> None:
    values = {"a": float(a), "b": float(b), "c": float(c)}
    assert matches("a==1;b==1|c==1", **values) == ((a and b) or c)
    assert matches("a==1;(b==1|c==1)", **values) == (a and (b or c))


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("intensity", True),
        ("pm25", False),
        ("pm25>1", False),
        ("pm25!=1", False),
        ("occupancy==0.2..0.5", True),
        ("occupancy==0.5..0.9", False),
        ("intensity==1,120,7", True),
        ("intensity!=1,120,7", False),
        ('name=="Xizhimen"', True),
        ("name~=(?i)^xizhi", True),
        ("name!~=(?i)^xizhi", False),
        ("dateObserved>2026-10-31T00:00:00Z", True),
        ("congested==true", False),
        ('name>"A";name<"Z"', True),
        ("name>3", False),
        ("!pm25", True),  # negated presence: the attribute is absent
        ("!intensity", False),
        ("!pm25;intensity>100", True),
        ("!intensity|name", True),
    ],
)
def test_terms(q: str, expected: bool) -> None:
    entity = {"intensity": 120.0, "occupancy": 0.3, "name": "Xizhimen",
              "dateObserved": "2026-10-31T15:55:00Z", "congested": False}  # fmt: skip
    assert matches(q, **entity) is expected


@pytest.mark.parametrize(
    "q",
    [
        "",
        ";",
        "a;",
        "a>",
        "a>>1",
        "(a>1",
        "a>1)",
        'a=="x',
        "a~=(",
        "a==1,",
        "1a>2",
        "a>=1..2",
        "a<1,2",
        "!a>1",  # ! negates presence, not a comparison
        "!",
    ],
)
def test_malformed_q_is_one_clear_error(q: str) -> None:
    with pytest.raises(InvalidQueryError, match="invalid q"):
        parse_q(q)


def test_types_may_be_expanded_iris() -> None:
    query = build_entity_query(
        type="https://smartdatamodels.org/dataModel.Transportation/TrafficFlowObserved,GtfsStop"
    )
    assert query.types == ("TrafficFlowObserved", "GtfsStop")


def test_geo_relations_on_a_point() -> None:
    square = "[[[116,39],[117,39],[117,40],[116,40],[116,39]]]"
    inside, outside = (116.5, 39.5), (118.0, 39.5)
    for relation, want_in, want_out in [
        ("within", True, False),
        ("intersects", True, False),
        ("disjoint", False, True),
    ]:
        geo = parse_geo_query(georel=relation, geometry="Polygon", coordinates=square)
        assert geo is not None
        assert match_geo(geo, *inside) is want_in
        assert match_geo(geo, *outside) is want_out
    near = parse_geo_query(georel="near;maxDistance==3000", geometry="Point", coordinates="[116.0,39.0]")  # fmt: skip
    far = parse_geo_query(georel="near;minDistance==1000", geometry="Point", coordinates="[116.0,39.0]")  # fmt: skip
    assert near is not None and far is not None
    assert not match_geo(far, 116.0, 39.0)  # 0 m: nearer than minDistance
    assert match_geo(near, 116.02, 39.0) and match_geo(far, 116.02, 39.0)  # about 1.7 km
    assert not match_geo(near, 116.1, 39.0)  # about 8.6 km
    assert not match_geo(near, None, None)
    # A line is near what lies near any of its points, not only near its first one.
    line = parse_geo_query(georel="near;maxDistance==2000", geometry="LineString", coordinates="[[116.0,39.0],[117.0,39.0]]")  # fmt: skip
    assert line is not None
    assert match_geo(line, 116.5, 39.01)  # about 1.1 km from the middle of the line
    assert not match_geo(line, 116.5, 39.05)  # about 5.6 km


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"georel": "near;maxDistance==5"}, "together"),
        ({"georel": "beside", "geometry": "Point", "coordinates": "[1,2]"}, "georel"),
        ({"georel": "within", "geometry": "Circle", "coordinates": "[1,2]"}, "geometry"),
        ({"georel": "near", "geometry": "Point", "coordinates": "[1,2]"}, "maxDistance"),
        ({"georel": "near;maxDistance==-1", "geometry": "Point", "coordinates": "[1,2]"}, "metres"),
        ({"georel": "near;maxDistance==0", "geometry": "Point", "coordinates": "[1,2]"}, "above 0"),
        ({"georel": "near;maxDistance==5;minDistance==1", "geometry": "Point", "coordinates": "[1,2]"}, "one of"),
        ({"georel": "within;maxDistance==1", "geometry": "Point", "coordinates": "[1,2]"}, "modifier"),
        ({"georel": "within", "geometry": "Point", "coordinates": "[1,95]"}, "lat in"),
        ({"georel": "within", "geometry": "Point", "coordinates": "nope"}, "not a Point"),
        ({"georel": "within", "geometry": "Point", "coordinates": "[1,2]", "geoproperty": "an area"}, "geoproperty"),
    ],
)  # fmt: skip
def test_bad_geo_queries_say_what_is_wrong(params: dict[str, str], message: str) -> None:
    params = {"geometry": None, "coordinates": None} | params
    with pytest.raises(InvalidQueryError, match=message):
        parse_geo_query(**params)


def test_a_polygon_that_crosses_itself_is_read_as_its_two_triangles() -> None:
    """A bow tie is repaired, not refused (FIWARE's brokers answer it): the parts its
    ring encloses are inside, the notch between them is not."""
    bow_tie = "[[[0,0],[1,1],[1,0],[0,1],[0,0]]]"
    geo = parse_geo_query(georel="within", geometry="Polygon", coordinates=bow_tie)
    assert geo is not None
    assert match_geo(geo, 0.1, 0.5) and match_geo(geo, 0.9, 0.5)  # in either triangle
    assert not match_geo(geo, 0.5, 0.1) and not match_geo(geo, 0.5, 0.9)  # in a notch


def test_an_entity_with_an_area_meets_each_relation_as_an_area() -> None:
    """A provisioned entity's location may be any GeoJSON geometry: the relation is
    the entity's to the reference (within: the entity inside it; contains: the entity
    around it)."""
    square = read_geometry({"type": "Polygon", "coordinates": [[[0, 0], [2, 0], [2, 2], [0, 2], [0, 0]]]})  # fmt: skip
    assert square is not None

    def meets(relation: str, geometry: str, coordinates: str) -> bool:
        geo = parse_geo_query(georel=relation, geometry=geometry, coordinates=coordinates)
        assert geo is not None and square is not None
        return match_geometry(geo, square)

    assert meets("contains", "Point", "[1,1]") and not meets("contains", "Point", "[3,1]")
    assert meets("within", "Polygon", "[[[-1,-1],[3,-1],[3,3],[-1,3],[-1,-1]]]")
    assert not meets("within", "Polygon", "[[[0.5,0.5],[1,0.5],[1,1],[0.5,0.5]]]")
    assert meets("overlaps", "Polygon", "[[[1,1],[3,1],[3,3],[1,3],[1,1]]]")
    assert meets("intersects", "Polygon", "[[[1,1],[3,1],[3,3],[1,3],[1,1]]]")
    assert meets("disjoint", "Polygon", "[[[5,5],[6,5],[6,6],[5,5]]]")
    assert meets("equals", "Polygon", "[[[0,0],[0,2],[2,2],[2,0],[0,0]]]")  # the other way round
    # About 11 km from the square's edge at the equator: near within 20 km, not 5 km.
    assert meets("near;maxDistance==20000", "Point", "[2.1,1]")
    assert not meets("near;maxDistance==5000", "Point", "[2.1,1]")
    assert read_geometry({"type": "Polygon", "coordinates": []}) is None
    assert read_geometry({"type": "Point", "coordinates": [1, 95]}) is None


def test_q_reads_languages_linked_entities_and_relationships_as_the_standard_says() -> None:
    """ETSI GS CIM 009 4.9: color[en] is one language of a LanguageProperty, color[*]
    any of them (and != none of them); managedBy{[Type:]name} reads the entity the
    Relationship points at; a Relationship compares only with == and !=."""
    from urbanpulse.ngsi.documents import select_documents

    tower = {"id": "urn:ngsi-ld:Building:pisa", "type": "Building",
             "name": {"type": "Property", "value": "Pisa Tower"}}  # fmt: skip
    house = {
        "id": "urn:ngsi-ld:Building:house",
        "type": "Building",
        "color": {"type": "LanguageProperty", "languageMap": {"en": "red", "fr": "rouge"}},
        "managedBy": {"type": "Relationship", "object": tower["id"]},
        "address": {"type": "Property", "value": {"city": "Berlin"}},
    }
    documents = {e["id"]: e for e in (tower, house)}

    def ids(q: str) -> list[str]:
        query = build_entity_query(type="Building", q=q, linked_depth=1)  # as with a join
        return [e["id"] for e in select_documents(documents, query)]

    house_only = [house["id"]]
    assert ids('color[en]=="red"') == house_only and ids('color[en]=="rouge"') == []
    assert ids('color[*]=="rouge"') == house_only and ids('color[*]!="red"') == []
    assert ids('color[*]!="rot"') == house_only and ids("color[de]") == []
    assert ids('managedBy{name}=="Pisa Tower"') == house_only
    assert ids('managedBy{Building:name}=="Pisa Tower"') == house_only
    assert ids('managedBy{Vehicle:name}=="Pisa Tower"') == []
    assert ids(f'managedBy=="{tower["id"]}"') == house_only
    assert ids('managedBy>"urn:a"') == [] and ids('managedBy~=".*pisa"') == []
    assert ids('address[city]=="Berlin"') == house_only and ids('address[postcode]=="x"') == []
    for bad in ('managedBy{name=="x"', 'managedBy{Building:}=="x"'):
        with pytest.raises(InvalidQueryError):
            build_entity_query(type="Building", q=bad, linked_depth=1)
    # Linked entities are read as deep as the request's join reads them (5.7.2.4).
    with pytest.raises(InvalidQueryError, match="join"):
        build_entity_query(type="Building", q='managedBy{name}=="Pisa Tower"')
