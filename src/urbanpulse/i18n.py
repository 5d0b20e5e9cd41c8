"""Chinese and English: the message catalogues and the language of the current request.

A neutral module, like ``errors``: domains may import it, and it imports nothing of
UrbanPulse. The edges (api, web) choose the language of each request with
:func:`use_locale` (from ``?lang=``, the ``urbanpulse_lang`` cookie or Accept-Language);
everything that builds words for people during that request, whether a template, a
chart, an advice reason or an error message, asks :func:`gettext` and gets that
language. Code outside a request (the CLI, logs, tests) gets English.

Why a request-scoped language rather than message codes returned by the domains: an
advice reason is assembled from several parts whose order and grammar differ between
the two languages, and charts are built in Python; passing codes and parameters out of
every domain function would double each of their return types. Domain errors are the
exception: they are raised once and rendered by the edge, so they carry their template
and parameters (:class:`urbanpulse.errors.UrbanPulseError`) and the edge translates
them, and logs keep the English text.

Marking strings, for ``make messages`` (babel.cfg):

- Python: ``from urbanpulse.i18n import gettext as _`` then
  ``_("Leave at {time}").format(time=label)``; a string defined at import time is
  marked with ``N_("...")`` and translated where it is shown with ``_(value)``; an
  error message is ``raise NotFoundError(N_("no site {site}", site=site_id))``.
- Templates: ``{{ _("Cities") }}``, ``{{ _("%(n)s sites", n=count) }}``.
- Page scripts: ``t("No forecast")``, ``t("{n} min", {n: 5})``.

The catalogues are the ``.po`` files in ``urbanpulse/locale``; they are compiled in
memory when first used, so a fresh clone needs no build step.
"""

from __future__ import annotations

import gettext as _gettext
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from io import BytesIO
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.core import negotiate_locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "messages"
# The languages of the product, the region's first: (code, name in its own language).
LANGUAGES: tuple[tuple[str, str], ...] = (("zh_CN", "中文"), ("en", "English"))
LOCALES: tuple[str, ...] = tuple(code for code, _name in LANGUAGES)
# Without any language preference (programs, crawlers, tests) the text is English, as
# the messages are written; a browser that asks only for other languages gets Chinese,
# the language of the region's users.
DEFAULT_LOCALE = "en"
FALLBACK_LOCALE = "zh_CN"
COOKIE = "urbanpulse_lang"
# Where a message is used by page scripts: these msgids go into the JSON catalogue, and
# so do the words of these files, which reach the scripts as data (bands, framework names).
JS_SUFFIX = ".js"
SHARED_WITH_SCRIPTS = ("indices/coupling.py", "web/vocabulary.py", "frameworks/jingjinji.toml")

_LOCALE: ContextVar[str] = ContextVar("urbanpulse_locale", default=DEFAULT_LOCALE)


class Message(str):
    """English text that remembers its template and parameters, so that an edge can show
    it in another language later (:func:`translate_text`)."""

    template: str
    params: dict[str, object]

    def __new__(cls, template: str, params: dict[str, object] | None = None) -> Message:
        params = params or {}
        text = super().__new__(cls, template.format(**params) if params else template)
        text.template = template
        text.params = params
        return text

    def __getnewargs__(self) -> tuple[str, dict[str, object]]:  # type: ignore[override]
        # Copies and pickles (caches keep them) stay translatable.
        return (self.template, self.params)


def N_(message: str, **params: object) -> str:
    """Mark a string for extraction without translating it now; with ``params`` the
    result is the English text filled in by ``str.format``, translatable later."""
    return Message(message, params) if params else message


def translate_text(text: object) -> str:
    """An error message or other text made earlier, in the current language: a
    :class:`Message` is translated by its template, any other text looked up whole
    (unmarked text stays English)."""
    if isinstance(text, Message):
        return translate(text.template, text.params)
    return gettext(str(text))


def translate_error(exc: BaseException) -> str:
    """The message of an error raised with ``N_(...)``, in the current language."""
    if len(exc.args) == 1:
        return translate_text(exc.args[0])
    return str(exc)


def get_locale() -> str:
    """The language of the current request ('zh_CN' or 'en')."""
    return _LOCALE.get()


def get_local_names(chinese: object, english: object) -> tuple[str, str]:
    """(the name in the current language, the other name): a place's or line's
    Chinese and English names ordered for the reader, empty strings for missing ones;
    with only one name, that one first."""
    names = [v if isinstance(v, str) else "" for v in (chinese, english)]
    first, second = names if get_locale().startswith("zh") else names[::-1]
    return (first, second) if first else (second, "")


