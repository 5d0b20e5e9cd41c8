"""Sites and their latest observations as NGSI-LD entities of Smart Data Models types.

A site is published as each type its kind maps to (:data:`vocabulary.KIND_TYPES`): a
metro station is a ``GtfsStop`` (where it is) and a ``CrowdFlowObserved`` (how many
board, how full it is). An observed attribute holds the site's latest value within
:data:`LOOKBACK` of the newest observation of its metric in the lake, so a sensor
that went silent shows no stale value.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd

from urbanpulse.catalog import get_city
from urbanpulse.errors import NotFoundError
from urbanpulse.ngsi.contexts import Terms
from urbanpulse.ngsi.documents import (
    drop_expired,
    find_transient,
    read_documents,
    render_document,
    select_documents,
)
from urbanpulse.ngsi.geo import match_geo
from urbanpulse.ngsi.query import MISSING, EntityQuery, Order, match_q, sort_entities
from urbanpulse.ngsi.vocabulary import (
    ATTRIBUTES,
    CONTEXT,
    CORE_CONTEXT,
    CROWD_FLOW,
    ENTITY_TYPES,
    GTFS_STOP,
    Attribute,
    build_entity_id,
    get_entity_types,
    get_kinds,
    get_unit_factor,
    parse_entity_id,
)
from urbanpulse.store import Lake, get_metrics, get_observation_coverage, read_sites
from urbanpulse.store.cache import read_cached
from urbanpulse.store.interface import Engine

LOOKBACK = timedelta(days=2)
# The key of a site's attributes JSON holding the context attributes a writer gave its
# entity (urbanpulse.stream.provision), published back as they were sent.
CONTEXT_KEY = "ngsi_ld"
DATA_PROVIDER = "UrbanPulse"


@dataclass(frozen=True)
class Instance:
    """One attribute value: converted to the attribute's unit, with its time (UTC)."""

    value: float
    observed_at: datetime
    unit_code: str | None


@dataclass
class EntityRecord:
    """What an entity is built from: its site and its latest observed values."""

    entity_type: str
    site: dict[str, Any]
    latest: dict[str, Instance] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return build_entity_id(self.entity_type, self.site["site_id"])


@dataclass(frozen=True)
class EntityPage:
    """One page of entities and how many matched in all."""

    entities: list[dict[str, Any]]
    total: int


def read_entities(
    lake: Lake,
    query: EntityQuery,
    *,
    region: str,
    offset: int = 0,
    limit: int = 20,
    key_values: bool = False,
    with_context: bool = False,
    with_latest: bool = True,
    sys_attrs: bool = False,
    order: Order = (),
    engine: Engine,
) -> EntityPage:
    """The entities ``query`` selects, ordered by id, one page of them; without
    ``with_latest`` (a caller the data policy shows no newest value), sites only;
    ``sys_attrs``: context entities with their createdAt and modifiedAt; ``order``
    (:func:`~urbanpulse.ngsi.query.parse_order`) orders them, else by id.

    Returns
    -------
    EntityPage
        ``entities`` in the NGSI-LD normalized form (or keyValues), ``total`` matched.
    """
    records: list[EntityRecord | dict[str, Any]] = []
    records += select_records(lake, query, region=region, latest=with_latest, engine=engine)
    records += select_documents(read_current_documents(lake), query)
    records.sort(key=lambda r: r.id if isinstance(r, EntityRecord) else str(r["id"]))
    if order:  # every entity's members are needed to order them: rendered first
        ordered = sort_entities([_render_record(r, query.attrs, False, False, True) for r in records], order)  # fmt: skip
        by_id = {r.id if isinstance(r, EntityRecord) else str(r["id"]): r for r in records}
        records = [by_id[e["id"]] for e in ordered]
    page = records[offset : offset + limit]
    terms = query.terms
    entities = [_render_record(r, query.attrs, key_values, with_context, sys_attrs, terms) for r in page]  # fmt: skip
    return EntityPage(entities, len(records))


def _render_record(
    record: EntityRecord | dict[str, Any], attrs: tuple[str, ...], key_values: bool,
    with_context: bool, sys_attrs: bool, terms: Terms | None = None,
) -> dict[str, Any]:  # fmt: skip
    if isinstance(record, EntityRecord):
        return render_entity(record, attrs=attrs, key_values=key_values, with_context=with_context)  # fmt: skip
    return _render_document(
        record, attrs=attrs, key_values=key_values, with_context=with_context,
        sys_attrs=sys_attrs, terms=terms,
    )  # fmt: skip


