"""A station list as a network: lines in the listed order, bad rows kept with their line,
a file that is no station list refused in one line, nothing for the journey planner."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from urbanpulse.cli import app
from urbanpulse.errors import SourceError
from urbanpulse.store import Lake, read_quarantine
from urbanpulse.store.networks import read_network_table
from urbanpulse.transit.loading import load_network
from urbanpulse.transit.network import read_transit_network
from urbanpulse.transit.station_list import build_station_list_network


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "stations.csv"
    path.write_text(text, "utf-8")
    return path


def test_a_headed_list_places_interchanges_on_every_line_in_order(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "line,line_name,sequence,station\n"
        "2,地铁2号线,2,世界之窗\n2,地铁2号线,1,赤湾\n2,地铁2号线,3,景田\n"
        "1,地铁1号线,1,罗湖\n1,地铁1号线,2,世界之窗\n"
        ",地铁1号线,3,无线\n1,地铁1号线,x,坏序\n1,地铁1号线,4,罗湖\n1,地铁1号线,5,\n"
        "1,地铁1号线,2,重序\n",
    )
    build = build_station_list_network(path, "sz")
    stops = build.tables["line_stops"]
    by_line = {k: list(v["site_id"]) for k, v in stops.groupby("line_id")}
    assert by_line == {
        "sz:1": ["sz:罗湖", "sz:世界之窗"],
        "sz:2": ["sz:赤湾", "sz:世界之窗", "sz:景田"],
    }
    assert list(build.tables["lines"]["name_zh"]) == ["地铁1号线", "地铁2号线"]
    assert len(build.sites) == 4  # the interchange is one station
    reasons = {(r["line"], r["column_name"], r["reason"]) for r in build.quarantine}
    assert reasons == {
        (7, "line", "no line"),
        (8, "sequence", "sequence is not a whole number"),
        (9, "station", "station listed twice on its line"),
        (10, "station", "no station"),
        (11, "sequence", "sequence listed twice on its line"),
    }


def test_a_loaded_list_keeps_its_rejects_and_stays_out_of_journeys(tmp_path: Path) -> None:
    path = _write(tmp_path, "1,地铁1号线,1,罗湖,0101\n1,地铁1号线,2,国贸,0102\n1,地铁1号线,2\n")
    lake = Lake(tmp_path / "lake")
    summary = load_network(lake, path, network_id="sz")
    assert summary.kind == "station_list" and summary.stored["line_stops"] == 2
    assert summary.quarantined == {"stations.csv": 1}
    assert read_quarantine(lake)["line"].tolist() == [3]
    assert read_network_table(lake, "lines").num_rows == 1
    assert read_transit_network(lake).stops.empty
    assert load_network(lake, path, network_id="sz").already_loaded


@pytest.mark.parametrize(
    "text",
    ["", "name,value\nx,1\n", "a,b\n", "\ufffe\x00garbage,\n"],
    ids=["empty", "header", "short", "junk"],
)
def test_a_file_that_is_no_station_list_is_one_clear_line(tmp_path: Path, text: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(SourceError, match=r"stations\.csv"):
        build_station_list_network(path, "sz")
    result = CliRunner().invoke(
        app, ["transit", "load", str(path), "--lake", str(tmp_path / "lake")]
    )
    assert result.exit_code == 2
    assert "Traceback" not in result.output and result.output.strip().count("\n") == 0
