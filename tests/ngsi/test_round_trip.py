"""Entities served here read back by the live ingest's NGSI-LD decoder as the same
observations: one vocabulary both ways."""

from __future__ import annotations

import pytest

from urbanpulse.ngsi.entities import read_entities
from urbanpulse.ngsi.query import build_entity_query
from urbanpulse.ngsi.vocabulary import get_attribute, get_unit_factor
from urbanpulse.store import Lake, build_engine
from urbanpulse.stream.payloads import Items, decode_entity


@pytest.mark.parametrize("entity_type", ["TrafficFlowObserved", "AirQualityObserved", "CrowdFlowObserved"])  # fmt: skip
def test_served_entities_decode_to_their_metrics(demo_lake: Lake, entity_type: str) -> None:
    page = read_entities(
        demo_lake,
        build_entity_query(type=entity_type),
        region="jingjinji",
        limit=30,
        engine=build_engine("duckdb"),
    )
    decoded = 0
    for entity in page.entities:
        items = Items()
        decode_entity(entity, "test", 1, items)
        site_id = entity["id"].rsplit(":", 1)[1]
        observed = {
            name: value for name, value in entity.items()
            if isinstance(value, dict) and "observedAt" in value
        }  # fmt: skip
        assert len(items) == len(observed), entity["id"]
        for i, metric in enumerate(items.metric):
            name = next(n for n in observed if metric in get_attribute(entity_type, n).metrics)  # type: ignore[union-attr]
            attribute = get_attribute(entity_type, name)
            assert attribute is not None and items.site_id[i] == site_id
            assert items.value[i] == pytest.approx(observed[name]["value"])
            assert items.ts_text[i] == observed[name]["observedAt"]
            assert get_unit_factor(attribute, items.unit[i]) == 1.0, (name, items.unit[i])
            decoded += 1
    assert decoded > 20
