"""Every page in headless Chromium under 中文 and English, at desktop and phone width:
under 中文 no English UI word is left, under English no Chinese one (place names,
codes, units and numbers aside); axe-core finds no WCAG 2.2 A or AA violation; the
browser's language chooses on the first visit, and the 中文 / English switch is
remembered from page to page. Screenshots go to test-artifacts/
(i18n-<language>-<page>-<width>.png)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from urbanpulse.api import create_app
from urbanpulse.settings import Settings
from urbanpulse.store import Lake

pytestmark = pytest.mark.browser

# axe-core (Deque, MPL 2.0) from the npm registry: scripts/ensure-test-tools.sh.
AXE = (
    Path(__file__).resolve().parents[2]
    / "var"
    / "tools"
    / "node_modules"
    / "axe-core"
    / "axe.min.js"
)
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
RUN_AXE = f"""async () => (await axe.run(document, {{runOnly: {{type: 'tag', values: {AXE_TAGS}}}}}))
    .violations.map(v => `${{v.id}} (${{v.impact}}): ${{v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', ')}}`)"""
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
# What the browser says it reads, as a person's browser would on a first visit.
BROWSER_LOCALES = {"zh_CN": "zh-CN", "en": "en-US"}

# Latin words a Chinese page may show: the product's name, formats, protocols and
# standards, statistical and unit abbreviations, the switch's "English", and authors
# or files named in citations. Place names and codes are taken out before this check.
LATIN_ALLOWED = set(
    [
        "UrbanPulse",
        "API",
        "JSON",
        "CSV",
        "NDJSON",
        "Parquet",
        "GeoJSON",
        "Excel",
        "DCAT",
        "JSON-LD",
        "LD",
        "NGSI",
        "NGSI-LD",
        "ETSI",
        "GS",
        "CIM",
        "Smart",
        "Data",
        "Models",
        "TrafficFlowObserved",
        "AirQualityObserved",
        "CrowdFlowObserved",
        "GtfsStop",
        "JavaScript",
        "Cookie",
        "HTTP",
        "UTC",
        "GDP",
        "PM",
        "NO",
        "MAE",
        "WAPE",
        "NBS",
        "MIT",
        "techme",
        "Redis",
        "D",
        "C",
        "T",
        "p10",
        "p90",
        "p10–p90",
        "q",
        "English",
        "Bearer",
        "KEY",
        "Authorization",
        "Retry-After",
        "X-API-Key",
        "X-RateLimit",
        "X-RateLimit-*",
        "Asia",
        "Shanghai",
        "PublicBudget",
        "MarketPush",
        "MarketPull",
        "RDIntense",
        "RDPatentValid",
        "RDPatentAuthority",
        "curl",
        "https",
        "http",
        "www",
        "org",
        "gov",
        "cn",
        "stats",
        "creativecommons",
        "licenses",
        "by",
        "km",
        "min",
        "max",
        "json",
        "csv",
        "ndjson",
        "parquet",
        "geojson",
    ]
)
# Codes: site and line ids, snake_case names, paths, `commands`, addresses.
CODE = re.compile(
    r"`[^`]*`|\b[a-z]{2,}(?:-[a-z0-9]+)+\b|\b[a-z]+_[a-z0-9_]+\b|[\w.-]*/[\w./{}-]+|\S+@\S+"
)
LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*[A-Za-z]|[A-Za-z]")
HAN = re.compile(r"[\u3400-\u9fff]+")

# The visible text of a page, element by element: hidden parts, scripts, code and
# anything marked translate="no" (citations) left out; under English also anything in a
# lang="zh" element (Chinese place names shown beside the English ones).
VISIBLE_TEXT = """(skipZh) => {
  const out = [];
  const skip = (el) => {
    for (let e = el; e && e !== document.documentElement; e = e.parentElement) {
      const tag = e.tagName.toLowerCase();
      if (["script", "style", "code", "pre", "noscript", "template"].includes(tag)) return true;
      if (e.getAttribute("translate") === "no") return true;
      if (skipZh && (e.getAttribute("lang") || "").startsWith("zh")) return true;
    }
    return false;
  };
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = node.textContent.trim();
    const el = node.parentElement;
    if (!text || !el || skip(el)) continue;
    if (el.closest("details:not([open])") && !el.closest("summary")) continue;
    if (typeof el.checkVisibility === "function" && !el.checkVisibility()) continue;
    out.push(text);
  }
  out.push(document.title);
  return out;
}"""


@pytest.fixture(scope="module")
def demo_app(demo_lake: Lake) -> FastAPI:
    """The app over the session's demo lake; every request gets a recommendation."""
    return create_app(Settings(lake_path=Path(demo_lake.root), advice_holdout_share=0.0))


