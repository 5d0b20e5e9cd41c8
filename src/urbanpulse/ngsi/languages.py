"""The ``lang`` parameter of NGSI-LD (ETSI GS CIM 009 4.15): which natural language a
LanguageProperty is answered in.

``lang`` is a language range list as in HTTP's Accept-Language (``fr-CH,fr;q=0.9,*``):
ranges are tried by weight, then in the order given. A range matches a tag equal to it,
a longer tag it is a prefix of (``fr`` matches ``fr-BE``), or, cut at its last ``-``
until it does, a shorter one (``fr-CH`` finds ``fr``), all without regard to case
(RFC 4647). ``*`` or no match takes the first language the property has. The answer is
a Property of that one string with its ``lang``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from urbanpulse.errors import InvalidQueryError

MAX_RANGES = 32  # an Accept-Language list longer than this is not a person's preference


@dataclass(frozen=True)
class LanguageRange:
    """One range of a ``lang`` list: a tag prefix, or ``*``, with its weight."""

    tag: str
    weight: float
    position: int


def parse_languages(text: str | None) -> tuple[LanguageRange, ...] | None:
    """The ranges of a ``lang`` parameter, most wanted first; None when absent.

    Raises
    ------
    InvalidQueryError
        A range or weight that cannot be read.
    """
    if text is None:
        return None
    ranges = []
    for position, part in enumerate(text.split(",")[: MAX_RANGES + 1]):
        tag, *params = (p.strip() for p in part.split(";"))
        tag = tag.replace("_", "-")  # zh_CN, as the product's own ?lang= names a locale
        weight = 1.0
        for param in params:
            name, _, value = param.partition("=")
            try:
                weight = float(value) if name.strip() == "q" else weight
            except ValueError:
                weight = -1.0
        if not (tag == "*" or all(p.isalnum() and len(p) <= 8 for p in tag.split("-"))) or not 0 <= weight <= 1:  # fmt: skip
            raise InvalidQueryError(f"lang {text!r}: use language ranges, e.g. fr-CH,fr;q=0.9,*;q=0.5")  # fmt: skip
        if weight > 0:
            ranges.append(LanguageRange(tag.lower(), weight, position))
    if len(ranges) > MAX_RANGES:
        raise InvalidQueryError(f"lang: at most {MAX_RANGES} language ranges")
    return tuple(sorted(ranges, key=lambda r: (-r.weight, r.position)))


def choose_language(attribute: Any, ranges: tuple[LanguageRange, ...]) -> Any:
    """A LanguageProperty (or a list of instances) as a Property in the language the
    ranges prefer; any other attribute as it is."""
    if isinstance(attribute, list):
        return [choose_language(instance, ranges) for instance in attribute]
    if not isinstance(attribute, dict) or attribute.get("type") != "LanguageProperty":
        return attribute
    texts = attribute.get("languageMap")
    if not isinstance(texts, dict) or not texts:
        return attribute
    tag = _find_tag(list(texts), ranges)
    chosen = {k: v for k, v in attribute.items() if k not in ("type", "languageMap")}
    return {"type": "Property", "value": texts[tag], "lang": tag, **chosen}


def _find_tag(tags: list[str], ranges: tuple[LanguageRange, ...]) -> str:
    lowered = {tag.lower(): tag for tag in tags}
    for wanted in ranges:
        if wanted.tag == "*":
            return tags[0]
        longer = [tag for low, tag in lowered.items() if low.startswith(wanted.tag + "-")]
        if wanted.tag in lowered or longer:
            return lowered.get(wanted.tag) or longer[0]
        shorter = wanted.tag
        while "-" in shorter:
            shorter = shorter.rsplit("-", 1)[0]
            if shorter in lowered:
                return lowered[shorter]
    return tags[0]  # none matches: any language it has
