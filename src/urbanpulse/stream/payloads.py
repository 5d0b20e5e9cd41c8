"""Payloads of live observations: decoding JSON, JSON batches, NGSI-LD fragments and CSV.

Decoding only takes each observation's fields out of its payload, keeping where it came
from (source and position); judging them (times, sites, metrics, values) is done for a
whole micro-batch at once by :mod:`urbanpulse.stream.batches`, in SQL, with the same
reasons and time bounds as file ingest. See docs/streams.md for the formats.

Accepted payloads
-----------------
* one observation: ``{"site_id", "metric", "ts", "value", "unit"}`` (unit optional;
  ``ts`` ISO 8601, with an offset or in the local time zone of the settings, or epoch
  seconds);
* a batch: a JSON array of observations, or ``{"observations": [...]}``;
* NGSI-LD entity fragments: an entity (``id``, ``type`` and Property attributes with
  ``value``, ``observedAt`` and ``unitCode``) or an array of entities;
* CSV (HTTP push only): a header naming site_id, metric, ts, value and optionally unit.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass, field
from typing import Any

from urbanpulse.ngsi.vocabulary import URN_PREFIX, get_attribute, get_kinds

# Longest raw text kept with a quarantined message or item.
RAW_LIMIT = 2000
FIELDS = ("site_id", "metric", "ts", "value", "unit")
# UN/CEFACT unit codes of inbound NGSI-LD values and the lake unit they are stored in;
# C62 ("one") is a count or share whose lake unit depends on the metric.
UNIT_CODES = {
    "KMH": "km/h",
    "GQ": "ug/m3",
    "CEL": "degC",
    "A97": "hPa",
    "MMT": "mm",
    "MTS": "m/s",
    "P1": "%",
}
DIMENSIONLESS = {
    "flow": "vehicles",
    "boardings": "passengers",
    "entries": "passengers",
    "passengers": "passengers",
    "load": "share of capacity",
    "occupancy": "share of capacity",
    "rh": "share",
}


@dataclass(slots=True)
class Items:
    """Observations taken out of payloads, as columns, before they are judged.

    ``value`` holds a float or None; ``bad_value`` marks a value that was given but is
    not a number (None alone means missing). ``ts`` holds ISO text, epoch seconds
    (float) or None. ``source`` and ``line`` say where each item came from: the topic or
    request, and its 1-based position in the payload (CSV: its line).
    """

    site_id: list[Any] = field(default_factory=list)
    metric: list[Any] = field(default_factory=list)
    ts_text: list[str | None] = field(default_factory=list)
    ts_epoch: list[float | None] = field(default_factory=list)
    value: list[float | None] = field(default_factory=list)
    bad_value: list[bool] = field(default_factory=list)
    unit: list[str | None] = field(default_factory=list)
    source: list[str] = field(default_factory=list)
    line: list[int] = field(default_factory=list)
    raw: list[Any] = field(default_factory=list)
    kind: list[str | None] = field(default_factory=list)
    rejects: list[dict[str, object]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.site_id)

    def add(
        self,
        record: dict[str, Any],
        source: str,
        line: int,
        raw: Any,
        *,
        kind: str | None = None,
    ) -> None:
        site, metric = record.get("site_id"), record.get("metric")
        self.site_id.append(site if isinstance(site, str) else None if site is None else str(site))
        self.metric.append(metric if isinstance(metric, str) else None)
        ts = record.get("ts")
        if isinstance(ts, str):
            self.ts_text.append(ts)
            self.ts_epoch.append(None)
        elif isinstance(ts, int | float) and not isinstance(ts, bool) and math.isfinite(ts):
            self.ts_text.append(None)
            self.ts_epoch.append(float(ts))
        else:
            self.ts_text.append(None)
            self.ts_epoch.append(None)
        value = record.get("value")
        number = _to_number(value)
        self.value.append(number)
        self.bad_value.append(number is None and value is not None)
        unit = record.get("unit")
        self.unit.append(unit if isinstance(unit, str) else None)
        self.source.append(source)
        self.line.append(line)
        self.raw.append(raw)
        self.kind.append(kind)

    def reject(self, source: str, line: int | None, reason: str, raw: Any) -> None:
        """Keep a whole message (or an item that is not an observation) for quarantine."""
        self.rejects.append(build_stream_reject(source, line, None, reason, raw))


def build_stream_reject(
    source: str, line: int | None, column: str | None, reason: str, raw: Any
) -> dict[str, object]:
    """A quarantine row: source (topic or request), position, column, reason, raw text."""
    if isinstance(raw, bytes):
        text = raw.decode("utf-8", errors="replace")
    elif isinstance(raw, str):
        text = raw
    else:
        text = json.dumps(raw, ensure_ascii=False, default=str)
    return {
        "source": source,
        "line": line,
        "column_name": column,
        "reason": reason,
        "raw": text[:RAW_LIMIT],
    }


def _to_number(value: Any) -> float | None:
    if isinstance(value, float):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def decode_json(payload: bytes | str, source: str, items: Items) -> None:
    """Add the observations of one JSON payload (any of the JSON forms) to ``items``;
    a payload that is not JSON or not one of the forms goes to ``items.rejects``."""
    try:
        document = json.loads(payload)
    except json.JSONDecodeError as exc:
        items.reject(source, None, f"bad JSON: {exc.msg}", payload)
        return
    except (ValueError, UnicodeDecodeError) as exc:
        items.reject(source, None, f"bad JSON: {exc}", payload)
        return
    if isinstance(document, dict) and isinstance(document.get("observations"), list):
        document = document["observations"]
    if isinstance(document, dict):
        document = [document]
    if not isinstance(document, list):
        items.reject(source, None, "not an observation, a batch or NGSI-LD entities", payload)
        return
    for line, element in enumerate(document, start=1):
        if not isinstance(element, dict):
            items.reject(source, line, "not an observation, a batch or NGSI-LD entities", element)
        elif "id" in element and "type" in element and "site_id" not in element:
            decode_entity(element, source, line, items)
        else:
            items.add(element, source, line, element)


def decode_entity(entity: dict[str, Any], source: str, line: int, items: Items) -> None:
    """Add an NGSI-LD entity fragment's numeric Property attributes as observations.

    The site is the part of the id after ``urn:ngsi-ld:<type>:``; an attribute is stored
    as the metric the vocabulary maps it to (``averageVehicleSpeed`` -> ``speed``), or as
    itself when it is a product metric code (``pm25``). Its time is ``observedAt``, else
    the entity's ``dateObserved``. Attributes that are neither (``name``, ``location``,
    ``laneDirection``) are context, not observations, and are left out.
    """
    entity_type, entity_id = entity.get("type"), entity.get("id")
    if not isinstance(entity_type, str) or not isinstance(entity_id, str):
        items.reject(source, line, "NGSI-LD entity without a text id and type", entity)
        return
    site_id = _get_site_id(entity_id, entity_type)
    observed = _get_property_value(entity.get("dateObserved"))
    kinds = get_kinds(entity_type)
    found = 0
    for name, attribute in entity.items():
        if name in ("id", "type", "@context", "dateObserved") or name.startswith("@"):
            continue
        known = get_attribute(entity_type, name)
        metric = known.metrics[0] if known else name
        for instance in attribute if isinstance(attribute, list) else [attribute]:
            if not is_observed_attribute(entity_type, name, instance):
                continue  # context such as name, address, laneId: not an observation
            record = {
                "site_id": site_id,
                "metric": metric,
                "ts": instance.get("observedAt", observed),
                "value": instance.get("value"),
                "unit": _get_unit(metric, instance.get("unitCode")),
            }
            items.add(record, source, line, {"id": entity_id, name: instance}, kind=_first(kinds))
            found += 1
    if not found:
        items.reject(source, line, "NGSI-LD entity without observed attributes", entity)


def is_observed_attribute(entity_type: str, name: str, instance: Any) -> bool:
    """Whether an attribute instance is an observation: a Property the vocabulary maps
    to a metric for ``entity_type``, or a numeric one named like a metric code."""
    if not isinstance(instance, dict) or instance.get("type", "Property") != "Property":
        return False
    if get_attribute(entity_type, name) is not None:
        return True
    value = instance.get("value")
    numeric = isinstance(value, int | float) and not isinstance(value, bool)
    return numeric and _is_metric_code(name)


def _first(kinds: tuple[str, ...]) -> str | None:
    return kinds[0] if kinds else None


def _is_metric_code(name: str) -> bool:
    from urbanpulse.store.writes import METRIC_CODE

    return bool(METRIC_CODE.match(name))


def _get_site_id(entity_id: str, entity_type: str) -> str:
    prefix = f"{URN_PREFIX}{entity_type}:"
    if entity_id.startswith(prefix):
        return entity_id[len(prefix) :]
    return entity_id.rsplit(":", 1)[-1] if entity_id.startswith(URN_PREFIX) else entity_id


def _get_property_value(attribute: Any) -> Any:
    if isinstance(attribute, dict):
        value = attribute.get("value")
        if isinstance(value, dict) and "@value" in value:  # {"@type": "DateTime", ...}
            return value["@value"]
        return value
    return attribute


def _get_unit(metric: str, code: Any) -> str | None:
    if not isinstance(code, str):
        return DIMENSIONLESS.get(metric)
    if code == "C62":
        return DIMENSIONLESS.get(metric, "")
    return UNIT_CODES.get(code, code)


def decode_csv(text: str, source: str, items: Items) -> None:
    """Add the rows of a CSV text (header: site_id, metric, ts, value[, unit]) to
    ``items``; each row's position is its line in the text (the header is line 1)."""
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None:
        items.reject(source, None, "empty CSV", text)
        return
    columns = [c.strip().lstrip("\ufeff") for c in header]
    missing = [c for c in FIELDS[:4] if c not in columns]
    if missing:
        items.reject(source, 1, f"header lacks columns {missing}", ",".join(header))
        return
    for row in reader:
        line = reader.line_num
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) != len(columns):
            reason = f"wrong number of fields ({len(row)}, header has {len(columns)})"
            items.reject(source, line, reason, ",".join(row))
            continue
        record: dict[str, Any] = dict(zip(columns, (c.strip() for c in row), strict=True))
        record["value"] = record["value"] or None
        record["unit"] = record.get("unit") or None
        record["site_id"] = record["site_id"] or None
        items.add(record, source, line, ",".join(row))


def get_media_type(content_type: str | None) -> str:
    """The media type a Content-Type names, without its parameters, in lower case
    (``application/json; charset=utf-8`` -> ``application/json``; none: "")."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def decode_payload(payload: bytes, content_type: str | None, source: str, items: Items) -> None:
    """Decode by content type: CSV for ``text/csv``, JSON (plain, batch or NGSI-LD) else."""
    media = get_media_type(content_type)
    if media in ("text/csv", "application/csv"):
        try:
            decode_csv(payload.decode("utf-8"), source, items)
        except UnicodeDecodeError as exc:
            items.reject(source, None, f"CSV is not UTF-8: {exc}", payload)
        return
    decode_json(payload, source, items)
