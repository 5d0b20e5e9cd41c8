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