def get_html_lang(locale: str | None = None) -> str:
    """The BCP 47 tag for ``<html lang>``: 'zh-CN' or 'en'."""
    return (locale or get_locale()).replace("_", "-")


@contextmanager
def use_locale(locale: str) -> Iterator[str]:
    """Speak ``locale`` inside the block (an edge wraps each request in one)."""
    token = _LOCALE.set(get_supported_locale(locale) or DEFAULT_LOCALE)
    try:
        yield _LOCALE.get()
    finally:
        _LOCALE.reset(token)


def get_supported_locale(value: str | None) -> str | None:
    """'zh', 'zh-CN', 'zh_Hans', 'zh-TW'... -> 'zh_CN'; 'en', 'en-GB' -> 'en'; else None."""
    if not value:
        return None
    try:
        parsed = Locale.parse(value.strip().replace("-", "_"))
    except (ValueError, UnknownLocaleError):
        return None
    if parsed.language == "zh":
        return "zh_CN"
    if parsed.language == "en":
        return "en"
    return None


def negotiate(accept_language: str | None) -> str:
    """The language for an Accept-Language header, by its q-values.

    No header: English (the language the messages are written in); a header naming
    neither Chinese nor English: Chinese, the region's language.
    """
    if not accept_language or not accept_language.strip():
        return DEFAULT_LOCALE
    preferred: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept_language.split(",")):
        tag, _sep, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag and quality > 0:
            preferred.append((-quality, position, tag.strip()))
    tags = [tag for _q, _p, tag in sorted(preferred)]
    for tag in tags:
        supported = get_supported_locale(tag) if tag != "*" else None
        if supported:
            return supported
    match = negotiate_locale(tags, list(LOCALES), sep="-")
    return match or FALLBACK_LOCALE


@cache
def get_translations(locale: str) -> _gettext.NullTranslations:
    """The compiled catalogue of ``locale`` (English is the identity)."""
    path = LOCALE_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
    if locale == "en" or not path.exists():
        return _gettext.NullTranslations()
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=locale)
    buffer = BytesIO()
    # Fuzzy entries are a translator's guesses: never shown (the catalogue test fails on them).
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return _gettext.GNUTranslations(buffer)


@cache
def get_message_ids() -> frozenset[str]:
    """Every text the product itself wrote for translation (the msgids of messages.pot,
    with ``context\x04msgid`` for those with a context)."""
    with (LOCALE_DIR / f"{DOMAIN}.pot").open("rb") as handle:
        catalog = read_po(handle)
    ids: set[str] = set()
    for entry in catalog:
        for msgid in entry.id if isinstance(entry.id, tuple | list) else (entry.id,):
            ids.add(f"{entry.context}\x04{msgid}" if entry.context else str(msgid))
    return frozenset(ids)


def gettext(message: str) -> str:
    """``message`` in the current request's language."""
    return get_translations(get_locale()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural form for ``n`` in the current language."""
    return get_translations(get_locale()).ngettext(singular, plural, n)


def pgettext(context: str, message: str) -> str:
    """``message`` in ``context`` (for words English uses in two senses)."""
    return get_translations(get_locale()).pgettext(context, message)


def translate(template: str, params: dict[str, object] | None = None) -> str:
    """``template`` translated, then filled with ``params`` by ``str.format``; a
    translation that misses a parameter falls back to the English template."""
    text = gettext(template)
    if not params:
        return text
    # A parameter that is itself a message (an inner error's) is translated too.
    params = {k: translate_text(v) if isinstance(v, Message) else v for k, v in params.items()}
    try:
        return text.format(**params)
    except (KeyError, IndexError, ValueError):
        return template.format(**params)


@cache
def get_js_catalog(locale: str) -> dict[str, str]:
    """The messages page scripts use, msgid -> translation (empty for English)."""
    path = LOCALE_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
    if locale == "en" or not path.exists():
        return {}
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=locale)
    return {
        str(message.id): str(message.string)
        for message in catalog
        if message.id
        and isinstance(message.id, str)
        and message.string
        and not message.fuzzy
        and any(_is_for_scripts(filename) for filename, _line in message.locations)
    }


def _is_for_scripts(filename: str) -> bool:
    return filename.endswith(JS_SUFFIX) or filename.endswith(SHARED_WITH_SCRIPTS)