@pytest.fixture(scope="module")
def admin_token(demo_app: FastAPI, grant: Callable[..., dict[str, str]]) -> str:
    """An admin key: it opens the operator and admin pages."""
    return grant(demo_app, "admin")["Authorization"].removeprefix("Bearer ")


@pytest.fixture(scope="module")
def place_names(demo_server: str) -> dict[str, list[str]]:
    """Every place's Chinese and English names (cities, sites, lines, provinces), longest
    first, as the pages may show them next to each other."""
    get = lambda path: httpx.get(demo_server + path, timeout=60).json()  # noqa: E731
    rows: list[dict[str, Any]] = []
    rows += get("/api/cities")["items"]
    rows += get("/api/sites?limit=5000")["items"]
    lines = get("/api/lines")["items"]
    rows += lines + [s for line in lines for s in line["stations"]]
    provinces = get("/api/monitor/provinces")
    rows += provinces.get("areas", []) + provinces.get("ranking", {}).get("items", [])
    names: dict[str, set[str]] = {"zh": set(), "en": set()}
    for row in rows:
        for key in ("zh", "en"):
            for field in (f"name_{key}", f"city_name_{key}", f"road_{key}"):
                if row.get(field):
                    names[key].add(str(row[field]))
    return {k: sorted(v, key=len, reverse=True) for k, v in names.items()}


@pytest.fixture(scope="session")
def axe_source() -> str:
    if not AXE.is_file():
        pytest.skip(f"no {AXE}: scripts/ensure-test-tools.sh installs axe-core there")
    return AXE.read_text("utf-8")


def find_accessibility_faults(page: Any, axe: str) -> list[str]:
    """axe-core's WCAG 2.2 A and AA violations on the page as it stands. Evaluated
    through the browser's debugging protocol, which the pages' CSP does not govern."""
    page.evaluate(axe)
    return list(page.evaluate(RUN_AXE))


@pytest.fixture(scope="module")
def site_id(demo_server: str) -> str:
    sites = httpx.get(demo_server + "/api/sites?limit=5000", timeout=60).json()["items"]
    return next(s["site_id"] for s in sites if s["kind"] == "metro_station")


def _wait_for_page(page: Any, name: str) -> None:
    """What each page draws after loading, so the test reads the finished page."""
    waits = {
        "commuter": "document.querySelector('#advice-chart').dataset.rendered === 'true'",
        "monitor": "document.querySelector('#chart-map').dataset.rendered === 'true' && "
        "document.querySelector('#ranking-table .shift') !== null",
        "operator": "document.querySelector('#effect-summary').textContent !== '' || "
        "!document.querySelector('#effect-empty').hidden",
        "home": "document.querySelector('#map').dataset.rendered === 'true'",
        "site": "document.querySelector('#profile-chart').dataset.rendered === 'true'",
    }
    if name in waits:
        page.wait_for_function(f"() => {waits[name]}", timeout=45_000)


def _remove(text: str, names: list[str]) -> str:
    for name in names:
        if name in text:
            text = text.replace(name, " ")
    return text


def find_foreign_words(texts: list[str], lang: str, names: dict[str, list[str]]) -> list[str]:
    """UI words of the other language in a page's visible texts."""
    found = []
    for text in texts:
        rest = _remove(_remove(text, names["en"]), names["zh"])
        rest = CODE.sub(" ", rest)
        if lang == "zh_CN":
            # One letter alone is a symbol (D = √(C·T), n = 12, 39.9° N), not a word.
            words = [w for w in LATIN_WORD.findall(rest) if len(w) > 1 and w not in LATIN_ALLOWED]
        else:
            words = HAN.findall(rest)
        if words:
            found.append(f"{words} in {text[:120]!r}")
    return found


