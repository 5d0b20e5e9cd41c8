"""The NGSI-LD language filter (ETSI GS CIM 009 4.15): a LanguageProperty answered as
a Property in the language a ``lang`` range list prefers."""

from __future__ import annotations

import pytest

from urbanpulse.errors import InvalidQueryError
from urbanpulse.ngsi.languages import choose_language, parse_languages

STREET = {"type": "LanguageProperty", "languageMap": {"fr": "Grand Place", "nl-BE": "Grote Markt"}}  # fmt: skip


@pytest.mark.parametrize(
    ("lang", "tag"),
    [
        ("fr", "fr"),
        ("NL-be", "nl-BE"),  # tags compare without regard to case
        ("nl", "nl-BE"),  # a shorter range matches a longer tag
        ("fr-CH", "fr"),  # a longer range is cut until it matches
        ("en,nl-BE;q=0.9,fr;q=0.8", "nl-BE"),  # weights, then list position
        ("fr;q=0.5,nl-BE", "nl-BE"),  # a weight outranks the position
        ("*", "fr"),  # any: the first it has
        ("de", "fr"),  # none matches: any language it has
        ("de,fr;q=0", "fr"),  # q=0 is "not this one", and then any
        ("zh_CN", "fr"),  # the product's own locale spelling is read as a range
    ],
)
def test_a_language_property_is_answered_in_the_preferred_language(lang: str, tag: str) -> None:
    ranges = parse_languages(lang)
    assert ranges is not None
    chosen = choose_language(STREET, ranges)
    assert chosen == {"type": "Property", "value": STREET["languageMap"][tag], "lang": tag}  # type: ignore[index]


def test_other_attributes_and_instances_keep_their_form() -> None:
    ranges = parse_languages("nl")
    assert ranges is not None
    plain = {"type": "Property", "value": 3}
    both = [STREET | {"datasetId": "urn:ngsi-ld:Dataset:a"}, plain]
    assert choose_language(both, ranges) == [
        {
            "type": "Property",
            "value": "Grote Markt",
            "lang": "nl-BE",
            "datasetId": "urn:ngsi-ld:Dataset:a",
        },
        plain,
    ]
    assert parse_languages(None) is None


@pytest.mark.parametrize("lang", ["fr;q=2", "fr;q=x", "<script>", "fr," * 40])
def test_an_unreadable_range_list_is_one_clear_error(lang: str) -> None:
    with pytest.raises(InvalidQueryError, match="lang"):
        parse_languages(lang)
