"""Trip-level taps are kept only as coarse as the releases need and only as long as the
retention says: times stored as the start of their bucket (order within a trip still
read right), a month's taps deleted after its retention while what was published from
them stays, and a late file for a deleted month stores nothing."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd
from tests.privacy.conftest import build_tap_line
from typer.testing import CliRunner

from urbanpulse.cli import app
from urbanpulse.privacy import SHENZHEN_TAPS, KeyRing, ingest_taps, read_public_flows
from urbanpulse.privacy.flows import read_public_counts
from urbanpulse.privacy.ingest import purge_expired_taps
from urbanpulse.store import Lake

IN, OUT = "地铁入站", "地铁出站"
K = 2


def _ingest(lake: Lake, keys: KeyRing, path: Path, **rules: object):
    return ingest_taps(lake, [path], SHENZHEN_TAPS, keys, k=K, period_minutes=15,
                       timezone="Asia/Shanghai", tap_minutes=5, **rules)  # type: ignore[arg-type]  # fmt: skip


def _trips(day: str, cards: range, enter: str = "08:01:17", leave: str = "08:04:59") -> list[str]:
    return [
        line
        for n in cards
        for line in (
            build_tap_line(f"CARD{n:04d}", f"{day} {enter}", IN, "罗湖"),
            build_tap_line(f"CARD{n:04d}", f"{day} {leave}", OUT, "国贸"),
        )
    ]


def _stored(lake: Lake) -> pd.DataFrame:
    return pd.concat([pd.read_parquet(p) for p in lake.get_paths("taps")], ignore_index=True)


def test_times_are_stored_as_their_bucket_and_trips_still_pair(
    tap_file: Callable[[list[str]], Path], keys: KeyRing, tmp_path: Path
) -> None:
    lake = Lake(tmp_path / "lake")
    _ingest(lake, keys, tap_file(_trips("2018-09-01", range(3))))
    local = _stored(lake)["ts"].dt.tz_convert("Asia/Shanghai")
    assert set(local.dt.strftime("%H:%M:%S")) == {"08:00:00"}  # entry and exit, one bucket
    (trips,) = read_public_flows(lake).trips  # entry read before exit in a shared bucket
    assert trips == 3


def test_a_month_past_its_retention_is_deleted_and_its_counts_stay(
    tap_file: Callable[[list[str]], Path], keys: KeyRing, tmp_path: Path
) -> None:
    lake = Lake(tmp_path / "lake")
    _ingest(lake, keys, tap_file(_trips("2018-09-01", range(4))), retention_days=30)
    september = read_public_counts(lake)
    summary = _ingest(lake, keys, tap_file(_trips("2018-11-02", range(10, 14))), retention_days=30)
    assert summary.key_periods_deleted == ["2018-09"]  # ended 2018-09-30, 33 days before
    assert {f.partition["key_period"] for f in lake.get_files("taps")} == {"2018-11"}
    counts = read_public_counts(lake)
    kept = counts[counts.period_start.isin(september.period_start)]
    assert kept.taps.tolist() == september.taps.tolist()  # published stays published
    assert len(read_public_flows(lake)) == 2
    late = _ingest(lake, keys, tap_file(_trips("2018-09-03", range(20, 24))), retention_days=30)
    assert (late.taps_stored, late.taps_past_retention, late.duplicates_skipped) == (0, 8, 0)


def test_purge_deletes_by_the_newest_tap_or_the_clock(
    tap_file: Callable[[list[str]], Path], keys: KeyRing, tmp_path: Path
) -> None:
    lake = Lake(tmp_path / "lake")
    _ingest(lake, keys, tap_file(_trips("2018-09-01", range(4))))
    assert purge_expired_taps(lake, retention_days=92) == []  # newest tap: 2018-09-01
    env = {"URBANPULSE_PRIVACY_TAP_RETENTION_DAYS": "92", "URBANPULSE_CLOCK": "2019-01-01T00:00"}
    result = CliRunner().invoke(
        app, ["privacy", "purge", "--lake", str(lake.root), "--json"], env=env
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"key_periods_deleted": ["2018-09"]}
    assert Lake(lake.root).get_files("taps") == []
    assert len(read_public_counts(Lake(lake.root))) == 2  # the published counts stay
