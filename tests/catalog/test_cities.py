"""The built-in Jing-Jin-Ji catalogue."""

from __future__ import annotations

import pytest

from urbanpulse.catalog import get_cities, get_cities_table, get_city
from urbanpulse.errors import NotFoundError


def test_thirteen_cities_with_the_2020_census_total():
    cities = get_cities()
    assert len(cities) == 13
    # PRODUCT.md's figures: "over 100 million people"
    assert sum(c.population_2020 for c in cities) == 108_067_913
    assert get_city("Beijing").population_2020 == 21_893_095
    assert {c.area for c in cities} == {"BJ", "TJ", "HE"}
    assert sum(1 for c in cities if c.area == "HE") == 11


def test_table_columns_are_exactly_documented():
    assert list(get_cities_table().columns) == [
        "code",
        "name_zh",
        "name_en",
        "area",
        "lat",
        "lon",
        "population_2020",
    ]


@pytest.mark.parametrize("query", ["130700", "Zhangjiakou", "zhangjiakou", "张家口"])
def test_find_a_city_by_code_or_either_name(query):
    assert get_city(query).code == "130700"


def test_unknown_city_and_region_raise_not_found():
    with pytest.raises(NotFoundError):
        get_city("Atlantis")
    with pytest.raises(NotFoundError):
        get_cities("pearl-river-delta")