def read_entity(
    lake: Lake,
    entity_id: str,
    *,
    region: str,
    attrs: tuple[str, ...] = (),
    key_values: bool = False,
    with_context: bool = False,
    with_latest: bool = True,
    sys_attrs: bool = False,
    terms: Terms | None = None,
    engine: Engine,
) -> dict[str, Any]:
    """One entity by its URN (its newest values only ``with_latest``; a context
    entity's createdAt and modifiedAt with ``sys_attrs``, its names in the request's
    @context with ``terms``).

    Raises
    ------
    NotFoundError
        When no site is published under ``entity_id``.
    """
    query = EntityQuery(ids=(entity_id,))
    records = select_records(lake, query, region=region, latest=with_latest, engine=engine)
    if records:
        return render_entity(records[0], attrs=attrs, key_values=key_values, with_context=with_context)  # fmt: skip
    documents = select_documents(read_current_documents(lake), query)
    if documents:
        return _render_document(
            documents[0], attrs=attrs, key_values=key_values, with_context=with_context,
            sys_attrs=sys_attrs, terms=terms,
        )  # fmt: skip
    raise NotFoundError(f"no entity {entity_id!r}")


def read_current_documents(lake: Lake) -> dict[str, dict[str, Any]]:
    """The context entities in force, read once per lake version (as the sites are),
    without the transient ones and attribute instances whose expiresAt has passed
    (ETSI GS CIM 009 4.22: they are gone at that instant, whatever wrote them)."""
    documents = read_cached(lake, "ngsi documents", build=lambda: read_documents(lake))
    transient = read_cached(lake, "ngsi transient", build=lambda: find_transient(documents))
    if not transient:
        return documents
    now = datetime.now(UTC)
    current = {i: drop_expired(e, now) if i in transient else e for i, e in documents.items()}
    return {i: e for i, e in current.items() if e is not None}


def _render_document(
    entity: dict[str, Any], *, attrs: tuple[str, ...], key_values: bool, with_context: bool,
    sys_attrs: bool = False, terms: Terms | None = None,
) -> dict[str, Any]:  # fmt: skip
    rendered = render_document(
        entity, attrs=attrs, key_values=key_values, sys_attrs=sys_attrs, terms=terms
    )
    if with_context:
        # The context its names are given in: the request's, else the one it was written
        # in; without either, NGSI-LD's core context (its default vocabulary).
        context = terms.context if terms else entity.get("@context")
        rendered["@context"] = context or CORE_CONTEXT
    return rendered


def select_records(
    lake: Lake, query: EntityQuery, *, region: str, latest: bool, engine: Engine
) -> list[EntityRecord]:
    """Entity records matching ``query`` (q only when ``latest``), ordered by id; with
    ``latest``, each holds its site's latest values, read by ``engine`` (the
    one the settings name)."""
    wanted_types = _get_types(query)
    sites = _read_sites(lake, wanted_types)
    records: list[EntityRecord] = []
    for entity_type in wanted_types:
        kinds = get_kinds(entity_type)
        for site in sites:
            if site["kind"] in kinds:
                records.append(EntityRecord(entity_type, dict(site)))
    records = [r for r in records if _match_static(r, query)]
    for record in records:
        record.site["area_served"] = _get_city_name(record.site.get("city_code"), region)
    if latest:
        _add_latest(lake, records, engine)
        if query.q is not None:
            q = query.q
            records = [r for r in records if match_q(q, _getter(r))]
        if query.attrs:
            records = [r for r in records if any(_has(r, a) for a in query.attrs)]
    return sorted(records, key=lambda r: r.id)


