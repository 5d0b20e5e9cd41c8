"""The one vocabulary between UrbanPulse and NGSI-LD: site kinds to Smart Data Models
entity types, lake metrics to their attributes, and lake units to UN/CEFACT codes.

Both directions use it: the NGSI-LD API names a site's latest values by these
attributes, and inbound NGSI-LD fragments are mapped back to metric codes with
:func:`get_metric_for_attribute`.

========================= ================== ======================== =========
entity type               site kinds         attribute <- metric      unitCode
========================= ================== ======================== =========
TrafficFlowObserved       road_sensor        intensity <- flow        C62
                                             averageVehicleSpeed      KMH
                                             <- speed (mph converted)
                                             occupancy <- occupancy   C62
AirQualityObserved        air_monitor        pm25, pm10, no2, so2,    GQ
                                             co, o3 <- same codes
                                             temperature <- temp      CEL
                                             pressure <- pres         A97
                                             precipitation <- rain    MMT
                                             windSpeed <- wspm        MTS
                                             relativeHumidity <- rh   C62
CrowdFlowObserved         metro_station,     peopleCount <- boardings C62
                          bus_stop,          (or entries, passengers)
                          rail_station,      occupancy <- load        C62
                          counter
GtfsStop                  metro_station,     (static: name, location)
                          bus_stop,
                          rail_station
========================= ================== ======================== =========

``occupancy`` of CrowdFlowObserved is, in the model, the share of time a person
occupies a walkway; UrbanPulse publishes there the share of a station's capacity in
use (``load``), the closest meaning the model offers for crowding. The model bounds it
at 1: a station loaded past its capacity is published full (1) and ``congested``;
the measured load stays readable at /api/sites/{site_id}/observations.

Each direction's load (``load_up``, ``load_down``: :data:`UNPUBLISHED_METRICS`) is not
published: the model gives an entity one ``occupancy`` and one ``direction``, and the
busier direction's load is what ``occupancy`` carries. The directions stay readable at
/api/sites/{site_id}/observations.
"""

from __future__ import annotations

from dataclasses import dataclass, field

TRAFFIC_FLOW = "TrafficFlowObserved"
AIR_QUALITY = "AirQualityObserved"
CROWD_FLOW = "CrowdFlowObserved"
GTFS_STOP = "GtfsStop"

ENTITY_TYPES: tuple[str, ...] = (TRAFFIC_FLOW, AIR_QUALITY, CROWD_FLOW, GTFS_STOP)

# Smart Data Models subject (GitHub repository dataModel.<subject>) of each type.
SUBJECTS: dict[str, str] = {
    TRAFFIC_FLOW: "Transportation",
    AIR_QUALITY: "Environment",
    CROWD_FLOW: "Transportation",
    GTFS_STOP: "UrbanMobility",
}

CORE_CONTEXT = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld"
SDM_CONTEXT = "https://smartdatamodels.org/context.jsonld"
CONTEXT: list[str] = [SDM_CONTEXT, CORE_CONTEXT]

URN_PREFIX = "urn:ngsi-ld:"


@dataclass(frozen=True)
class Attribute:
    """One observed attribute of an entity type and the lake metric(s) behind it.

    ``metrics`` lists the lake metric codes published as this attribute, the first
    being the one an inbound value is stored as. ``factors`` converts a value in a
    lake unit to the attribute's ``unit_code`` (a unit missing from it is published
    as stored, without a unitCode); ``maximum`` caps published values at the model's
    bound.
    """

    name: str
    metrics: tuple[str, ...]
    unit_code: str | None = None
    factors: dict[str, float] = field(default_factory=dict)
    maximum: float | None = None


_COUNT = {"": 1.0, "vehicles": 1.0, "passengers": 1.0, "people": 1.0, "count": 1.0}
# A count per observation period ("passengers/10min", "taps/15min"): each row is one
# period, whatever its length, so only the part before the slash names the unit.
_PEOPLE = _COUNT | {"taps": 1.0, "persons": 1.0}
_SHARE = {"": 1.0, "share": 1.0, "share of capacity": 1.0, "fraction": 1.0, "ratio": 1.0}
_UGM3 = {"ug/m3": 1.0, "µg/m3": 1.0, "μg/m3": 1.0, "µg/m³": 1.0, "mg/m3": 1000.0}