def _pages(site: str) -> list[tuple[str, str]]:
    return [
        ("home", "/"),
        ("commuter", "/commute"),
        ("operator", "/operator"),
        ("monitor", "/monitor"),
        ("report", "/monitor/report"),
        ("developers", "/developers"),
        ("site", f"/sites/{site}"),
        ("admin", "/admin"),
    ]


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
@pytest.mark.parametrize(("width", "viewport"), [("desktop", DESKTOP), ("phone", PHONE)])
def test_every_page_speaks_one_language(
    browser: Any,
    demo_server: str,
    admin_token: str,
    place_names: dict[str, list[str]],
    site_id: str,
    artifacts: Path,
    axe_source: str,
    lang: str,
    width: str,
    viewport: dict[str, int],
) -> None:
    context = browser.new_context(
        viewport=viewport, device_scale_factor=1, locale=BROWSER_LOCALES[lang]
    )
    page = context.new_page()
    page.set_default_timeout(30_000)
    problems: dict[str, list[str]] = {}
    faults: dict[str, list[str]] = {}
    try:
        # The sign-in page first, as a signed-out person sees it; then sign in.
        page.goto(f"{demo_server}/sign-in?next=/operator", wait_until="networkidle")
        assert page.get_attribute("html", "lang") == lang.replace("_", "-")
        texts = page.evaluate(VISIBLE_TEXT, lang == "en")
        problems["sign-in"] = find_foreign_words(texts, lang, place_names)
        faults["sign-in"] = find_accessibility_faults(page, axe_source)
        page.screenshot(path=str(artifacts / f"i18n-{lang}-sign-in-{width}.png"), full_page=True)
        page.fill("#key", admin_token)
        with page.expect_navigation():
            page.click("form.sign-in button[type=submit]")
        for name, path in _pages(site_id):
            page.goto(demo_server + path, wait_until="networkidle")
            _wait_for_page(page, name)
            assert page.get_attribute("html", "lang") == lang.replace("_", "-"), name
            texts = page.evaluate(VISIBLE_TEXT, lang == "en")
            problems[name] = find_foreign_words(texts, lang, place_names)
            faults[name] = find_accessibility_faults(page, axe_source)
            if name == "monitor":
                # The real provincial statistics, a section of its own.
                section = page.locator("#provinces")
                assert section.locator("#provinces-table tbody tr").count() > 0
                section.screenshot(path=str(artifacts / f"i18n-{lang}-provinces-{width}.png"))
            if name == "commuter":
                assert page.locator("#advice-headline").inner_text()
                assert page.locator("#advice-reason").inner_text()
            page.screenshot(path=str(artifacts / f"i18n-{lang}-{name}-{width}.png"), full_page=True)
    finally:
        context.close()
    left = {name: found for name, found in problems.items() if found}
    assert not left, "\n".join(f"{name}: {'; '.join(found[:8])}" for name, found in left.items())
    failing = {name: found for name, found in faults.items() if found}
    assert not failing, "\n".join(f"{name}: {'; '.join(found)}" for name, found in failing.items())


def test_the_chosen_language_is_remembered_across_pages(browser: Any, demo_server: str) -> None:
    context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    page = context.new_page()
    try:
        page.goto(demo_server + "/", wait_until="domcontentloaded")
        assert page.get_attribute("html", "lang") == "zh-CN"  # from the browser's language
        assert page.locator("header nav").first.inner_text().startswith("城市与站点")
        page.click(".lang-switch a[data-lang='en']")
        page.wait_for_load_state("domcontentloaded")
        assert page.get_attribute("html", "lang") == "en"
        for path in ("/commute", "/monitor", "/developers"):
            page.goto(demo_server + path, wait_until="domcontentloaded")
            assert page.get_attribute("html", "lang") == "en", path
            current = page.locator(".lang-switch a[aria-current='true']").inner_text()
            assert current == "English"
        page.click(".lang-switch a[data-lang='zh_CN']")
        page.wait_for_load_state("domcontentloaded")
        page.goto(demo_server + "/commute", wait_until="domcontentloaded")
        assert page.get_attribute("html", "lang") == "zh-CN"
        assert page.locator("h1").inner_text().startswith("何时出发")
        cookies = {c["name"]: c["value"] for c in context.cookies()}
        assert cookies["urbanpulse_lang"] == "zh_CN"
    finally:
        context.close()
