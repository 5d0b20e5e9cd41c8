"""The law the audit chain rests on: an entry's hash changes when any of its fields,
its place or the hash before it changes."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from urbanpulse.access.records import GENESIS_HASH, AuditEvent, compute_entry_hash

FIELDS = st.sampled_from(["at", "actor", "scope", "method", "path", "status", "detail"])
events = st.builds(
    AuditEvent,
    at=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)).map(
        lambda moment: moment.replace(tzinfo=UTC)
    ),
    actor=st.text(max_size=20),
    scope=st.sampled_from(["public", "business", "government", "admin"]),
    method=st.sampled_from(["GET", "POST", "CLI"]),
    path=st.text(max_size=40),
    status=st.integers(0, 599),
    detail=st.text(max_size=40),
)


def changed(event: AuditEvent, field: str) -> AuditEvent:
    value = getattr(event, field)
    if field == "at":
        return replace(event, at=value + timedelta(microseconds=1))
    if field == "status":
        return replace(event, status=value + 1)
    return replace(event, **{field: value + "x"})


@given(events, FIELDS, st.integers(1, 10**6))
def test_changing_any_field_changes_the_hash(event: AuditEvent, field: str, seq: int) -> None:
    assert compute_entry_hash(GENESIS_HASH, seq, event) != compute_entry_hash(
        GENESIS_HASH, seq, changed(event, field)
    )


@given(events, st.integers(1, 10**6))
def test_the_place_and_the_link_are_covered(event: AuditEvent, seq: int) -> None:
    base = compute_entry_hash(GENESIS_HASH, seq, event)
    assert base != compute_entry_hash(GENESIS_HASH, seq + 1, event)
    assert base != compute_entry_hash("f" * 64, seq, event)