def render_entity(
    record: EntityRecord,
    *,
    attrs: tuple[str, ...] = (),
    key_values: bool = False,
    with_context: bool = False,
) -> dict[str, Any]:
    """The entity in NGSI-LD normalized form, or keyValues (simplified) form.

    Normalized attributes are ``{"type": "Property", "value": ...}`` (with
    ``observedAt`` and ``unitCode`` for observations), ``GeoProperty`` for location
    and ``Relationship`` with ``object`` for links to other entities.
    """
    entity: dict[str, Any] = {"id": record.id, "type": record.entity_type}
    for name, attribute in _build_attributes(record).items():
        if attrs and name not in attrs:
            continue
        entity[name] = _simplify(attribute) if key_values else attribute
    if with_context:
        entity["@context"] = CONTEXT
    return entity


def format_time(ts: datetime | pd.Timestamp) -> str:
    """An instant as NGSI-LD writes it: ISO 8601 in UTC with a ``Z``."""
    stamp = pd.Timestamp(ts)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.strftime("%Y-%m-%dT%H:%M:%S") + (
        f".{stamp.microsecond:06d}Z" if stamp.microsecond else "Z"
    )


def convert_value(attribute: Attribute, value: float, unit: str | None) -> float | None:
    """A stored value in the attribute's unit (as stored when the unit is unknown),
    capped at the model's maximum; counts are whole numbers, as the models want them.
    None for NaN."""
    if value is None or math.isnan(value):
        return None
    factor = get_unit_factor(attribute, unit)
    converted = value * (factor if factor is not None else 1.0)
    if attribute.maximum is not None:
        converted = min(converted, attribute.maximum)
    if attribute.unit_code == "C62" and attribute.name in ("peopleCount", "intensity"):
        return float(round(converted))
    return converted


def get_unit_code(attribute: Attribute, unit: str | None) -> str | None:
    """The UN/CEFACT code of a value stored in ``unit``; None when it is not known."""
    return attribute.unit_code if get_unit_factor(attribute, unit) is not None else None


def _get_types(query: EntityQuery) -> tuple[str, ...]:
    types = set(query.types or ENTITY_TYPES)
    if query.ids:  # an id names its type: read only the sites it can be
        types &= {parsed[0] for i in query.ids if (parsed := parse_entity_id(i))}
    return tuple(t for t in ENTITY_TYPES if t in types)


def _read_sites(lake: Lake, types: Iterable[str]) -> list[dict[str, Any]]:
    kinds = {k for t in types for k in get_kinds(t)}
    every = read_cached(lake, "ngsi sites", build=lambda: _read_site_rows(lake))
    return [site for site in every if site["kind"] in kinds]


def _read_site_rows(lake: Lake) -> list[dict[str, Any]]:
    table = read_sites(lake)
    table = table.astype(object).where(table.notna(), None)
    return [dict(row) for row in table.to_dict("records")]


def _match_static(record: EntityRecord, query: EntityQuery) -> bool:
    if query.scopes:  # a site has no scope
        return False
    if query.ids and record.id not in query.ids:
        return False
    if query.id_pattern is not None and not query.id_pattern.search(record.id):
        return False
    if query.geo is not None:  # a site has one GeoProperty, its location
        located = query.geo.geoproperty == "location"
        return located and match_geo(query.geo, record.site.get("lon"), record.site.get("lat"))
    return True


def _has(record: EntityRecord, attribute: str) -> bool:
    return attribute in _build_attributes(record)


def _getter(record: EntityRecord) -> Any:
    attributes = _build_attributes(record)

    def get(path: tuple[str, ...]) -> Any:
        found = attributes.get(path[0])
        if found is None:
            return MISSING
        if len(path) == 1:
            return found.get("value", found.get("object", MISSING))
        return found.get(path[1], MISSING) if len(path) == 2 else MISSING

    return get


