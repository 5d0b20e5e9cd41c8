"""`urbanpulse advise FROM TO`, used as a commuter would, on the demo and on the real
Beijing subway network."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from urbanpulse.advise.routes import resolve_station_pair
from urbanpulse.advise.service import TripRequest, build_advice_service
from urbanpulse.cli import app
from urbanpulse.cli.advise import parse_window
from urbanpulse.errors import InvalidQueryError, NotFoundError
from urbanpulse.settings import Settings
from urbanpulse.store import Lake
from urbanpulse.transit.loading import load_network

runner = CliRunner()
DAY = "2026-11-02"  # the demo's planning day: the Monday after its last data


def advise(lake: Lake, *args: str) -> dict:
    # No holdout draw: every request of these tests gets a recommendation.
    result = runner.invoke(
        app,
        ["advise", *args, "--lake", str(lake.root), "--json"],
        env={"URBANPULSE_ADVICE_HOLDOUT_SHARE": "0"},
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_a_journey_by_names_changes_lines(demo_lake: Lake) -> None:
    body = advise(demo_lake, "西直门", "国贸", "--day", DAY, "--window", "07:00-09:30")
    assert body["transfers"] == 1 and len(body["legs"]) == 2
    first, second = body["legs"]
    assert first["from_name_zh"] == "西直门" and second["to_name_zh"] == "国贸"
    assert first["to_name_en"] == second["from_name_en"]  # the change at one station
    assert first["arrival"] <= second["departure"]
    labels = [slot["label"] for slot in body["slots"]]
    assert "07:00" in labels and "09:30" in labels  # the window's last time is a candidate
    assert body["recommended"]["reason"] and body["message"].startswith("Leave at")
    assert 1 <= len(body["routes"]) <= 3 and body["routes"][0]["chosen"]


def test_the_command_speaks_the_shells_language(demo_lake: Lake) -> None:
    chinese = {"URBANPULSE_ADVICE_HOLDOUT_SHARE": "0", "LANG": "zh_CN.UTF-8"}
    args = ["advise", "西直门", "国贸", "--day", DAY, "--lake", str(demo_lake.root)]
    spoken = runner.invoke(app, args, env=chinese)
    assert spoken.exit_code == 0 and "出发" in spoken.output and "Leave at" not in spoken.output
    # The tables too: headers, the day, line and station names, units (only the band's
    # p10-p90 and figures in Latin script).
    assert "线路" in spoken.output and "北京地铁2号线" in spoken.output
    assert re.findall(r"[A-Za-z]{2,}", spoken.output) == []
    missing = runner.invoke(
        app, ["advise", "西直门", "火星", "--lake", str(demo_lake.root)], env=chinese
    )
    assert missing.exit_code == 2 and "没有名为 '火星' 的车站" in missing.output
    english = runner.invoke(app, ["--lang", "en", *args], env=chinese)
    assert english.exit_code == 0 and "Leave at" in english.output
    assert "Beijing Subway" in english.output and "Xizhimen" in english.output
    assert re.findall(r"[\u4e00-\u9fff]", english.output) == []


def test_every_route_is_priced_at_the_answers_slot(demo_lake: Lake) -> None:
    # A rider weighing another way needs its crowding and cost at the same time.
    body = advise(demo_lake, "西直门", "国贸", "--day", DAY, "--window", "07:00-09:30")
    assert len(body["routes"]) >= 2
    first = body["slots"][0]
    chosen = next(r for r in body["routes"] if r["chosen"])
    assert chosen["crowding"] == pytest.approx(first["crowding"], abs=1e-3)
    assert chosen["minutes_at_slot"] == pytest.approx(first["travel_minutes"], abs=0.05)
    for route in body["routes"]:
        assert route["crowding"] is not None and 0 <= route["crowding"] < 3
        assert route["cost"] is not None and route["minutes_at_slot"] > 0
    others = [r for r in body["routes"] if not r["chosen"]]
    # The fastest route was chosen; the others cost at least as much at that slot or
    # differ in crowding, never the same figures copied.
    assert any(r["minutes_at_slot"] != chosen["minutes_at_slot"] for r in others)


def test_intercity_rail_joins_the_metro_at_its_stated_interchange(demo_lake: Lake) -> None:
    # Beijing North (the Zhangjiakou railway's terminus) opens onto Xizhimen's metro: no
    # name or distance rule joins them, the network states the walk.
    body = advise(demo_lake, "张家口", "国贸", "--day", DAY, "--window", "06:00-09:30")
    rides = [leg for leg in body["legs"] if leg.get("line_id")]
    assert rides[0]["line_id"] == "bjzjk-r" and rides[-1]["to_name_zh"] == "国贸"
    assert rides[0]["to_name_zh"] == "北京北" and rides[1]["from_name_zh"] == "西直门"
    assert rides[1]["departure"] >= rides[0]["arrival"]  # the walk fits between them


def test_pinyin_names_and_ids_name_the_same_journey(demo_lake: Lake) -> None:
    by_name = advise(demo_lake, "xizhimen", "Guo Mao", "--day", DAY)
    by_id = advise(demo_lake, by_name["origin"], by_name["destination"], "--day", DAY)
    assert [leg["line_id"] for leg in by_name["legs"]] == [leg["line_id"] for leg in by_id["legs"]]


def test_arrive_by_moves_the_window_back_by_the_trip(demo_lake: Lake) -> None:
    body = advise(
        demo_lake, "西直门", "国贸", "--day", DAY, "--window", "08:30-09:30", "--arrive-by"
    )
    assert body["arrive_by"] is True
    for slot in body["slots"]:
        arrival = datetime.fromisoformat(slot["arrival"])
        # Every slot offered arrives within the window, by its own travel time.
        assert "08:30" <= arrival.strftime("%H:%M") <= "09:30"
        assert datetime.fromisoformat(slot["departure"]) < arrival


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["nowhere", "国贸"], "no station is called"),
        (["西直门", "国贸", "--window", "7-9:30"], "--window takes"),
        (["西直门", "国贸", "--route", "7", "--day", DAY], "route 7 does not exist"),
        (["西直门", "刘园", "--day", DAY], "no journey connects"),
    ],
)
def test_bad_questions_get_one_line(demo_lake: Lake, args: list[str], words: str) -> None:
    result = runner.invoke(app, ["advise", *args, "--lake", str(demo_lake.root)])
    assert result.exit_code == 2
    assert words in result.output and "Traceback" not in result.output


def test_a_window_past_midnight_ends_the_next_day() -> None:
    start, end, preferred = parse_window("23:30-00:30", "23:45", "2026-11-02")
    assert (start.day, end.day, preferred.hour) == (2, 3, 23)  # type: ignore[union-attr]
    with pytest.raises(InvalidQueryError):
        parse_window("soon", None, "2026-11-02")


@pytest.fixture(scope="module")
def beijing(shared_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Lake:
    source = shared_data_dir / "beijing-subway-2017"
    if not (source / "subway.json").is_file():
        pytest.skip(f"the Beijing subway file is not in {source}")
    lake = Lake(tmp_path_factory.mktemp("beijing-advice") / "lake")
    load_network(lake, source)
    return lake


@pytest.fixture(scope="module")
def shared_data_dir(shared_data: Path) -> Path:
    return shared_data


def test_the_real_beijing_network_plans_a_change_and_says_crowding_is_unknown(
    beijing: Lake,
) -> None:
    settings = Settings(lake_path=beijing.root, clock=datetime(2026, 12, 1, 6, 0))
    service = build_advice_service(settings, beijing)
    origin, destination = resolve_station_pair(beijing, "西直门", "国贸")
    window = (datetime(2026, 12, 1, 7, 0), datetime(2026, 12, 1, 9, 30), None)
    body = service.advise(TripRequest(origin, destination, *window))
    assert body["transfers"] >= 1
    assert body["legs"][0]["from_name_zh"] == "西直门" and body["legs"][-1]["to_name_zh"] == "国贸"
    assert len({tuple(r["lines"]) for r in body["routes"]}) == len(body["routes"]) >= 2
    # No ridership was loaded for this network: no crowding, never a made-up 0 %.
    assert body["recommended"] is None
    assert all(slot["crowding"] is None for slot in body["slots"])
    assert all(
        slot["travel_minutes"] and 15 < slot["travel_minutes"] < 60 for slot in body["slots"]
    )


def test_real_names_resolve_on_the_real_network_only(beijing: Lake) -> None:
    origin, destination = resolve_station_pair(beijing, "Xizhimen", "guomao")
    assert origin.startswith("beijing-subway-2017:") and destination.startswith(
        "beijing-subway-2017:"
    )
    with pytest.raises(NotFoundError):
        resolve_station_pair(beijing, "Atlantis", "guomao")


def test_a_name_on_two_networks_asks_which_one(shared_data_dir: Path, tmp_path: Path) -> None:
    from urbanpulse.store import upsert_sites
    from urbanpulse.twin.network import build_network

    lake = Lake(tmp_path / "lake")
    upsert_sites(lake, build_network(2026).sites)  # the demo's lines: network 'sites'
    load_network(lake, shared_data_dir / "beijing-subway-2017")
    with pytest.raises(InvalidQueryError, match="several networks"):
        resolve_station_pair(lake, "西直门", "国贸")
    demo = resolve_station_pair(lake, "西直门", "国贸", network_id="sites")
    real = resolve_station_pair(lake, "西直门", "国贸", network_id="beijing-subway-2017")
    assert demo[0].startswith("bj-m") and real[0].startswith("beijing-subway-2017:")
    with pytest.raises(NotFoundError, match="on network 'sites'"):
        resolve_station_pair(lake, "火器营", "国贸", network_id="sites")


def test_the_slots_table_prints_a_slot_without_service() -> None:
    """A route variant with no train at a slot has no arrival: a row says so."""
    from rich.console import Console

    from urbanpulse.cli.advise import build_slots_table

    slot = {"label": "23:45", "arrival": None, "travel_minutes": None, "crowding": None,
            "crowding_p10": None, "crowding_p90": None, "reason": "no crowding forecast"}  # fmt: skip
    console = Console(record=True, width=120)
    console.print(build_slots_table({"slots": [slot]}))
    assert "no service" in console.export_text()


def test_the_plain_answer_states_the_day_and_counts_changes_in_words(demo_lake: Lake) -> None:
    from typer.testing import CliRunner

    from urbanpulse.cli import app

    args = ["advise", "西直门", "国贸", "--window", "07:00-09:30", "--lake", str(demo_lake.root)]
    default = CliRunner().invoke(app, args)
    assert default.exit_code == 0, default.output
    assert "Planned for Monday 2026-11-02 (the next working day" in default.stdout
    assert ": 1 change" in default.stdout and "change(s)" not in default.stdout
    asked = CliRunner().invoke(app, [*args, "--day", DAY])
    assert f"Planned for Monday {DAY} (as asked)" in asked.stdout
