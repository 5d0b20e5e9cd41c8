"""Station search by Chinese or English name or pinyin, partial and case-insensitive."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from urbanpulse.errors import InvalidQueryError
from urbanpulse.store import Lake
from urbanpulse.transit import LoadSummary, find_stations
from urbanpulse.transit.names import get_folded, get_pinyin, get_pinyin_name

NETWORK = "beijing-subway-2017"


@pytest.mark.parametrize("query", ["xizhi", "Xi Zhi Men", "西直", "XIZHIMEN", "Xīzhímén"])
def test_xizhimen_is_found_by_any_name(beijing_lake: tuple[Lake, LoadSummary], query: str) -> None:
    lake, _ = beijing_lake
    found = find_stations(lake, query, network_id=NETWORK)
    assert found[0].name_zh == "西直门"
    assert found[0].lines == ["2号线", "4号线", "13号线"]
    assert len(found[0].site_ids) == 3 and found[0].site_id in found[0].site_ids


def test_guomao_by_pinyin_is_one_station_on_two_lines(
    beijing_lake: tuple[Lake, LoadSummary],
) -> None:
    lake, _ = beijing_lake
    found = find_stations(lake, "guomao", network_id=NETWORK)
    assert [m.name_zh for m in found] == ["国贸"]
    assert found[0].match == "exact" and found[0].lines == ["1号线", "10号线"]
    assert found[0].network_id == NETWORK and found[0].lat is None


def test_ranking_exact_before_prefix_before_substring(
    beijing_lake: tuple[Lake, LoadSummary],
) -> None:
    lake, _ = beijing_lake
    found = find_stations(lake, "dongzhimen", network_id=NETWORK, limit=50)
    assert found[0].name_zh == "东直门" and found[0].match == "exact"
    kinds = [m.match for m in find_stations(lake, "西", network_id=NETWORK, limit=200)]
    assert kinds == sorted(kinds, key=["exact", "prefix", "substring"].index)
    assert "substring" in kinds and "prefix" in kinds


def test_an_empty_query_is_refused(beijing_lake: tuple[Lake, LoadSummary]) -> None:
    lake, _ = beijing_lake
    with pytest.raises(InvalidQueryError):
        find_stations(lake, " - ")


def test_pinyin_of_station_names() -> None:
    assert get_pinyin_name("西直门") == "Xizhimen"
    assert get_pinyin_name("朝阳门") == "Chaoyangmen"  # not 'Zhaoyangmen'
    assert get_pinyin_name("长椿街") == "Changchunjie"
    assert get_pinyin_name("2号航站楼") == "Terminal 2"
    # As the city's English signs write them: direction words translated, apostrophes
    # before a syllable that opens with a vowel, railway stations named so.
    assert get_pinyin_name("天安门东") == "Tian'anmen East"
    assert get_pinyin_name("安河桥北") == "Anheqiao North"
    assert get_pinyin_name("西二旗") == "Xi'erqi"
    assert get_pinyin_name("西单") == "Xidan"  # a place name, not "Dan West"
    assert get_pinyin_name("北京西站", railway_suffix=True) == "Beijing West Railway Station"
    assert get_pinyin_name("北京西站") == "Beijingxizhan"  # 站 alone is no railway elsewhere
    assert get_pinyin("国贸") == "guomao"


@settings(max_examples=60, deadline=None)
@given(
    name=st.sampled_from(["西直门", "国贸", "东直门", "宋家庄", "朝阳门", "中关村"]),
    flips=st.lists(st.booleans(), min_size=20, max_size=20),
    spaces=st.lists(st.booleans(), min_size=20, max_size=20),
)
def test_search_ignores_case_and_spaces(
    beijing_lake: tuple[Lake, LoadSummary], name: str, flips: list[bool], spaces: list[bool]
) -> None:
    lake, _ = beijing_lake
    spelled = get_pinyin(name)
    query = "".join(
        (c.upper() if f else c) + (" " if s else "")
        for c, f, s in zip(spelled, flips, spaces, strict=False)
    )
    found = find_stations(lake, query, network_id=NETWORK)
    assert found[0].name_zh == name and found[0].match == "exact"


@given(st.text(max_size=12))
def test_folding_is_idempotent_and_case_free(text: str) -> None:
    folded = get_folded(text)
    assert get_folded(folded) == folded
    assert get_folded(text.upper()) == get_folded(text.lower()) or not text.isascii()


def build_two_city_index() -> object:
    """火车站 in Tangshan and in Handan, 国贸 and 西直门 in Beijing, one network."""
    import json

    import pandas as pd

    from urbanpulse.transit.search import StationIndex, _group_stations

    rows = [
        ("ts-hcz", "火车站", "Huochezhan", "130200"),
        ("hd-hcz", "火车站", "Huochezhan", "130400"),
        ("bj-gm", "国贸", "Guomao", "110000"),
        ("bj-xzm", "西直门", "Xizhimen", "110000"),
    ]
    sites = pd.DataFrame(
        {
            "site_id": [r[0] for r in rows],
            "kind": "metro_station",
            "name_zh": [r[1] for r in rows],
            "name_en": [r[2] for r in rows],
            "lat": 39.0,
            "lon": 116.0,
            "attributes": json.dumps({"network_id": "n"}),
            "synthetic": False,
            "city_code": [r[3] for r in rows],
        }
    )
    served = pd.DataFrame({"site_id": sites["site_id"], "line_id": "L1", "line": "1号线"})
    return StationIndex(_group_stations(sites, served))


def test_one_result_per_station_and_city_labelled_with_the_city() -> None:
    index = build_two_city_index()
    found = index.find("火车站")
    assert sorted((m.city_zh, m.city_en, m.site_ids[0]) for m in found) == [
        ("唐山", "Tangshan", "ts-hcz"),
        ("邯郸", "Handan", "hd-hcz"),
    ]
    # a city before or after the name, in characters or pinyin, narrows to that city
    for query in (
        "唐山火车站",
        "火车站唐山",
        "唐山市 火车站",
        "huochezhan tangshan",
        "Tangshan 火车站",
    ):
        assert [m.site_id for m in index.find(query)] == ["ts-hcz"], query
    assert index.find("邯郸火车站")[0].city_en == "Handan"


@pytest.mark.parametrize(
    ("query", "site_id", "match"),
    [
        ("gm", "bj-gm", "initials"),  # pinyin initials
        ("xzm", "bj-xzm", "initials"),
        ("国贸站", "bj-gm", "exact"),  # the 站 suffix dropped
        ("Guomao Station", "bj-gm", "exact"),
        ("xizhimne", "bj-xzm", "fuzzy"),  # two letters swapped
        ("xizhmen", "bj-xzm", "fuzzy"),  # one missing
        ("guomaoo", "bj-gm", "fuzzy"),  # one extra
    ],
)
def test_what_riders_type_finds_the_station(query: str, site_id: str, match: str) -> None:
    found = build_two_city_index().find(query)
    assert (found[0].site_id, found[0].match) == (site_id, match)


def test_typos_are_forgiven_only_when_nothing_matches_as_typed() -> None:
    index = build_two_city_index()
    assert index.find("gmao") == []  # too short to guess a typo from
    assert [m.match for m in index.find("guomao")] == ["exact"]


def test_the_real_network_finds_beijing_west_by_its_short_name(
    beijing_lake: tuple[Lake, LoadSummary],
) -> None:
    lake, _ = beijing_lake
    # 北京西 is a prefix of 北京西站 as typed; reading it as "Beijing" + "西" comes after
    assert find_stations(lake, "北京西", network_id=NETWORK)[0].name_zh == "北京西站"
    assert find_stations(lake, "xizhimne", network_id=NETWORK)[0].name_zh == "西直门"
    assert find_stations(lake, "国贸站", network_id=NETWORK)[0].name_zh == "国贸"
    assert find_stations(lake, "xzm", network_id=NETWORK)[0].city_zh == "北京"
    # Official English names, as a visitor types them from a sign or a guidebook.
    for english, chinese in (("Beijing West Railway Station", "北京西站"),
                             ("Tian'anmen East", "天安门东"), ("tiananmen east", "天安门东"),
                             ("Beijing South Railway Station", "北京南站")):  # fmt: skip
        assert find_stations(lake, english, network_id=NETWORK)[0].name_zh == chinese, english


def test_the_airport_terminals_are_found_by_the_names_travellers_use(
    beijing_lake: tuple[Lake, LoadSummary],
) -> None:
    lake, _ = beijing_lake
    both = {m.name_zh for m in find_stations(lake, "Capital Airport", network_id=NETWORK)[:2]}
    assert both == {"2号航站楼", "3号航站楼"}
    for asked, terminal in (("Capital Airport Terminal 3", "3号航站楼"), ("首都机场T2", "2号航站楼"),
                            ("capital airport terminal 2", "2号航站楼"), ("Terminal 3", "3号航站楼")):  # fmt: skip
        found = find_stations(lake, asked, network_id=NETWORK)
        assert found[0].name_zh == terminal, asked
        assert found[0].name_en == f"Terminal {terminal[0]}"  # the sign's name is shown


def test_the_command_lists_stations_in_the_shells_language(
    beijing_lake: tuple[Lake, LoadSummary],
) -> None:
    from typer.testing import CliRunner

    from urbanpulse.cli import app

    lake, _ = beijing_lake
    args = ["transit", "stations", "xzm", "--lake", str(lake.root)]
    chinese = CliRunner().invoke(app, args, env={"LANG": "zh_CN.UTF-8"})
    assert chinese.exit_code == 0, chinese.output
    assert "匹配方式" in chinese.output and "拼音首字母" in chinese.output
    assert "西直门" in chinese.output and "北京" in chinese.output
    english = CliRunner().invoke(app, ["--lang", "en", *args])
    assert "initials" in english.output and "Xizhimen" in english.output
