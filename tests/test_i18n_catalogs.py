"""The catalogues keep up with the code: every string marked for translation in Python,
templates and page scripts (and the framework's names) has a Chinese translation, with
no fuzzy guesses, and the translations keep their placeholders."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

from urbanpulse import i18n

ROOT = Path(__file__).resolve().parents[1]
PLACEHOLDER = re.compile(r"%\([a-z_]+\)s|%%|\{[a-z_0-9]*(?:![rs])?(?::[^}]*)?\}|%\{[^}]+\}")


def _load_messages_tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("messages_tool", ROOT / "scripts" / "messages.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def tool() -> ModuleType:
    return _load_messages_tool()


@pytest.fixture(scope="module")
def template(tool: ModuleType) -> object:
    return tool.extract_catalog()


def test_extraction_finds_strings_of_every_kind(template: object) -> None:
    files = {loc[0] for message in template for loc in message.locations}  # type: ignore[attr-defined]
    assert any(f.endswith(".html") for f in files)
    assert any(f.endswith(".js") for f in files)
    assert any(f.endswith("reasons.py") for f in files)
    assert any(f.endswith("jingjinji.toml") for f in files)


@pytest.mark.parametrize("language", ["zh_CN", "en"])
def test_every_marked_string_is_in_the_catalogue(
    tool: ModuleType, template: object, language: str
) -> None:
    catalog = tool.read_catalog(language)
    missing = tool.get_missing(template, catalog, identity_ok=language == "en")
    assert not missing, (
        f"{len(missing)} strings lack a {language} translation; run `make messages` and "
        f"translate them in src/urbanpulse/locale/{language}/LC_MESSAGES/messages.po:\n"
        + "\n".join(missing[:40])
    )


def test_chinese_translations_keep_their_placeholders(tool: ModuleType) -> None:
    wrong = []
    for message in tool.read_catalog("zh_CN"):
        if not message.id or not isinstance(message.id, str) or not message.string:
            continue
        if sorted(PLACEHOLDER.findall(message.id)) != sorted(PLACEHOLDER.findall(message.string)):
            wrong.append(f"{message.id!r} -> {message.string!r}")
    assert not wrong, "\n".join(wrong[:20])


def test_chinese_translations_are_chinese(tool: ModuleType) -> None:
    # A translation that is only Latin letters is an English string pasted in by mistake;
    # codes and units that read the same in Chinese are listed here.
    same = {"PM2.5", "PM10", "%", "MW", "NO₂", "O₃", "WAPE（%）"}
    latin_only = [
        str(m.id)
        for m in tool.read_catalog("zh_CN")
        if isinstance(m.id, str)
        and m.id
        and isinstance(m.string, str)
        and m.string not in same
        and re.search(r"[A-Za-z]{3}", PLACEHOLDER.sub("", m.string))
        and not re.search(r"[\u4e00-\u9fff]", m.string)
    ]
    assert not latin_only, latin_only[:20]


def test_the_catalogue_compiles_and_translates_in_a_request_language() -> None:
    with i18n.use_locale("zh_CN"):
        assert i18n.gettext("When to leave") == "何时出发"
        assert i18n.gettext("no crowding forecast") == "暂无拥挤度预测"
        assert i18n.ngettext("%(count)s site", "%(count)s sites", 3) == "%(count)s 个站点"
    with i18n.use_locale("en"):
        assert i18n.gettext("When to leave") == "When to leave"
    assert i18n.gettext("When to leave") == "When to leave"  # outside a request: English


def test_page_scripts_get_only_their_words() -> None:
    words = i18n.get_js_catalog("zh_CN")
    assert words["Leave at {time}"] == "建议 {time} 出发"
    assert words["extreme imbalance"] == "极度失调"  # data the monitor's scripts show
    assert "Advise me" not in words  # a template's word stays on the server
    assert i18n.get_js_catalog("en") == {}
