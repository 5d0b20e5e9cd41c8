"""One official calendar for the demo, profiles and forecasts."""

from __future__ import annotations

from datetime import date

from urbanpulse.catalog.calendar import build_calendar, get_day_type
from urbanpulse.twin import build_calendar as build_demo_calendar


def test_a_sunday_inside_golden_week_is_a_holiday_everywhere():
    # 2026-10-04 is a Sunday between National Day holidays: part of the one block.
    assert get_day_type(date(2026, 10, 4)) == "holiday"
    demo = build_demo_calendar(date(2026, 9, 28), date(2026, 10, 11)).set_index("date")
    assert demo.loc[date(2026, 10, 4), "day_type"] == "holiday"


def test_the_demo_and_the_profiles_agree_on_every_day():
    first, last = date(2026, 9, 1), date(2026, 10, 31)
    official = build_calendar(first, last).set_index("date")["day_type"]
    demo = build_demo_calendar(first, last).set_index("date")["day_type"]
    assert (demo.replace({"workday": "weekday"}) == official).all()
    assert all(get_day_type(day) == kind for day, kind in official.items())
