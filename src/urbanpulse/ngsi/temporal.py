"""The NGSI-LD temporal representation of entities over the lake's history.

``timerel=before|after|between`` with ``timeAt`` (and ``endTimeAt``) bounds the
instants; ``lastN`` keeps the last N instances of each attribute; ``temporalValues``
gives the simplified form (``"values": [[value, observedAt], ...]``). Every read goes
through the store's engine (``Engine.read_observations``, DuckDB or Spark as the
settings say), one read per metric for the page's sites, pushed down by site, metric
and time range.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from urbanpulse.errors import InvalidQueryError
from urbanpulse.ngsi.aggregation import Aggregation, Window, aggregate
from urbanpulse.ngsi.contexts import Terms
from urbanpulse.ngsi.documents import (
    CORE_MEMBERS,
    WRAPPED_MEMBERS,
    get_asked_names,
    get_own_names,
    get_q_reader,
)
from urbanpulse.ngsi.entities import (
    LOOKBACK,
    EntityRecord,
    format_time,
    get_unit_code,
    select_records,
)
from urbanpulse.ngsi.geo import match_geometry, read_geometry
from urbanpulse.ngsi.history import EntityHistory, read_histories, select_histories
from urbanpulse.ngsi.query import EntityQuery, match_q, match_scopes
from urbanpulse.ngsi.validation import URI, parse_utc_time
from urbanpulse.ngsi.vocabulary import (
    ATTRIBUTES,
    CONTEXT,
    CORE_CONTEXT,
    Attribute,
    get_unit_factor,
    parse_entity_id,
)
from urbanpulse.store import Lake, get_metrics, get_observation_coverage
from urbanpulse.store.cache import read_cached
from urbanpulse.store.interface import Engine

TIMERELS = ("before", "after", "between")
NO_DATASET = "@none"  # the default instance of an attribute, in a datasetId list
TIME_PROPERTIES = ("observedAt", "createdAt", "modifiedAt")
# Instances of one attribute in one response, unless the settings say otherwise
# (ngsi_temporal_instance_limit); more are cut and the response says so (206 Partial
# Content with the range returned, ETSI GS CIM 009 6.3.10).
MAX_INSTANCES = 1000


@dataclass(frozen=True)
class TemporalQuery:
    """A parsed temporal query: relation, instants (UTC) and lastN."""

    timerel: str | None = None
    time_at: datetime | None = None
    end_time_at: datetime | None = None
    last_n: int | None = None
    # Only the instances of these datasets (None: every instance; NO_DATASET names the
    # default instance, the one without a datasetId).
    dataset_ids: frozenset[str] | None = None
    # The time the window is read on: when observed, or (context entities only) when
    # each instance was first written or last changed.
    time_property: str = "observedAt"

    def has_dataset(self, dataset_id: str | None) -> bool:
        """Whether the query keeps instances of ``dataset_id`` (None: the default)."""
        wanted = self.dataset_ids
        return wanted is None or (dataset_id or NO_DATASET) in wanted

    @property
    def start(self) -> datetime | None:
        """First instant read (inclusive)."""
        return self.time_at if self.timerel in ("after", "between") else None

    @property
    def end(self) -> datetime | None:
        """Instant reads stop before (exclusive)."""
        return {"before": self.time_at, "between": self.end_time_at}.get(self.timerel or "")


@dataclass(frozen=True)
class InstantRange:
    """The instants a cut temporal answer holds, as its Content-Range names them:
    ``start`` is where the answer begins reading (the oldest instant, or the query's
    lower bound; for lastN the newest, or the upper bound) and ``end`` the last instant
    it holds; ``size`` is lastN (None: ``*``, not known)."""

    start: datetime
    end: datetime
    size: int | None

    @property
    def bounds(self) -> tuple[datetime, datetime]:
        """The range's earliest and latest instant (both held)."""
        low, high = sorted((self.start, self.end))
        return low, high

    def holds(self, moment: datetime) -> bool:
        low, high = self.bounds
        return low <= moment <= high

    def to_header(self) -> str:
        """The Content-Range header's value."""
        size = "*" if self.size is None else str(self.size)
        return f"date-time {format_time(self.start)}-{format_time(self.end)}/{size}"