ATTRIBUTES: dict[str, tuple[Attribute, ...]] = {
    TRAFFIC_FLOW: (
        Attribute("intensity", ("flow",), "C62", _COUNT),
        Attribute("averageVehicleSpeed", ("speed",), "KMH", {"km/h": 1.0, "mph": 1.609344}),
        Attribute("occupancy", ("occupancy",), "C62", _SHARE | {"%": 0.01}),
    ),
    AIR_QUALITY: (
        Attribute("pm25", ("pm25",), "GQ", _UGM3),
        Attribute("pm10", ("pm10",), "GQ", _UGM3),
        Attribute("no2", ("no2",), "GQ", _UGM3),
        Attribute("so2", ("so2",), "GQ", _UGM3),
        Attribute("co", ("co",), "GQ", _UGM3),
        Attribute("o3", ("o3",), "GQ", _UGM3),
        Attribute("temperature", ("temp",), "CEL", {"degC": 1.0, "°C": 1.0}),
        Attribute("pressure", ("pres",), "A97", {"hPa": 1.0}),
        Attribute("precipitation", ("rain",), "MMT", {"mm": 1.0}),
        Attribute("windSpeed", ("wspm",), "MTS", {"m/s": 1.0}),
        Attribute("relativeHumidity", ("rh",), "C62", _SHARE | {"%": 0.01}),
    ),
    CROWD_FLOW: (
        Attribute("peopleCount", ("boardings", "entries", "passengers"), "C62", _PEOPLE),
        Attribute("occupancy", ("load",), "C62", _SHARE, maximum=1.0),
    ),
    GTFS_STOP: (),
}

# Metrics of the lake no attribute publishes, and why (see the module's docstring).
UNPUBLISHED_METRICS: dict[str, str] = {
    "load_up": "one occupancy per entity: the busier direction's load",
    "load_down": "one occupancy per entity: the busier direction's load",
}

# Entity types a site of each kind is published as (static first, observed after).
KIND_TYPES: dict[str, tuple[str, ...]] = {
    "road_sensor": (TRAFFIC_FLOW,),
    "air_monitor": (AIR_QUALITY,),
    "metro_station": (GTFS_STOP, CROWD_FLOW),
    "bus_stop": (GTFS_STOP, CROWD_FLOW),
    "rail_station": (GTFS_STOP, CROWD_FLOW),
    "counter": (CROWD_FLOW,),
}


def get_metric_for_attribute(entity_type: str, attribute: str) -> str | None:
    """The lake metric code an attribute of ``entity_type`` is stored as, or None.

    >>> get_metric_for_attribute("TrafficFlowObserved", "averageVehicleSpeed")
    'speed'
    """
    found = get_attribute(entity_type, attribute)
    return found.metrics[0] if found else None


def get_attribute(entity_type: str, attribute: str) -> Attribute | None:
    """The :class:`Attribute` called ``attribute`` in ``entity_type``, or None."""
    return next((a for a in ATTRIBUTES.get(entity_type, ()) if a.name == attribute), None)


def get_attribute_for_metric(entity_type: str, metric: str) -> Attribute | None:
    """The attribute of ``entity_type`` that publishes lake metric ``metric``, or None."""
    return next((a for a in ATTRIBUTES.get(entity_type, ()) if metric in a.metrics), None)


def get_entity_types(kind: str) -> tuple[str, ...]:
    """The entity types a site of ``kind`` is published as (none for 'other')."""
    return KIND_TYPES.get(kind, ())


def get_kinds(entity_type: str) -> tuple[str, ...]:
    """The site kinds published as ``entity_type``."""
    return tuple(k for k, types in KIND_TYPES.items() if entity_type in types)


def get_metrics(entity_type: str) -> tuple[str, ...]:
    """Every lake metric an entity type publishes."""
    return tuple(m for a in ATTRIBUTES.get(entity_type, ()) for m in a.metrics)


def get_unit_factor(attribute: Attribute, unit: str | None) -> float | None:
    """Factor from a lake ``unit`` to the attribute's unitCode; None when unknown.

    A count per period (``passengers/10min``) is known by its part before the slash.
    """
    unit = (unit or "").strip()
    found = attribute.factors.get(unit)
    if found is None and attribute.factors is _PEOPLE:
        found = _PEOPLE.get(unit.split("/", 1)[0])
    return found


def build_entity_id(entity_type: str, site_id: str) -> str:
    """``urn:ngsi-ld:<type>:<site_id>``."""
    return f"{URN_PREFIX}{entity_type}:{site_id}"


def parse_entity_id(entity_id: str) -> tuple[str, str] | None:
    """(entity type, site id) of an UrbanPulse entity URN, or None if not one."""
    if not entity_id.startswith(URN_PREFIX):
        return None
    entity_type, sep, site_id = entity_id[len(URN_PREFIX) :].partition(":")
    if not sep or not site_id or entity_type not in ENTITY_TYPES:
        return None
    return entity_type, site_id
