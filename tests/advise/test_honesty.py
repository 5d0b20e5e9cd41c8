"""Advice says what it does not know and moves nobody for nothing.

No forecast is never 0 %; the preferred time is kept unless another beats it by
``Policy.min_gain``; the window's last time is a candidate.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from urbanpulse.advise import (
    NAIVE_POLICY,
    Policy,
    build_trip,
    build_window,
    check_window,
    compute_advice,
    get_departure_slots,
)
from urbanpulse.advise.reasons import Outcome, build_message, build_reason

DAY = "2026-11-02"
NOW = pd.Timestamp("2026-11-01", tz="UTC").to_pydatetime()
# Crowding alone over 30 minutes in the crowd (the schedule's cost has tests of its own).
CROWDING_ONLY = {"value_early": 0.0, "value_late": 0.0, "value_late_deadline": 0.0,
                 "station_minutes": 30.0}  # fmt: skip
FIXED = Policy(name="fixed", spread=False, **CROWDING_ONLY)


def _window(start: str, end: str, preferred: str) -> object:
    return build_window(f"{DAY} {start}", f"{DAY} {end}", f"{DAY} {preferred}")


def _advise(forecast: pd.DataFrame, trip: object, window: object, **policy: object) -> object:
    rules = Policy(**{"spread": False, **CROWDING_ONLY, **policy})  # type: ignore[arg-type]
    return compute_advice(forecast, trip, window, policy=rules, now=NOW)


def _blank(forecast: pd.DataFrame, site_id: str, labels: list[str] | None = None) -> pd.DataFrame:
    """The forecast with ``site_id``'s values unknown (NaN), at ``labels`` or always."""
    local = forecast["slot"].dt.tz_convert("Asia/Shanghai").dt.strftime("%H:%M")
    rows = forecast["site_id"].eq(site_id) & (local.isin(labels) if labels else True)
    out = forecast.copy()
    out.loc[rows, ["load", "load_p10", "load_p90"]] = np.nan
    return out


def test_the_preferred_time_is_kept_unless_another_is_clearly_better(
    sites: pd.DataFrame, make_forecast: Callable[..., pd.DataFrame]
) -> None:
    trip = build_trip(sites, "a-s01")
    window = _window("07:30", "08:30", "08:00")
    # 07:45 is 1 point quieter than 08:00: under a minute over 30, not worth moving for.
    close = make_forecast(["a-s01"], {"07:45": 0.79, "08:00": 0.80}, default=0.9)
    kept = _advise(close, trip, window)
    assert kept.recommended is not None and kept.recommended["label"] == "08:00"
    assert kept.recommended["shift_minutes"] == 0
    assert "as you planned" in kept.message and "as good as any" in kept.message
    assert "saves 2 minutes or more" in kept.message
    # 20 points quieter is (about 11 minutes of crowded travel): the traveller is moved.
    clear = make_forecast(["a-s01"], {"07:45": 0.60, "08:00": 0.80}, default=0.9)
    moved = _advise(clear, trip, window)
    assert moved.recommended is not None and moved.recommended["label"] == "07:45"
    assert moved.message.startswith("Leave at 07:45: 25 % less crowded than 08:00")
    # The margin is the policy's: a 12-minute margin keeps 08:00 again.
    assert _advise(clear, trip, window, min_gain=12.0).recommended["label"] == "08:00"


def test_min_gain_holds_for_any_forecast(
    sites: pd.DataFrame, make_forecast: Callable[..., pd.DataFrame]
) -> None:
    rng = np.random.default_rng(3)
    trip = build_trip(sites, "a-s01")
    window = _window("07:00", "09:00", "08:00")
    labels = [f"{h:02d}:{m:02d}" for h in (7, 8) for m in (0, 15, 30, 45)] + ["09:00"]
    for _ in range(30):
        loads = dict(zip(labels, rng.uniform(0.3, 1.1, len(labels)), strict=True))
        for policy in (Policy(), Policy(spread=False), Policy(min_gain=5.0)):
            advice = compute_advice(make_forecast(["a-s01"], loads), trip, window,
                                    policy=policy, rng=rng, now=NOW)  # fmt: skip
            best = advice.recommended
            assert best is not None
            preferred = advice.slots.set_index("label").loc["08:00", "score"]
            if best["shift_minutes"] != 0:
                assert best["score"] <= preferred - policy.min_gain + 1e-9


def test_the_window_s_last_time_is_a_candidate(
    sites: pd.DataFrame, make_forecast: Callable[..., pd.DataFrame]
) -> None:
    trip = build_trip(sites, "a-s01")
    window = _window("07:00", "08:00", "07:00")
    forecast = make_forecast(["a-s01"], {"08:00": 0.2}, default=0.9)
    advice = _advise(forecast, trip, window)
    assert advice.slots["label"].tolist()[0] == "08:00"
    assert sorted(advice.slots["label"]) == ["07:00", "07:15", "07:30", "07:45", "08:00"]
    slots = get_departure_slots(window, period_minutes=15)
    assert slots[-1] == pd.Timestamp(f"{DAY} 08:00", tz="Asia/Shanghai")
    # A last time inside a period ends in that period, without the next one.
    inside = get_departure_slots(_window("07:00", "07:50", "07:00"), period_minutes=15)
    assert inside[-1] == pd.Timestamp(f"{DAY} 07:45", tz="Asia/Shanghai")


