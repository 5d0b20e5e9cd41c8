"""Keep the Chinese and English catalogues in step with the code (``make messages``).

Extracts every marked string (babel.cfg: Python ``_()``/``N_()``, templates
``{{ _() }}``/``{% trans %}``, page scripts ``t()``) plus the framework's indicator
and concept names into ``src/urbanpulse/locale/messages.pot``, then merges it into each
language's ``messages.po``: new strings arrive with an empty translation for the
translator to fill in, strings no longer used are dropped. ``--check`` changes nothing
and lists what a catalogue misses (tests/test_i18n_catalogs.py runs the same check).

Usage: ``python scripts/messages.py [--check]``
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "src" / "urbanpulse"
LOCALE_DIR = PACKAGE / "locale"
CONFIG = ROOT / "babel.cfg"
# Page scripts call t("...", {n: 1}); everything else uses gettext's usual names.
KEYWORDS = {**DEFAULT_KEYWORDS, "t": None}
# Data whose names people read: translated where shown with _(name).
VOCABULARIES = (PACKAGE / "indices" / "frameworks" / "jingjinji.toml",)
LANGUAGES = ("zh_CN", "en")


def extract_catalog() -> Catalog:
    """Every string marked for translation, with where it is used."""
    with CONFIG.open() as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    catalog = Catalog(project="UrbanPulse", msgid_bugs_address="", charset="utf-8")
    for filename, lineno, message, comments, context in extract_from_dir(
        PACKAGE, method_map, options_map, keywords=KEYWORDS, comment_tags=("TRANSLATORS:",)
    ):
        catalog.add(
            message,
            None,
            [(f"src/urbanpulse/{filename}", lineno)],
            auto_comments=comments,
            context=context,
        )
    for path in VOCABULARIES:
        for name, line in _read_names(path):
            catalog.add(name, None, [(str(path.relative_to(ROOT)), line)])
    return catalog


def _read_names(path: Path) -> list[tuple[str, int]]:
    """The ``name`` and ``unit`` of every entry of a framework file (indicators, concepts, itself)."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    names: list[str] = [data["name"]] if isinstance(data.get("name"), str) else []
    for entries in data.values():
        if isinstance(entries, list):
            for entry in (e for e in entries if isinstance(e, dict)):
                names += [entry[k] for k in ("name", "unit") if entry.get(k)]
    names = list(dict.fromkeys(names))
    lines = path.read_text(encoding="utf-8").splitlines()
    found = []
    for name in names:
        line = next((i + 1 for i, text in enumerate(lines) if f'"{name}"' in text), 0)
        found.append((name, line))
    return found


def read_catalog(language: str) -> Catalog:
    """A language's catalogue as committed."""
    with (LOCALE_DIR / language / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle, locale=language)


def get_missing(template: Catalog, catalog: Catalog, *, identity_ok: bool) -> list[str]:
    """Message ids of ``template`` that ``catalog`` lacks, leaves empty or marks fuzzy.
    ``identity_ok``: an empty translation means "as written" (English)."""
    missing = []
    for message in template:
        if not message.id:
            continue
        found = catalog.get(message.id, context=message.context)
        key = message.id if isinstance(message.id, str) else message.id[0]
        if found is None:
            missing.append(f"missing: {key!r}")
        elif found.fuzzy:
            missing.append(f"fuzzy: {key!r}")
        elif not identity_ok and not _is_translated(found.string):
            missing.append(f"untranslated: {key!r}")
    return missing


def _is_translated(string: object) -> bool:
    if isinstance(string, str):
        return bool(string)
    return isinstance(string, tuple | list) and all(string)


def update_catalogs(template: Catalog) -> None:
    """Write the template and merge it into every language's catalogue."""
    with (LOCALE_DIR / "messages.pot").open("wb") as handle:
        write_po(handle, template, width=100, sort_by_file=False)
    for language in LANGUAGES:
        path = LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"
        if path.exists():
            catalog = read_catalog(language)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            catalog = Catalog(locale=language, project="UrbanPulse", charset="utf-8")
        # No fuzzy guesses: a changed string waits for its translator instead.
        catalog.update(template, no_fuzzy_matching=True)
        catalog.obsolete.clear()
        if language == "en":
            for message in catalog:
                if message.id and not message.string:
                    message.string = message.id
        with path.open("wb") as handle:
            write_po(handle, catalog, width=100, ignore_obsolete=True)


def main(argv: list[str]) -> int:
    template = extract_catalog()
    if "--check" not in argv:
        update_catalogs(template)
    status = 0
    for language in LANGUAGES:
        problems = get_missing(template, read_catalog(language), identity_ok=language == "en")
        for problem in problems:
            print(f"{language}: {problem}")
        status = status or int(bool(problems))
    print(f"{len(template)} messages; " + ("catalogues complete" if not status else "see above"))
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
