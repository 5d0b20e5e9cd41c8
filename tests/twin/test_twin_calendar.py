from __future__ import annotations

from datetime import date

from urbanpulse.twin import DEFAULT_END, build_calendar, get_period


def test_default_span_holds_golden_week_and_all_day_types() -> None:
    first, last = get_period(None, 8)
    assert (first, last) == (date(2026, 9, 6), DEFAULT_END)
    calendar = build_calendar(first, last).set_index("date")
    assert set(calendar["day_type"]) == {"workday", "weekend", "holiday"}
    golden = calendar.loc[date(2026, 10, 1) : date(2026, 10, 7)]
    assert (golden["day_type"] == "holiday").all()
    assert (golden["holiday_name"] == "National Day").all()


def test_weekend_days_worked_in_exchange_are_workdays() -> None:
    calendar = build_calendar(date(2026, 9, 14), date(2026, 10, 11)).set_index("date")
    for worked in (date(2026, 9, 20), date(2026, 10, 10)):
        assert calendar.loc[worked, "day_type"] == "workday"
        assert calendar.loc[worked, "worked_weekend"]
    assert calendar.loc[date(2026, 10, 11), "day_type"] == "weekend"
    assert calendar.loc[date(2026, 9, 25), "holiday_name"] == "Mid-Autumn Festival"