def test_no_forecast_is_null_crowding_and_no_recommendation(
    sites: pd.DataFrame, make_forecast: Callable[..., pd.DataFrame]
) -> None:
    trip = build_trip(sites, "a-s01")
    forecast = _blank(make_forecast(["a-s01"], default=0.5), "a-s01")
    advice = _advise(forecast, trip, _window("07:00", "08:00", "07:30"))
    assert advice.recommended is None and advice.coverage == 0.0
    assert advice.slots["crowding"].isna().all() and advice.slots["score"].isna().all()
    assert (advice.slots["forecast_share"] == 0).all()
    assert advice.message.startswith("No crowding forecast for this trip")
    payload = advice.to_dict()
    assert payload["recommended"] is None and payload["forecast_coverage"] == 0.0
    assert all(slot["crowding"] is None for slot in payload["slots"])


def test_an_unknown_preferred_time_is_not_compared(
    sites: pd.DataFrame, make_forecast: Callable[..., pd.DataFrame]
) -> None:
    trip = build_trip(sites, "a-s01")
    forecast = _blank(make_forecast(["a-s01"], {"07:00": 0.2}, default=0.9), "a-s01", ["07:30"])
    advice = _advise(forecast, trip, _window("07:00", "08:00", "07:30"))
    assert advice.recommended is None
    assert "no crowding forecast at your preferred time 07:30" in advice.message
    by_label = advice.slots.set_index("label")
    assert np.isnan(by_label.loc["07:30", "crowding"])
    assert by_label.loc["07:00", "crowding"] == pytest.approx(0.2)
    assert by_label.loc["07:00", "reason"].startswith("20 % full (no crowding forecast at 07:30)")


def test_stops_without_a_forecast_are_left_out_and_said(
    sites: pd.DataFrame, make_forecast: Callable[..., pd.DataFrame]
) -> None:
    # a-s01 -> a-s03 rides from a-s01 and a-s02; a-s02 has no history.
    trip = build_trip(sites, "a-s01", "a-s03")
    forecast = _blank(
        make_forecast(["a-s01", "a-s02"], {"07:45": 0.4, "08:00": 0.8}, default=0.9), "a-s02"
    )
    advice = _advise(forecast, trip, _window("07:30", "08:30", "08:00"))
    assert (advice.slots["forecast_share"] == 0.5).all()
    assert advice.coverage == pytest.approx(0.5)
    assert set(advice.slots["bottleneck_site_id"]) == {"a-s01"}
    assert advice.recommended is not None and advice.recommended["label"] == "07:45"
    assert "50 % of the stops" in advice.message and "no crowding history" in advice.message


def test_reasons_never_print_nan() -> None:
    nan = float("nan")
    assert build_reason(nan, nan, 0.0, 0.5, "08:00") == "no crowding forecast"
    assert build_reason(nan, nan, -15.0, 0.5, "08:00") == (
        "no crowding forecast, 15 min earlier than you wanted"
    )
    assert "nan" not in build_reason(0.4, 0.5, 30.0, nan, "08:00")
    outcome = Outcome(holdout=True, label=None, reason="", kept_preferred=False,
                      preferred_label="08:00", preferred_known=True, coverage=0.0,
                      holdout_share=0.1, min_gain=0.02)  # fmt: skip
    # Without any forecast the message says so, even to a holdout request.
    assert build_message(outcome).startswith("No crowding forecast")


def test_leaving_earlier_or_later_costs_what_the_scheduling_model_says(
    sites: pd.DataFrame, make_forecast: Callable[..., pd.DataFrame]
) -> None:
    """Default policy (Small 1982): a quieter train an hour and a half later is not worth
    it; a crush at the preferred time with a quiet train 15 minutes earlier is."""
    trip = build_trip(sites, "a-s01", "a-s04")  # 9 minutes on board
    window = _window("07:30", "09:30", "08:00")
    later_is_quieter = {f"{h:02d}:{m:02d}": 0.95 - 0.05 * k
                        for k, (h, m) in enumerate((h, m) for h in (7, 8, 9) for m in (0, 15, 30, 45))}  # fmt: skip
    forecast = make_forecast(["a-s01", "a-s02", "a-s03"], later_is_quieter, default=0.9)
    stay = compute_advice(forecast, trip, window, policy=Policy(spread=False), now=NOW)
    assert stay.recommended is not None and stay.recommended["label"] == "08:00"
    assert "as you planned" in stay.message
    # Crowding alone (as the old score nearly did) moves this rider over an hour later.
    naive = compute_advice(forecast, trip, window, policy=NAIVE_POLICY, now=NOW)
    assert naive.recommended is not None and naive.recommended["shift_minutes"] >= 75
    crush = make_forecast(["a-s01", "a-s02", "a-s03"], {"07:45": 0.6, "08:00": 1.3}, default=0.9)
    moved = compute_advice(crush, trip, window, policy=Policy(spread=False), now=NOW)
    assert moved.recommended is not None and moved.recommended["label"] == "07:45"
    # Its cost: 14 crowded minutes at 1.16, plus 15 minutes early at 0.61 each.
    assert moved.recommended["score"] == pytest.approx(14 * 1.16 + 15 * 0.61)


def test_the_window_s_end_may_be_the_preferred_time(
    sites: pd.DataFrame, make_forecast: Callable[..., pd.DataFrame]
) -> None:
    """Arrive by 09:00, preferably at 09:00: the natural question is accepted."""
    window = check_window(_window("08:00", "09:00", "09:00"), now=NOW)
    assert window.preferred == window.end