def _build_attributes(record: EntityRecord) -> dict[str, dict[str, Any]]:
    site = record.site
    names = [n for n in (site.get("name_en"), site.get("name_zh")) if n]
    attributes: dict[str, dict[str, Any]] = {
        "name": _property(names[0] if names else site["site_id"]),
    }
    if len(names) == 2 and names[0] != names[1]:
        attributes["alternateName"] = _property(names[1])
    if site.get("lat") is not None and site.get("lon") is not None:
        point = {"type": "Point", "coordinates": [float(site["lon"]), float(site["lat"])]}
        attributes["location"] = {"type": "GeoProperty", "value": point}
    for name, attribute in read_site_context(site).items():
        attributes.setdefault(name, attribute)
    if site.get("area_served"):
        attributes["areaServed"] = _property(site["area_served"])
    attributes["dataProvider"] = _property(DATA_PROVIDER)
    attributes["synthetic"] = _property(bool(site.get("synthetic")))
    if record.entity_type == CROWD_FLOW and GTFS_STOP in get_entity_types(site["kind"]):
        stop = build_entity_id(GTFS_STOP, site["site_id"])
        attributes["hasStop"] = {"type": "Relationship", "object": stop}
    if record.latest:
        newest = max(i.observed_at for i in record.latest.values())
        attributes["dateObserved"] = _property(format_time(newest))
    for name, instance in sorted(record.latest.items()):
        attributes[name] = _observed(name, instance)
        if record.entity_type == CROWD_FLOW and name == "occupancy":
            # Occupancy is capped at 1 (vocabulary); at the cap the station is congested.
            attributes["congested"] = _property(instance.value >= 1.0)
    return attributes


def read_site_context(site: dict[str, Any] | None) -> dict[str, Any]:
    """The context attributes provisioned with a site's entity (none for most sites)."""
    raw = (site or {}).get("attributes")
    if not raw:
        return {}
    context = (json.loads(raw) if isinstance(raw, str) else raw).get(CONTEXT_KEY, {})
    return dict(context) if isinstance(context, dict) else {}


def _property(value: Any) -> dict[str, Any]:
    return {"type": "Property", "value": value}


def _observed(name: str, instance: Instance) -> dict[str, Any]:
    value: float | int = instance.value
    if name == "peopleCount":
        value = int(instance.value)
    found: dict[str, Any] = {
        "type": "Property",
        "value": value,
        "observedAt": format_time(instance.observed_at),
    }
    if instance.unit_code:
        found["unitCode"] = instance.unit_code
    return found


def _simplify(attribute: dict[str, Any]) -> Any:
    if attribute["type"] == "Relationship":
        return attribute["object"]
    return attribute["value"]


def _get_city_name(code: str | None, region: str) -> str | None:
    if not code:
        return None
    try:
        return get_city(code, region).name_en
    except NotFoundError:
        return None


def _add_latest(lake: Lake, records: list[EntityRecord], engine: Engine) -> None:
    by_type: dict[str, list[EntityRecord]] = {}
    for record in records:
        by_type.setdefault(record.entity_type, []).append(record)
    for entity_type, group in by_type.items():
        if not ATTRIBUTES[entity_type]:
            continue
        latest = _get_latest(lake, entity_type, engine)
        for record in group:
            record.latest = dict(latest.get(record.site["site_id"], {}))


def _get_latest(lake: Lake, entity_type: str, engine: Engine) -> dict[str, dict[str, Instance]]:
    return read_cached(
        lake, "ngsi latest", entity_type, engine.name,
        build=lambda: _read_latest(lake, entity_type, engine),
    )  # fmt: skip


def _read_latest(lake: Lake, entity_type: str, engine: Engine) -> dict[str, dict[str, Instance]]:
    """Site id -> attribute -> its latest instance, read per metric through the store's
    engine, pushed down to the type's sites and the last :data:`LOOKBACK`."""
    stored = set(get_metrics(lake))
    site_ids = [s["site_id"] for s in _read_sites(lake, [entity_type])]
    found: dict[str, dict[str, Instance]] = {}
    if not site_ids:
        return found
    for attribute in ATTRIBUTES[entity_type]:
        for metric in attribute.metrics:
            if metric not in stored:
                continue
            last_ts = get_observation_coverage(lake, metric)["last_ts"]
            if last_ts is None:
                continue
            end = pd.Timestamp(last_ts) + pd.Timedelta(microseconds=1)
            table = engine.read_observations(
                lake, metric, site_ids=site_ids, start=end - LOOKBACK, end=end
            )
            rows = table.to_pandas()
            rows = rows[rows["value"].notna()].groupby("site_id", sort=False).tail(1)
            for row in rows.itertuples(index=False):
                value = convert_value(attribute, float(row.value), row.unit)
                if value is None:
                    continue
                instance = Instance(value, row.ts, get_unit_code(attribute, row.unit))
                current = found.setdefault(str(row.site_id), {}).get(attribute.name)
                if current is None or current.observed_at < instance.observed_at:
                    found[str(row.site_id)][attribute.name] = instance
    return found
