"""The advice service's "now", the pages' planning day and the default window.

Advice is about the future, so the service needs a "now". It is, in order: the
``clock`` setting when given ('fixed'); else the real clock ('live'), except when the
lake's crowding data ended more than a day before the real now, as it does for the
synthetic demo: then now is the local midnight after the last observation ('replay'),
and the first day without data is planned as if it were tomorrow. Windows that end
before now are refused as being in the past.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from urbanpulse.advise.forecasts import COUNT_METRICS
from urbanpulse.catalog.calendar import get_day_type
from urbanpulse.i18n import N_, translate_text
from urbanpulse.store import Lake
from urbanpulse.store.interface import Engine

# Gate entries count as much as boardings: a metro whose data is its gates replays too.
CROWDING_METRICS = ("load", *COUNT_METRICS)
DEFAULT_WINDOW = ("07:00", "09:30", "08:00")


@dataclass(frozen=True, slots=True)
class Clock:
    """The service's now (see the module docstring) and the pages' default day."""

    now: datetime
    mode: str  # 'live', 'fixed' or 'replay'
    planning_day: date
    last_observation: datetime | None
    note: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, as ``ClockPublic``; the note in the language of the request."""
        last = self.last_observation
        return {
            "now": self.now.isoformat(),
            "mode": self.mode,
            "planning_day": self.planning_day.isoformat(),
            "last_observation": None if last is None else last.isoformat(),
            "note": translate_text(self.note),
        }


def build_clock(
    last: datetime | None, *, fixed: datetime | None, tz: ZoneInfo, country: str
) -> Clock:
    """Now, as the module docstring defines it, given the last crowding observation
    (``last``, UTC) and the ``clock`` setting (``fixed``), and the planning day."""
    if fixed is not None:
        now, mode = _aware(fixed, tz), "fixed"
        note = N_(
            "The clock is fixed by the server's settings at {time}.", time=f"{now:%Y-%m-%d %H:%M}"
        )
    else:
        now, mode = datetime.now(UTC).astimezone(tz), "live"
        note = N_("Forecasts are made now from the latest data.")
        if last is not None and now - last > timedelta(days=1):
            local_last = last.astimezone(tz)
            now = datetime.combine(local_last.date() + timedelta(days=1), datetime.min.time(), tz)
            mode = "replay"
            # N_: the edge shows the note in the reader's language (the clock is cached).
            note = N_(
                "The data ends on {last}, so this server plans as if it were {now} (the first "
                "day without data); forecasts use only the data up to then.",
                last=f"{local_last:%Y-%m-%d %H:%M}",
                now=f"{now:%Y-%m-%d %H:%M}",
            )
    planning_day = get_planning_day(now, tz=tz, country=country)
    return Clock(now.astimezone(tz), mode, planning_day, last, note)


def get_planning_day(now: datetime, *, tz: ZoneInfo, country: str) -> date:
    """First working day whose usual morning window has not ended by ``now``."""
    local = now.astimezone(tz)
    end = datetime.strptime(DEFAULT_WINDOW[1], "%H:%M").time()
    for offset in range(14):
        day = local.date() + timedelta(days=offset)
        late = datetime.combine(day, end, tz) <= local
        if not late and get_day_type(day, country=country) == "weekday":
            return day
    return local.date() + timedelta(days=1)


def get_planning_day_end(clock: Clock) -> datetime | None:
    """The first moment the planning day may move on its own: the end of today's
    default window, else the next local midnight. None when the clock stands still
    ('fixed', or 'replay', where only new data moves it)."""
    if clock.mode != "live":
        return None
    local = clock.now
    end = datetime.strptime(DEFAULT_WINDOW[1], "%H:%M").time()
    window_end = datetime.combine(local.date(), end, local.tzinfo)
    midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), local.tzinfo)
    return window_end if local < window_end else midnight


def get_default_window(day: date) -> tuple[str, str, str]:
    """The pages' default window on ``day``: 07:00-09:30, preferring 08:00 (local)."""
    return tuple(f"{day.isoformat()}T{t}" for t in DEFAULT_WINDOW)  # type: ignore[return-value]


def read_last_observation(lake: Lake, engine: Engine) -> datetime | None:
    """Latest observation time of the crowding metrics (UTC), read from the last month
    by ``engine``."""
    return engine.read_last_observation_time(lake, list(CROWDING_METRICS))


def _aware(moment: datetime, tz: ZoneInfo) -> datetime:
    return moment.replace(tzinfo=tz) if moment.tzinfo is None else moment