@dataclass(frozen=True)
class TemporalPage:
    """A page of temporal entities, how many matched, and the instants returned when
    some attribute had more instances than one answer holds (None when nothing was
    cut)."""

    entities: list[dict[str, Any]]
    total: int
    cut_range: InstantRange | None = None


def build_temporal_query(
    *,
    timerel: str | None = None,
    time_at: str | None = None,
    end_time_at: str | None = None,
    last_n: str | None = None,
    dataset_id: str | None = None,
    time_property: str | None = None,
) -> TemporalQuery:
    """Parse ``timerel``, ``timeAt``, ``endTimeAt``, ``lastN`` and ``datasetId`` (a
    comma-separated list of dataset URIs, ``@none`` for the default instances).

    Raises
    ------
    InvalidQueryError
        With one line naming the parameter and what is wrong with it.
    """
    n = _parse_last_n(last_n)
    datasets = parse_dataset_ids(dataset_id)
    prop = time_property or "observedAt"
    if prop not in TIME_PROPERTIES:
        raise InvalidQueryError(f"timeproperty {prop!r}: use one of {', '.join(TIME_PROPERTIES)}")
    if timerel is None:
        if time_at or end_time_at:
            raise InvalidQueryError("timeAt needs timerel (before, after or between)")
        return TemporalQuery(last_n=n, dataset_ids=datasets, time_property=prop)
    if timerel not in TIMERELS:
        raise InvalidQueryError(f"timerel {timerel!r}: use one of {', '.join(TIMERELS)}")
    if not time_at:
        raise InvalidQueryError(f"timerel={timerel} needs timeAt")
    start = _parse_time(time_at, "timeAt")
    end = None
    if timerel == "between":
        if not end_time_at:
            raise InvalidQueryError("timerel=between needs endTimeAt")
        end = _parse_time(end_time_at, "endTimeAt")
        if end <= start:
            raise InvalidQueryError(f"endTimeAt {end_time_at} is not after timeAt {time_at}")
    elif end_time_at:
        raise InvalidQueryError(f"endTimeAt is only for timerel=between, not {timerel}")
    return TemporalQuery(timerel, start, end, n, datasets, prop)


def parse_dataset_ids(text: str | None) -> frozenset[str] | None:
    """A ``datasetId`` parameter: dataset URIs, ``@none`` for the default instances;
    None when it is not given."""
    if text is None:
        return None
    ids = [part.strip() for part in text.split(",")]
    bad = [i for i in ids if i != NO_DATASET and not URI.match(i)]
    if not ids or bad:
        raise InvalidQueryError(f"datasetId {text!r}: a comma-separated list of dataset URIs or {NO_DATASET}")  # fmt: skip
    return frozenset(ids)


