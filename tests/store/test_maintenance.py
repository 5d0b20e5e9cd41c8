"""Lake upkeep as services and people run it: maintain_lake and the 'lake' commands."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
from typer.testing import CliRunner

from urbanpulse.cli import app
from urbanpulse.settings import Settings
from urbanpulse.store import Lake, append_observations, read_observations, read_rollups
from urbanpulse.store.maintenance import maintain_lake, open_lake

runner = CliRunner()
START = datetime(2026, 1, 1, tzinfo=UTC)


def _fill(lake: Lake, *, batches: int, days: int) -> int:
    """``batches`` commits of hourly pm25 values over ``days`` days for two sites."""
    hours = list(range(0, 24 * days))
    for b in range(batches):
        mine = hours[b::batches]
        append_observations(
            lake,
            pa.table(
                {
                    "site_id": [s for s in ("a", "b") for _ in mine],
                    "metric": ["pm25"] * 2 * len(mine),
                    "ts": pa.array(
                        [START + timedelta(hours=h) for _ in "ab" for h in mine],
                        pa.timestamp("us", tz="UTC"),
                    ),
                    "value": [float(h % 50) for _ in "ab" for h in mine],
                    "unit": ["ug/m3"] * 2 * len(mine),
                }
            ),
        )
    return 2 * len(hours)


def test_maintain_lake_compacts_rolls_up_and_retains_as_the_settings_say(tmp_path: Path) -> None:
    settings = Settings(
        lake_path=tmp_path / "lake",
        lake_compact_min_files=4,
        lake_raw_retention_days=40,
        lake_checkpoint_interval=5,
    )
    lake = open_lake(settings)
    total = _fill(lake, batches=6, days=100)
    summary = maintain_lake(lake, settings)
    assert summary.compaction.partitions == 4  # January to April, six files each
    assert summary.retention is not None
    assert summary.retention.partitions_removed == ["pm25/2026-01", "pm25/2026-02"]
    assert read_observations(lake, "pm25").ts.min() == datetime(2026, 3, 1, tzinfo=UTC)
    daily = read_rollups(lake, "pm25", grain="daily")
    assert sum(daily.column("count").to_pylist()) == total  # raw or not, every value counted
    assert Lake(settings.lake_path).checkpoint_version > 0
    json.dumps(summary.to_dict())  # JSON-ready for services' logs


def test_retention_off_in_the_settings_removes_nothing(tmp_path: Path) -> None:
    settings = Settings(lake_path=tmp_path / "lake", lake_retention=False)
    lake = open_lake(settings)
    total = _fill(lake, batches=1, days=500)
    summary = maintain_lake(lake, settings)
    assert summary.retention is None
    assert len(read_observations(lake, "pm25")) == total


def test_lake_commands_compact_retain_and_checkpoint(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("URBANPULSE_LOCAL_TIMEZONE", "Asia/Shanghai")
    root = tmp_path / "lake"
    _fill(Lake(root), batches=3, days=70)
    lake_option = ["--lake", str(root)]
    result = runner.invoke(app, ["lake", "compact", "--min-files", "3", *lake_option])
    assert result.exit_code == 0, result.output
    assert "compacted 3 partitions: 9 files into 3" in " ".join(result.output.split())
    result = runner.invoke(app, ["lake", "retain", "--days", "30", "--json", *lake_option])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["partitions_removed"] == ["pm25/2026-01"]
    result = runner.invoke(app, ["lake", "checkpoint", *lake_option])
    assert result.exit_code == 0, result.output
    assert "checkpoint written at version" in result.output
    assert Lake(root).checkpoint_version == Lake(root).version
    info = runner.invoke(app, ["lake", "info", *lake_option])
    assert "rollups_daily" in info.output


def test_retain_says_so_when_retention_is_off(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("URBANPULSE_LAKE_RETENTION", "false")
    result = runner.invoke(app, ["lake", "retain", "--lake", str(tmp_path / "lake")])
    assert result.exit_code == 2
    assert "retention is off" in result.output
