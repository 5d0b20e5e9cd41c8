"""Smart-card tap files: read, validate and pseudonymise, before anything is stored.

Why this lives in ``privacy`` and not ``ingest``: these are the only rows of the
product that carry a personal identifier, and the raw card number must never leave the
function that reads it. Reading, validating and pseudonymising therefore happen in one
place, and what comes out (:class:`TapBatch`) holds pseudonyms and masked quarantine
lines only, so no later step (store, logs, errors) can leak a card number by accident.

A :class:`TapMapping` names the source columns (card, time, station, tap type, line)
and maps tap types to a mode and direction; ``SHENZHEN_TAPS`` reads Shenzhen Tong
exports. Columns a mapping marks sensitive (the card column always) are masked in
quarantined lines.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from urbanpulse.errors import MappingError, SourceError
from urbanpulse.privacy.keys import KeyRing
from urbanpulse.store import SCHEMAS
from urbanpulse.store.quarantine import build_reject

MASK = "<masked>"
# The taps table's columns but the batch id, which each write stamps on its rows.
TAP_COLUMNS = [column for column in SCHEMAS["taps"] if column != "batch_id"]


@dataclass(frozen=True, slots=True)
class TapMapping:
    """How the columns of a tap file map to taps.

    ``kinds`` maps each raw tap type to (mode, direction), e.g. ``"地铁入站": ("metro",
    "entry")``; directions are 'entry', 'exit' or 'board'. ``timezone`` is the zone of
    the source's local times; ``site_prefix`` starts the site id of each station.
    """

    card: str
    time: str
    station: str
    kind: str
    line: str
    kinds: dict[str, tuple[str, str]]
    timezone: str
    site_prefix: str
    time_format: str | None = None
    sensitive: tuple[str, ...] = field(default=())
    missing: tuple[str, ...] = ("", "-")
    station_suffix: str = ""
    station_aliases: dict[str, str] = field(default_factory=dict)

    def get_sensitive(self) -> set[str]:
        """Columns masked in quarantine: the card column and any the mapping names."""
        return {self.card, *self.sensitive}


SHENZHEN_TAPS = TapMapping(
    card="card_no",
    time="deal_date",
    station="station",
    kind="deal_type",
    line="company_name",
    kinds={
        "地铁入站": ("metro", "entry"),
        "地铁出站": ("metro", "exit"),
        "巴士": ("bus", "board"),
    },
    timezone="Asia/Shanghai",
    site_prefix="shenzhen-metro",
    time_format="%Y-%m-%d %H:%M:%S",
    # The export names some stations with the suffix 站 and some without; one name
    # arrives garbled and two under a longer name than the metro's station list uses.
    station_suffix="站",
    station_aliases={"?I岭": "孖岭", "深圳大学": "深大", "马鞍山": "马安山"},
)


@dataclass(slots=True)
class TapBatch:
    """What one tap file yields: pseudonymised taps and masked rejects."""

    source: str
    rows_read: int
    taps: pd.DataFrame  # TAP_COLUMNS
    rejects: list[dict[str, object]]  # source, line, column_name, reason, raw (masked)


def read_tap_mapping(path: Path) -> TapMapping:
    """Read a tap mapping from TOML.

    The file has ``[columns]`` (card, time, station, kind, line), ``[kinds]`` mapping
    each raw tap type to ``[mode, direction]``, and top-level ``timezone``,
    ``site_prefix`` and optional ``time_format``, ``sensitive`` (columns to mask),
    ``missing`` (texts that mean empty), ``station_suffix`` and ``[station_aliases]``.
    """
    try:
        spec = tomllib.loads(path.read_text("utf-8"))
        columns, kinds = spec["columns"], spec["kinds"]
        return TapMapping(
            **{name: str(columns[name]) for name in ("card", "time", "station", "kind", "line")},
            kinds={str(k): (str(v[0]), str(v[1])) for k, v in kinds.items()},
            timezone=str(spec["timezone"]),
            site_prefix=str(spec["site_prefix"]),
            time_format=spec.get("time_format"),
            sensitive=tuple(spec.get("sensitive", ())),
            missing=tuple(spec.get("missing", ("", "-"))),
            station_suffix=str(spec.get("station_suffix", "")),
            station_aliases=dict(spec.get("station_aliases", {})),
        )
    except (OSError, tomllib.TOMLDecodeError, KeyError, IndexError, TypeError) as exc:
        raise MappingError(
            f"tap mapping {path} is not usable: {type(exc).__name__} {exc}"
        ) from None


def read_tap_file(path: Path, mapping: TapMapping, keys: KeyRing) -> TapBatch:
    """Read one CSV tap file and pseudonymise its card ids.

    Returns
    -------
    TapBatch
        ``taps`` with columns pseudonym, ts (UTC), mode, direction, station, site_id
        (metro stations only), line, source (file name), key_period (``YYYY-MM`` of the
        local time, the key's month); ``rejects`` with the rows that cannot be used.
    """
    raw = _read_csv(path, mapping)
    reasons, ts = _validate(raw, mapping)
    bad = reasons.notna()
    rejects = _build_rejects(raw[bad], reasons[bad], path.name, mapping)
    good = raw[~bad]
    taps = _build_taps(good, ts[~bad], mapping, keys, path.name)
    return TapBatch(path.name, len(raw), taps, rejects)


def _read_csv(path: Path, mapping: TapMapping) -> pd.DataFrame:
    try:
        # All text, nothing guessed: a card number must never be parsed as a number.
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise SourceError(f"cannot read tap file {path.name}: {type(exc).__name__}") from None
    needed = [mapping.card, mapping.time, mapping.station, mapping.kind, mapping.line]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise SourceError(f"tap file {path.name} lacks columns {missing}")
    # Line numbers of the file (header is line 1), kept for quarantine.
    frame.index = pd.RangeIndex(2, len(frame) + 2)
    return frame


def _validate(raw: pd.DataFrame, mapping: TapMapping) -> tuple[pd.Series, pd.Series]:
    """The first problem of each row (None when usable) and its UTC time."""
    local = pd.to_datetime(
        raw[mapping.time].str.strip(), format=mapping.time_format, errors="coerce"
    )
    ts = local.dt.tz_localize(mapping.timezone, ambiguous="NaT", nonexistent="NaT").dt.tz_convert(
        "UTC"
    )
    kind = raw[mapping.kind].str.strip()
    mode = kind.map({k: v[0] for k, v in mapping.kinds.items()})
    checks = [
        ("missing card id", raw[mapping.card].str.strip().isin(mapping.missing)),
        ("unparseable time", ts.isna()),
        ("unknown tap type", mode.isna()),
        ("missing station", (mode == "metro") & get_station_names(raw, mapping).isna()),
    ]
    reasons = pd.Series(None, index=raw.index, dtype=object)
    for reason, failed in reversed(checks):  # the first check wins
        reasons = reasons.mask(failed, reason)
    return reasons, ts


def get_station_names(raw: pd.DataFrame, mapping: TapMapping) -> pd.Series:
    """Station names as the mapping cleans them (None where missing)."""
    names = raw[mapping.station].str.strip()
    names = names.mask(names.isin(mapping.missing))
    if mapping.station_suffix:
        suffix = mapping.station_suffix
        names = names.where(~names.str.endswith(suffix, na=False), names.str[: -len(suffix)])
    return names.replace(mapping.station_aliases).astype(object).where(names.notna(), None)


def _build_rejects(
    rows: pd.DataFrame, reasons: pd.Series, source: str, mapping: TapMapping
) -> list[dict[str, object]]:
    masked = rows.copy()
    for column in mapping.get_sensitive() & set(masked.columns):
        masked[column] = MASK
    lines = pd.Series("", index=masked.index, dtype=object)
    for i, column in enumerate(masked.columns):
        lines = lines + ("," if i else "") + masked[column].astype(str)
    return [
        build_reject(source, int(n), None, r, text)
        for n, r, text in zip(rows.index, reasons, lines, strict=True)
    ]


def _build_taps(
    good: pd.DataFrame, ts: pd.Series, mapping: TapMapping, keys: KeyRing, source: str
) -> pd.DataFrame:
    kind = good[mapping.kind].str.strip()
    period = ts.dt.tz_convert(mapping.timezone).dt.strftime("%Y-%m")
    cards = good[mapping.card].str.strip()
    # One HMAC per card and month, not per tap.
    pairs = pd.unique(pd.Series(list(zip(cards, period, strict=True)), dtype=object))
    lookup = {pair: keys.pseudonymise(pair[0], pair[1]) for pair in pairs}
    station = get_station_names(good, mapping)
    mode = kind.map({k: v[0] for k, v in mapping.kinds.items()})
    taps = pd.DataFrame(
        {
            "pseudonym": [lookup[p] for p in zip(cards, period, strict=True)],
            "ts": ts,
            "mode": mode,
            "direction": kind.map({k: v[1] for k, v in mapping.kinds.items()}),
            "station": station,
            "site_id": (mapping.site_prefix + ":" + station).where(mode == "metro"),
            "line": good[mapping.line].str.strip().mask(lambda x: x.isin(mapping.missing)),
            "source": source,
            "key_period": period,
        }
    )
    return taps.reset_index(drop=True)[TAP_COLUMNS]