def read_temporal_entities(
    lake: Lake,
    query: EntityQuery,
    temporal: TemporalQuery,
    *,
    region: str,
    offset: int = 0,
    limit: int = 20,
    temporal_values: bool = False,
    with_context: bool = False,
    descending: bool = False,
    retrieve: bool = False,
    sys_attrs: bool = False,
    instance_limit: int = MAX_INSTANCES,
    within: InstantRange | None = None,
    aggregation: Aggregation | None = None,
    engine: Engine,
) -> TemporalPage:
    """The temporal evolution of the entities ``query`` selects, one page of them, in
    the order of their ids (``descending``: from the last). A query's datasetId leaves
    out the entities it leaves no attribute instance of, unless one entity is
    ``retrieve``-d by its id. When an attribute has more than ``instance_limit``
    instances the page holds only the instants of :func:`find_cut`'s range, and says
    which (an attribute left without any in it stays, empty); ``within``: that range
    is given (several queries answered as one, :func:`join_cuts`). With an
    ``aggregation`` each attribute is summed up per period (the aggregated temporal
    representation, :mod:`urbanpulse.ngsi.aggregation`) instead of listed.

    ``q`` is not supported here (it filters on latest values, not on history).

    Returns
    -------
    TemporalPage
        ``entities`` with one array of instances per observed attribute.
    """
    records: list[EntityRecord | EntityHistory] = []
    sited = temporal.time_property == "observedAt"  # a site's readings: when observed only
    if not sited and retrieve and any(parse_entity_id(i) for i in query.ids):
        raise InvalidQueryError(f"timeproperty={temporal.time_property}: a site's history is its observations, read by observedAt")  # fmt: skip
    if sited and (retrieve or temporal.has_dataset(None)):  # and default instances
        records += select_records(
            lake, replace(query, q=None), region=region, latest=False, engine=engine
        )
    if query.q is not None and records:
        raise InvalidQueryError(
            "q over a site's history is not supported; select sites with type, id, "
            "idPattern, attrs or georel"
        )
    scoped: dict[str, list[ScopeSpell]] = {}
    # The context entities' histories: a geo-query is judged on the window's places.
    selected = select_histories(read_current_histories(lake), query)
    if query.geo is not None:
        selected = [h for h in selected if _was_located(h, query, temporal)]
    if query.scopes:
        scoped = select_scoped(selected, query.scopes, temporal)
        selected = [h for h in selected if h.entity_id in scoped]
    if temporal.dataset_ids is not None and not retrieve:
        selected = [h for h in selected if _has_dataset(h, query, temporal)]
    if temporal.timerel is not None and not retrieve:  # nothing in the window: no answer
        selected = [h for h in selected if _has_instant_in(h, query, temporal)]
    records += [h for h in selected if query.q is None or _ever_matches(h, query, temporal)]
    records.sort(
        key=lambda r: r.id if isinstance(r, EntityRecord) else r.entity_id, reverse=descending
    )
    page = records[offset : offset + limit]
    sites = [r for r in page if isinstance(r, EntityRecord)]
    histories = _read_histories(lake, engine, sites, query.attrs, temporal, instance_limit)
    chosen: dict[str, dict[str, list[dict[str, Any]]]] = {}
    series: list[list[datetime]] = []  # each attribute's instants, for the cut
    for record in page:
        if isinstance(record, EntityHistory):
            spells = scoped.get(record.entity_id) if query.scopes else None
            found = choose_instances(record, query.attrs, temporal, spells, query.terms, sys_attrs)  # fmt: skip
            chosen[record.entity_id] = found
            for instances in found.values():
                times = (_read_time(record, i, temporal) for i in instances)
                series.append([t for t in times if t is not None])
    series += [list(frame["ts"]) for frames in histories.values() for frame in frames.values()]
    cut = within or find_cut(series, temporal, instance_limit)
    entities = []
    for record in page:
        if isinstance(record, EntityHistory):
            entities.append(render_instances(record, chosen[record.entity_id], temporal, temporal_values, with_context, query.terms, cut, aggregation))  # fmt: skip
            continue
        entity: dict[str, Any] = {"id": record.id, "type": record.entity_type}
        frames = {}
        for name, frame in sorted(histories.get(record.site["site_id"], {}).items()):
            # a site's readings are each attribute's default instance
            if record.entity_type in frame.attrs.get("types", ()) and temporal.has_dataset(None):
                frames[name] = frame if cut is None else frame[frame["ts"].between(*cut.bounds)]
        if aggregation is not None:
            timed = {n: (_render_history(f, temporal_values=False), [t.to_pydatetime() for t in f["ts"]]) for n, f in frames.items()}  # fmt: skip
            entity |= _aggregate_entity(timed, temporal, aggregation)
        else:
            entity |= {n: _render_history(f, temporal_values=temporal_values) for n, f in frames.items()}  # fmt: skip
        if with_context:
            entity["@context"] = CONTEXT
        entities.append(entity)
    return TemporalPage(entities, len(records), cut)


