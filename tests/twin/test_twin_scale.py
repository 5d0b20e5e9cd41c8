"""The demo at scale: N copies of its sites, counted as promised, built in chunks, and the
commands that run over it on either engine (``--engine``, ``demo --scale``)."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pytest
from typer.testing import CliRunner

from urbanpulse.cli import app
from urbanpulse.store import Lake, read_sites
from urbanpulse.twin import build_observations
from urbanpulse.twin.network import build_network
from urbanpulse.twin.scale import build_scaled_demo, get_copy_suffix

runner = CliRunner()


@pytest.fixture(scope="module")
def one_copy() -> pa.Table:
    return build_observations(weeks=1)


def test_two_copies_hold_twice_the_sites_and_observations(
    tmp_path: Path, one_copy: pa.Table
) -> None:
    lake = Lake(tmp_path / "lake-x2")
    steps: list[tuple[int, int]] = []
    summary = build_scaled_demo(
        lake, scale=2, weeks=1, progress=lambda step, done, total: steps.append((done, total))
    )
    base = build_network(2026).sites.num_rows
    assert summary.sites == 2 * base == read_sites(lake).shape[0]
    stored = sum(f.rows for f in lake.get_files("observations"))
    # Each copy loses its own random dropouts, so counts match to a fraction of a percent.
    assert stored == summary.observations
    assert abs(stored - 2 * one_copy.num_rows) / (2 * one_copy.num_rows) < 0.005
    assert steps[-1] == (2, 2) and steps[0] == (0, 2)
    sites = set(read_sites(lake)["site_id"])
    assert "bj-m1-s06" in sites and "bj-m1-s06" + get_copy_suffix(1) in sites


def test_a_copy_is_its_own_draw_written_sorted(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    build_scaled_demo(lake, scale=2, weeks=1)
    from urbanpulse.store import read_observations

    first = read_observations(lake, "boardings", site_ids=["bj-m1-s06"])
    second = read_observations(lake, "boardings", site_ids=["bj-m1-s06-x001"])
    assert len(first) > 0 and len(second) > 0
    assert not first["value"].reset_index(drop=True).equals(second["value"].reset_index(drop=True))
    import pyarrow.parquet as pq

    for path in lake.get_paths("observations"):
        table = pq.read_table(path, columns=["site_id", "ts"])
        order = pc.sort_indices(table, [("site_id", "ascending"), ("ts", "ascending")])
        assert order.to_pylist() == list(range(table.num_rows)), path


def test_a_stopped_build_resumes_without_writing_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Windows of one week keep the build small; the rule is the same for any size.
    monkeypatch.setattr("urbanpulse.twin.scale.CHUNK_WEEKS", 1)
    lake = Lake(tmp_path / "lake")
    weeks = 2  # two windows per copy
    first = build_scaled_demo(lake, scale=1, weeks=weeks)
    again = build_scaled_demo(lake, scale=2, weeks=weeks)
    assert first.chunks_written == 2
    assert again.chunks_skipped == 2 and again.chunks_written == 2
    assert lake.get_files("sites")  # written once, by the first build


def test_demo_scale_builds_its_own_lake_beside_the_demo(tmp_path: Path) -> None:
    demo = tmp_path / "lake"
    result = runner.invoke(
        app, ["demo", "--scale", "2", "--weeks", "1", "--lake", str(demo), "--no-serve"]
    )
    assert result.exit_code == 0, result.output
    assert "scaled demo (2x)" in result.output
    # --lake names the scaled lake itself; nothing else is written.
    assert Lake(demo).get_files("observations")
    result = runner.invoke(app, ["demo", "--scale", "0", "--no-serve"])
    assert result.exit_code != 0


@pytest.mark.parametrize("engine", ["duckdb", "spark"])
def test_profiles_of_every_site_on_the_engine_asked_for(tmp_path: Path, engine: str) -> None:
    if engine == "spark":
        from urbanpulse.store.spark_engine import has_java

        try:
            import pyspark  # noqa: F401
        except ImportError:
            pytest.skip('pyspark not installed: pip install "urbanpulse[spark]"')
        if not has_java():
            pytest.skip("no Java runtime for Spark")
    lake = Lake(tmp_path / "lake")
    build_scaled_demo(lake, scale=1, weeks=1)
    before = os.environ.get("URBANPULSE_ENGINE")
    result = runner.invoke(
        app,
        [
            "--engine",
            engine,
            "profiles",
            "--metric",
            "pm25",
            "--period",
            "60",
            "--lake",
            str(lake.root),
        ],
    )
    assert result.exit_code == 0, result.output
    assert os.environ.get("URBANPULSE_ENGINE") == before  # the option ends with the command
    table = pacsv.read_csv(io.BytesIO(result.stdout.encode()))
    assert table.column_names == ["site_id", "day_type", "period_start", "mean", "p50", "p90", "n"]
    assert len(set(table["site_id"].to_pylist())) == 29  # every air monitor
    daily = runner.invoke(
        app, ["--engine", engine, "periods", "--metric", "pm25", "--lake", str(lake.root)]
    )
    assert daily.exit_code == 0, daily.output
    days = pacsv.read_csv(io.BytesIO(daily.stdout.encode()))
    assert days.num_rows == 29 * 7


def test_an_unknown_engine_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["--engine", "pandas", "profiles", "--metric", "pm25"])
    assert result.exit_code == 2
    assert "unknown engine 'pandas'; use duckdb or spark" in result.output
    assert "Traceback" not in result.output
