"""Station names: pinyin for Chinese names and the folded keys that search compares.

pypinyin reads phrases well but guesses some characters of place names wrongly (朝阳 as
"zhaoyang", 长椿街 as "zhangchunjie"); :data:`PLACE_READINGS` corrects the readings the
Beijing subway needs, checked against the operator's English station names.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

__all__ = ["PLACE_READINGS", "get_folded", "get_initials", "get_pinyin", "get_pinyin_name"]

# Readings of place names where pypinyin's default is wrong (official romanisation).
PLACE_READINGS: dict[str, str] = {
    "什刹海": "shi cha hai",
    "朝阳": "chao yang",
    "长椿": "chang chun",
    "长阳": "chang yang",
    "饶乐府": "rao le fu",
    "劲松": "jin song",
}

_TERMINAL = re.compile(r"^(\d+)号航站楼$")


@lru_cache(maxsize=1)
def _load_readings() -> None:
    from pypinyin import load_phrases_dict

    # Tone-free readings: they serve the tone-free style that get_pinyin uses.
    load_phrases_dict({w: [[s] for s in r.split()] for w, r in PLACE_READINGS.items()})


def get_pinyin(text: str) -> str:
    """Tone-free pinyin of ``text``, syllables run together, e.g. 西直门 -> 'xizhimen'.

    Characters that are not Chinese (digits, Latin letters) are kept as they are.
    """
    from pypinyin import lazy_pinyin

    _load_readings()
    return "".join(lazy_pinyin(text)).lower()


def get_initials(text: str | None) -> str:
    """What riders type for short: the first letter of each pinyin syllable of a Chinese
    name (国贸 -> 'gm', 西直门 -> 'xzm') or of each word of another ('Mountain View' -> 'mv');
    '' for a single Latin word."""
    if not text:
        return ""
    if any("\u4e00" <= c <= "\u9fff" for c in text):
        from pypinyin import Style, lazy_pinyin

        _load_readings()
        return get_folded("".join(lazy_pinyin(text, style=Style.FIRST_LETTER)))
    words = [get_folded(w) for w in re.split(r"[\s\-/]+", text)]
    words = [w for w in words if w]
    return "".join(w[0] for w in words) if len(words) > 1 else ""


# The official English of Beijing's station signs (the city's standard for public signs
# in English) spells a name in pinyin, translates a closing direction word and names a
# railway station as such: 天安门东 'Tian'anmen East', 北京西站 'Beijing West Railway
# Station'; a syllable that opens with a, o or e after another takes an apostrophe.
DIRECTIONS = {"东": "East", "西": "West", "南": "South", "北": "North"}
RAILWAY_SUFFIX = "站"


def get_pinyin_name(text: str, *, railway_suffix: bool = False) -> str:
    """An English display name from a Chinese one, as station signs write it: 'Xizhimen',
    天安门东 -> 'Tian'anmen East', '2号航站楼' -> 'Terminal 2'; with ``railway_suffix``
    (a network whose names end in 站 only at railway stations, as the Beijing subway's),
    北京西站 -> 'Beijing West Railway Station'."""
    terminal = _TERMINAL.match(text)
    if terminal:
        return f"Terminal {terminal.group(1)}"
    stem, railway = text, False
    if railway_suffix and stem.endswith(RAILWAY_SUFFIX) and len(stem) > 2:
        stem, railway = stem[:-1], True
    direction = ""
    if stem[-1:] in DIRECTIONS and len(stem) > 2:
        stem, direction = stem[:-1], DIRECTIONS[stem[-1]]
    words = [_spell(stem), direction, "Railway Station" if railway else ""]
    return " ".join(w for w in words if w)


def _spell(text: str) -> str:
    """Pinyin as one capitalised word, apostrophes where a syllable could be misread."""
    from pypinyin import lazy_pinyin

    _load_readings()
    syllables = lazy_pinyin(text)
    spelled = syllables[0] if syllables else ""
    for syllable in syllables[1:]:
        vowel_start = syllable[:1] in "aoe" and spelled[-1:].isalpha()
        spelled += ("'" if vowel_start else "") + syllable
    spelled = spelled.lower()
    return spelled[:1].upper() + spelled[1:]


def get_folded(text: str | None) -> str:
    """The key search compares: lower case, no tone marks, no spaces or punctuation.

    'Xī Zhí Mén', 'xi zhi men' and 'XIZHIMEN' all fold to 'xizhimen'; Chinese characters
    are kept, so '西直门' folds to itself.
    """
    if not text:
        return ""
    # Decompose before and after folding the case: compatibility forms such as 'ℂ' or
    # '㎏' only become letters when decomposed, and may then be capitals.
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", text).casefold())
    kept = [c for c in decomposed if not unicodedata.combining(c) and c.isalnum()]
    return "".join(kept)