def join_cuts(cuts: list[InstantRange]) -> InstantRange:
    """One range for the cuts of several queries read as one answer (a Query body's
    selectors): it starts where the first of them starts reading and ends where the
    first of them ends, so no attribute of any holds more than its limit and nothing
    before the end is missed."""
    if cuts[0].size is not None:  # lastN: read newest first
        return InstantRange(max(c.start for c in cuts), max(c.end for c in cuts), cuts[0].size)
    return InstantRange(min(c.start for c in cuts), min(c.end for c in cuts), None)


def find_cut(
    series: list[list[datetime]], temporal: TemporalQuery, limit: int
) -> InstantRange | None:
    """The instants an answer holds when an attribute has more than ``limit``
    instances (each of ``series`` is one attribute's chosen instants); None when none
    has, or lastN asks for no more than ``limit``.

    Read oldest first, each attribute that has more gives the instants of its first
    ``limit``, and the answer ends where the earliest of them ends, so no attribute
    holds more than ``limit`` and none misses an instance within the range: the next
    page is read from its end. With lastN the same, newest first. The range starts at
    the query's bound on the side it is read from (timeAt for after and between;
    lastN: timeAt for before, endTimeAt for between), else at the first instant read.
    """
    newest_first = temporal.last_n is not None
    if temporal.last_n is not None and temporal.last_n <= limit:
        return None  # lastN is the smaller limit: nothing more to cut
    over = [sorted(s, reverse=newest_first) for s in series if len(s) > limit]
    if not over:
        return None
    firsts, lasts = [s[0] for s in over], [s[limit - 1] for s in over]
    if newest_first:
        bound = {"before": temporal.time_at, "between": temporal.end_time_at}.get(temporal.timerel or "")  # fmt: skip
        return InstantRange(bound or max(firsts), max(lasts), temporal.last_n)
    bound = temporal.time_at if temporal.timerel in ("after", "between") else None
    return InstantRange(bound or min(firsts), min(lasts), None)


def read_current_histories(lake: Lake) -> dict[str, EntityHistory]:
    """The context entities' temporal representations, read once per lake version."""
    return read_cached(lake, "ngsi histories", build=lambda: read_histories(lake))


@dataclass(frozen=True)
class ScopeSpell:
    """A scope instance matching a scopeQ and the time it was valid: from when it was
    set until it was replaced (``until`` None: still valid)."""

    instance: dict[str, Any]
    since: datetime
    until: datetime | None

    def holds_at(self, moment: datetime) -> bool:
        return self.since <= moment and (self.until is None or moment < self.until)


def select_scoped(
    histories: list[EntityHistory],
    scopes: tuple[tuple[tuple[str, ...], ...], ...],
    temporal: TemporalQuery,
) -> dict[str, list[ScopeSpell]]:
    """The histories whose scope matched ``scopes`` while valid within the query's time
    (ETSI GS CIM 009 4.18: a scope is valid from the time it was set until an update
    replaces it), by id, with the spells in which it matched."""
    selected = {}
    for history in histories:
        timed = sorted(
            ((parse_utc_time(i["observedAt"]), k, i)
             for k, i in enumerate(history.attributes.get("scope", []))
             if isinstance(i.get("observedAt"), str)),
            key=lambda step: step[:2],
        )  # fmt: skip
        spells = []
        for k, (since, _, instance) in enumerate(timed):
            until = timed[k + 1][0] if k + 1 < len(timed) else None
            if temporal.end is not None and since >= temporal.end:
                continue  # set only after the window
            if temporal.start is not None and until is not None and until <= temporal.start:
                continue  # replaced before the window
            if match_scopes(scopes, instance.get("value")):
                spells.append(ScopeSpell(instance, since, until))
        if spells:
            selected[history.entity_id] = spells
    return selected


