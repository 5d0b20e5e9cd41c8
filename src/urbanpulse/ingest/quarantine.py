"""Quarantine rows: what could not be stored, with reason, source, line and column."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb

from urbanpulse.i18n import N_
from urbanpulse.i18n import gettext as _
from urbanpulse.ingest.readers import FILE, LINE, RawSource
from urbanpulse.ingest.transform import MISSING, ident, lit
from urbanpulse.store.quarantine import build_reject

# Problems of a whole source row (its time or site): reported once per row, not per cell.
ROW_LEVEL = ("unparseable time", "time out of range", "missing site", "unknown site")


def get_cell_rejects(
    con: duckdb.DuckDBPyConnection, cells: str, path: Path, file_index: int
) -> list[dict[str, object]]:
    """One quarantine row per rejected cell of one file, with its column and text."""
    row_level = ", ".join(f"'{r}'" for r in ROW_LEVEL)
    found = con.execute(
        f"""SELECT line, column_name, problem, raw FROM {cells}
        WHERE file_index = {int(file_index)} AND problem IS NOT NULL
          AND problem <> '{MISSING}' AND problem NOT IN ({row_level})
        ORDER BY line, column_name"""
    ).fetchall()
    return [build_reject(path, line, column, reason, raw) for line, column, reason, raw in found]


def get_row_rejects(
    con: duckdb.DuckDBPyConnection,
    cells: str,
    raw_name: str,
    raw: RawSource,
    path: Path,
    file_index: int,
    delimiter: str,
) -> list[dict[str, object]]:
    """One quarantine row per source row whose time or site is unusable, with the whole row."""
    row_level = ", ".join(f"'{r}'" for r in ROW_LEVEL)
    # Qualified with the table alias: a source column may be called line or problem.
    record = (
        "concat_ws("
        + ", ".join([lit(delimiter)] + [f"coalesce(r.{ident(c)}, '')" for c in raw.columns])
        + ")"
    )
    found = con.execute(
        f"""SELECT r.{LINE}, p.problem, {record} FROM {raw_name} r
        JOIN (SELECT line, min(problem) AS problem FROM {cells}
              WHERE file_index = {int(file_index)} AND problem IN ({row_level})
              GROUP BY line) p ON p.line = r.{LINE}
        WHERE r.{FILE} = {int(file_index)}
        ORDER BY r.{LINE}"""
    ).fetchall()
    return [build_reject(path, line, None, reason, text) for line, reason, text in found]


MASK = "***"
WITHHELD = "[withheld: the line could not be split, and it may hold sensitive columns]"


def mask_reject(
    reject: dict[str, object],
    columns: list[str] | None,
    sensitive: set[str],
    delimiter: str,
) -> dict[str, object]:
    """The reject with the values of ``sensitive`` columns masked in its raw text.

    A cell of a sensitive column is masked whole; a whole source line is split on the
    delimiter and masked at those columns' positions; a line that does not split into
    the file's columns (the usual reason it was rejected) is withheld, since nobody can
    tell which part of it is personal.
    """
    raw, column = reject.get("raw"), reject.get("column_name")
    if raw is None or not sensitive:
        return reject
    if column is not None:
        return {**reject, "raw": MASK} if column in sensitive else reject
    fields = str(raw).split(delimiter)
    if columns is None or len(fields) != len(columns):
        return {**reject, "raw": WITHHELD}
    masked = [
        MASK if name in sensitive else value for name, value in zip(columns, fields, strict=True)
    ]
    return {**reject, "raw": delimiter.join(masked)}


# Why a value for a stored key is kept aside (files, MQTT, HTTP alike): the store keeps
# the first value of a key, so that a replay or a repeated delivery can never change or
# double what is stored; a correction needs an operator's decision.
CORRECTION_REASON = "a different value for an observation already stored: not applied"


def get_reason_group(reason: str) -> str:
    """Group reasons that carry numbers (field counts, bounds, values) for the summary."""
    for prefix in ("wrong number of fields", "below minimum", "above maximum", CORRECTION_REASON):
        if reason.startswith(prefix):
            return prefix
    return reason


# Reasons are stored as written (English), so that a filter or a program reading the
# lake sees one vocabulary; people read them in their language (translate_reason).
FIXED_REASONS = (
    N_("unparseable time"),
    N_("time out of range"),
    N_("missing site"),
    N_("unknown site"),
    N_("unknown metric"),
    N_("missing value"),
    N_("non-numeric value"),
    N_("non-finite value"),
    N_("duplicate key within file"),
    N_("binary data (NUL bytes) in line"),
    # the groups of the ingest summary (get_reason_group)
    N_("below minimum"),
    N_("above maximum"),
    N_("wrong number of fields"),
    N_("a different value for an observation already stored: not applied"),
)
# Reasons that carry figures: (pattern of the stored text, message with its fields).
PATTERNED_REASONS = (
    (re.compile(r"below minimum (?P<bound>\S+)"), N_("below minimum {bound}")),
    (re.compile(r"above maximum (?P<bound>\S+)"), N_("above maximum {bound}")),
    (
        re.compile(r"wrong number of fields: expected (?P<expected>\d+), found (?P<found>\d+)"),
        N_("wrong number of fields: expected {expected}, found {found}"),
    ),
    (
        re.compile(
            re.escape(CORRECTION_REASON) + r" \((?P<stored>\S+) stored, (?P<sent>\S+) sent\)"
        ),
        N_(
            "a different value for an observation already stored: not applied "
            "({stored} stored, {sent} sent)"
        ),
    ),
)


def translate_reason(reason: str) -> str:
    """A stored quarantine reason in the reader's language (as stored where it is not
    one of the product's own reasons, e.g. a parser's message)."""
    if reason in FIXED_REASONS:
        return _(reason)
    for pattern, message in PATTERNED_REASONS:
        found = pattern.fullmatch(reason)
        if found:
            return _(message).format(**found.groupdict())
    return reason