def choose_instances(
    history: EntityHistory,
    attrs: tuple[str, ...],
    temporal: TemporalQuery,
    spells: list[ScopeSpell] | None = None,
    terms: Terms | None = None,
    sys_attrs: bool = False,
) -> dict[str, list[dict[str, Any]]]:
    """A context entity's instances each asked attribute has in the time the query
    names (``lastN``: its newest N), by the entity's own attribute name; attributes
    without one left out. With the ``spells`` of a scopeQ, only instances observed
    while a matching scope held, and those scopes."""
    own_name = get_own_names(terms, history.jsonld_context, history.attributes.keys())
    wanted = {own_name(a) for a in attrs}
    found = {}
    for name, instances in sorted(history.attributes.items()):
        if attrs and name not in wanted:
            continue
        if spells is not None and name == "scope":
            chosen = [spell.instance for spell in spells]  # valid in the window, if set before
        else:
            chosen = [i for i in instances if _is_chosen(_get_time(history, i, temporal), temporal, spells)]  # fmt: skip
        chosen = [i for i in chosen if temporal.has_dataset(i.get("datasetId"))]
        if sys_attrs:
            chosen = [i | history.times.get(i["instanceId"], {}) for i in chosen]
        if temporal.last_n:
            chosen = chosen[-temporal.last_n :]
        if chosen:
            found[name] = chosen
    return found


def render_instances(
    history: EntityHistory,
    chosen: dict[str, list[dict[str, Any]]],
    temporal: TemporalQuery,
    temporal_values: bool,
    with_context: bool,
    terms: Terms | None = None,
    cut: InstantRange | None = None,
    aggregation: Aggregation | None = None,
) -> dict[str, Any]:
    """A context entity's temporal representation of its ``chosen`` instances (see
    :func:`choose_instances`), oldest first, normalized, as temporalValues
    (``[[value, observedAt], ...]``) or aggregated, with its names in the request's
    @context (``terms``). With a ``cut``, only the instances in its range: an attribute
    left without any stays, empty, so a client knows to read on."""
    asked_name = get_asked_names(terms, history.jsonld_context)
    entity: dict[str, Any] = {"id": history.entity_id, "type": asked_name(history.entity_type)}
    timed: dict[str, tuple[list[dict[str, Any]], list[datetime | None]]] = {}
    kinds = {}  # each attribute's type, for one the cut left without an instance
    for name, instances in chosen.items():
        shown = name if name in CORE_MEMBERS else asked_name(name)
        kinds[shown] = instances[0].get("type", "Property")
        times = [_read_time(history, i, temporal) for i in instances]
        if cut is not None:
            held = [k for k, t in enumerate(times) if t is None or cut.holds(t)]
            timed[shown] = [instances[k] for k in held], [times[k] for k in held]
        else:
            timed[shown] = instances, times
    if aggregation is not None:
        entity |= _aggregate_entity(timed, temporal, aggregation, kinds)
    elif temporal_values:
        entity |= {shown: _simplify_instances(kept) if kept else {"type": kinds[shown], "values": []}
                   for shown, (kept, _) in timed.items()}  # fmt: skip
    else:
        entity |= {shown: kept for shown, (kept, _) in timed.items()}
    if with_context:
        context = terms.context if terms else history.jsonld_context
        entity["@context"] = context or CORE_CONTEXT
    return entity


def _aggregate_entity(
    timed: dict[str, tuple[list[dict[str, Any]], list[datetime | None]]],
    temporal: TemporalQuery,
    aggregation: Aggregation,
    kinds: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Each attribute's (instances, their times) summed up per period; the periods
    start at the window's start (timeAt), else at the entity's oldest instant, so its
    attributes' periods line up. ``kinds``: the attributes' types (else Property)."""
    instants = [t for _, times in timed.values() for t in times if t is not None]
    start = temporal.start or (min(instants) if instants else None)
    # P0D: one period over the window, to its end or the entity's newest instant.
    window = Window(start, temporal.end or max(instants)) if start is not None else None
    return {
        name: aggregate(kept, times, aggregation, window, kind=(kinds or {}).get(name, "Property"))
        for name, (kept, times) in timed.items()
    }


def _has_dataset(history: EntityHistory, query: EntityQuery, temporal: TemporalQuery) -> bool:
    """Whether an attribute the query asks for has an instance of a dataset it names."""
    own_name = get_own_names(query.terms, history.jsonld_context, history.attributes.keys())
    wanted = {own_name(a) for a in query.attrs}
    return any(
        temporal.has_dataset(instance.get("datasetId"))
        for name, instances in history.attributes.items()
        if not wanted or name in wanted
        for instance in instances
    )


def _has_instant_in(history: EntityHistory, query: EntityQuery, temporal: TemporalQuery) -> bool:
    """Whether an instance of an attribute the query asks for (any, without attrs) was
    observed (or created or modified: the query's timeproperty) within the window."""
    own_name = get_own_names(query.terms, history.jsonld_context, history.attributes.keys())
    wanted = {own_name(a) for a in query.attrs}
    return any(
        _in_time(_get_time(history, instance, temporal), temporal)
        for name, instances in history.attributes.items()
        if not wanted or name in wanted
        for instance in instances
    )


def _was_located(history: EntityHistory, query: EntityQuery, temporal: TemporalQuery) -> bool:
    """Whether an instance of the GeoProperty the geo-query is on, observed within the
    window, meets it (an instance outside the window does not count)."""
    assert query.geo is not None
    own_name = get_own_names(query.terms, history.jsonld_context, history.attributes.keys())
    for instance in history.attributes.get(own_name(query.geo.geoproperty), []):
        geometry = read_geometry(instance.get("value"))
        if geometry is not None and _in_time(instance.get("observedAt"), temporal) and match_geometry(query.geo, geometry):  # fmt: skip
            return True
    return False


def _ever_matches(history: EntityHistory, query: EntityQuery, temporal: TemporalQuery) -> bool:
    """Whether the query's ``q`` held at some instant of the window: at each instant an
    instance was observed, each attribute stands at its newest instance then."""
    assert query.q is not None
    own_name = get_own_names(query.terms, history.jsonld_context, history.attributes.keys())
    timeline = sorted(
        (
            (str(i["observedAt"]), name, i)
            for name, instances in history.attributes.items()
            for i in instances
            if isinstance(i.get("observedAt"), str)
        ),
        key=lambda step: step[:2],
    )
    state: dict[str, dict[str, Any]] = {}
    for moment, name, instance in timeline:
        state[name] = instance
        if _in_time(moment, temporal) and match_q(query.q, get_q_reader(state, own_name)):
            return True
    return False


def _get_time(history: EntityHistory, instance: dict[str, Any], temporal: TemporalQuery) -> Any:
    """The instance's time the query's window is read on (its timeproperty)."""
    if temporal.time_property == "observedAt":
        return instance.get("observedAt")
    return history.times.get(instance["instanceId"], {}).get(temporal.time_property)


def _read_time(
    history: EntityHistory, instance: dict[str, Any], temporal: TemporalQuery
) -> datetime | None:
    """:func:`_get_time` as an instant; None for an instance without one."""
    text = _get_time(history, instance, temporal)
    try:
        return parse_utc_time(text) if isinstance(text, str) else None
    except ValueError:
        return None


def _is_chosen(observed: Any, temporal: TemporalQuery, spells: list[ScopeSpell] | None) -> bool:
    """Whether an instance observed then is in the query's time and, with a scopeQ's
    spells, in one of them (the time is read once)."""
    if spells is None:
        return _in_time(observed, temporal)
    if not isinstance(observed, str):
        return False  # an instance without a time is in no spell
    moment = parse_utc_time(observed)
    return _in_time(observed, temporal, moment) and any(s.holds_at(moment) for s in spells)


def _in_time(observed: Any, temporal: TemporalQuery, moment: datetime | None = None) -> bool:
    if temporal.timerel is None:
        return True
    if not isinstance(observed, str):
        return False  # an instance without a time is in no time window
    moment = moment or parse_utc_time(observed)
    start, end = temporal.start, temporal.end
    return (start is None or moment >= start) and (end is None or moment < end)


# The member holding an instance's value, and the key of its simplified list.
_SIMPLIFIED = {"Relationship": ("object", "objects"), "LanguageProperty": ("languageMap", "languageMaps"), "JsonProperty": ("json", "jsons"), "VocabProperty": ("vocab", "vocabs"), "ListProperty": ("valueList", "valueLists"), "ListRelationship": ("objectList", "objectLists")}  # fmt: skip


def _simplify_instances(instances: list[dict[str, Any]]) -> dict[str, Any] | list[dict[str, Any]]:
    """temporalValues: one series per datasetId (the default instances' has none), in
    the order they first appear; a list when there are several (ETSI GS CIM 009 4.5.9)."""
    by_dataset: dict[str | None, list[dict[str, Any]]] = {}
    for instance in instances:
        by_dataset.setdefault(instance.get("datasetId"), []).append(instance)
    series = []
    for dataset_id, chosen in by_dataset.items():
        kind = chosen[0].get("type", "Property")
        member, key = _SIMPLIFIED.get(kind, ("value", "values"))
        dataset = {"datasetId": dataset_id} if dataset_id is not None else {}
        # A language map, JSON and a vocabulary term stay wrapped, as in keyValues (4.5.4).
        wrap = member in WRAPPED_MEMBERS
        series.append({"type": kind, **dataset, key: [[{member: i.get(member)} if wrap else i.get(member), i.get("observedAt")] for i in chosen]})  # fmt: skip
    return series[0] if len(series) == 1 else series


def _read_histories(
    lake: Lake,
    engine: Engine,
    records: list[EntityRecord],
    attrs: tuple[str, ...],
    temporal: TemporalQuery,
    instance_limit: int,
) -> dict[str, dict[str, pd.DataFrame]]:
    """site id -> attribute -> instances (columns ts, value, unit_code): lastN's
    newest, at most one more than ``instance_limit`` (enough for :func:`find_cut`)."""
    stored = set(get_metrics(lake))
    found: dict[str, dict[str, pd.DataFrame]] = {}
    need = min(temporal.last_n or instance_limit + 1, instance_limit + 1)
    for attribute, types, site_ids in _plan_reads(records, attrs):
        frames = []
        for metric in attribute.metrics:
            if metric not in stored:
                continue
            rows = _read_metric(lake, engine, metric, site_ids, temporal, need)
            frames.append(_convert(attribute, rows))
        if not frames:
            continue
        rows = pd.concat(frames).sort_values(["site_id", "ts"], kind="stable")
        for site_id, history in rows.groupby("site_id", sort=False):
            history = history.tail(need) if temporal.last_n is not None else history.head(need)
            history.attrs["types"] = types
            found.setdefault(str(site_id), {})[attribute.name] = history
    return found


def _read_metric(
    lake: Lake,
    engine: Engine,
    metric: str,
    site_ids: list[str],
    temporal: TemporalQuery,
    need: int,
) -> pd.DataFrame:
    """The rows of one metric an answer needs, read in windows that widen eightfold
    from :data:`LOOKBACK` until every site has ``need`` of them: backwards from the
    newest instant for lastN, forwards from the oldest otherwise, so a long history is
    not read whole for a few instances.

    Returns
    -------
    pandas.DataFrame
        Columns: site_id, metric, ts (UTC), value, unit; by site_id, ts.
    """
    low, high = temporal.start, temporal.end
    if low is None or high is None:  # the metric's own span bounds the open side
        coverage = get_observation_coverage(lake, metric)
        if coverage["last_ts"] is not None:
            low = low or coverage["first_ts"]
            high = high or coverage["last_ts"] + timedelta(microseconds=1)
    if low is not None and high is not None and high <= low:
        return pd.DataFrame({"site_id": [], "metric": [], "ts": pd.to_datetime([], utc=True),
                             "value": [], "unit": []})  # fmt: skip
    span = LOOKBACK
    while True:
        start, end = low, high
        if low is not None and high is not None and high > low:
            if temporal.last_n is not None:
                start = max(low, high - span)
            else:
                end = min(high, low + span)
        rows = engine.read_observations(
            lake, metric, site_ids=site_ids, start=start, end=end
        ).to_pandas()
        whole = start == low and end == high
        counts = rows.groupby("site_id").size()
        if whole or (len(counts) == len(set(site_ids)) and counts.min() >= need):
            return rows
        span *= 8


def _plan_reads(
    records: list[EntityRecord], attrs: tuple[str, ...]
) -> list[tuple[Attribute, tuple[str, ...], list[str]]]:
    """(attribute, entity types having it, site ids) for each attribute to read."""
    plan: dict[tuple[str, tuple[str, ...]], tuple[Attribute, set[str], list[str]]] = {}
    for record in records:
        for attribute in ATTRIBUTES[record.entity_type]:
            if attrs and attribute.name not in attrs:
                continue
            key = (attribute.name, attribute.metrics)
            entry = plan.setdefault(key, (attribute, set(), []))
            entry[1].add(record.entity_type)
            if record.site["site_id"] not in entry[2]:
                entry[2].append(record.site["site_id"])
    return [(a, tuple(sorted(t)), ids) for a, t, ids in plan.values()]


def _convert(attribute: Attribute, rows: pd.DataFrame) -> pd.DataFrame:
    """Rows in the attribute's unit, converted per distinct stored unit at once.

    Returns
    -------
    pandas.DataFrame
        Columns: site_id, ts (UTC), value, unit_code; rows without a value dropped.
    """
    units = rows["unit"].fillna("")
    distinct = units.unique()
    factor = units.map({u: get_unit_factor(attribute, u) or 1.0 for u in distinct})
    values = rows["value"].astype(float) * factor.astype(float)
    if attribute.maximum is not None:
        values = values.clip(upper=attribute.maximum)
    if attribute.unit_code == "C62" and attribute.name in ("peopleCount", "intensity"):
        values = values.round()
    frame = pd.DataFrame(
        {
            "site_id": rows["site_id"].to_numpy(),
            "ts": pd.to_datetime(rows["ts"], utc=True).to_numpy(),
            "value": values.to_numpy(),
            "unit_code": units.map({u: get_unit_code(attribute, u) for u in distinct}).to_numpy(),
        }
    )
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
    return frame[frame["value"].notna()]


def _render_history(history: pd.DataFrame, *, temporal_values: bool) -> Any:
    times = _format_times(history["ts"])
    values = [int(v) if v.is_integer() and abs(v) < 2**53 else v for v in history["value"].tolist()]
    if temporal_values:
        return {"type": "Property", "values": [[v, t] for v, t in zip(values, times, strict=True)]}
    instances = []
    for value, time, code in zip(values, times, history["unit_code"].tolist(), strict=True):
        instance: dict[str, Any] = {"type": "Property", "value": value, "observedAt": time}
        if code:
            instance["unitCode"] = code
        instances.append(instance)
    return instances


def _format_times(ts: pd.Series) -> list[str]:
    """Instants as :func:`format_time` writes them, for a whole column at once."""
    instants = ts.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy().astype("datetime64[us]")
    whole = bool((instants.astype("datetime64[s]") == instants).all())
    text = np.datetime_as_string(instants, unit="s" if whole else "us")
    return [t + "Z" for t in text.tolist()]


def _parse_time(text: str, name: str) -> datetime:
    try:
        stamp = pd.Timestamp(text.strip())
    except (ValueError, TypeError, OverflowError):
        raise InvalidQueryError(f"{name} {text!r} is not an ISO 8601 date-time") from None
    if pd.isna(stamp):
        raise InvalidQueryError(f"{name} {text!r} is not an ISO 8601 date-time")
    if stamp.tzinfo is None:
        raise InvalidQueryError(f"{name} {text!r} needs a time zone, e.g. {text}Z")
    if not 1900 <= stamp.year <= 2200:
        raise InvalidQueryError(f"{name} {text!r} is outside the years 1900-2200")
    return stamp.tz_convert("UTC").to_pydatetime()


def _parse_last_n(text: str | None) -> int | None:
    if text is None or text == "":
        return None
    if not text.isdigit() or int(text) < 1:
        raise InvalidQueryError(f"lastN {text!r} must be a whole number >= 1")
    return int(text)
