"""Walking every page in headless Chromium in one language at one width, as the
language tests do: the visible words of the other language, axe-core's WCAG 2.2 A and
AA violations, and a screenshot of each page in test-artifacts/
(i18n-<language>-<page>-<width>.png).

The walks are split over two test files (one per language) so that the test processes
share them: each walk takes a fair part of a minute."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

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


def find_accessibility_faults(page: Any, axe: str) -> list[str]:
    """axe-core's WCAG 2.2 A and AA violations on the page as it stands. Evaluated
    through the browser's debugging protocol, which the pages' CSP does not govern."""
    page.evaluate(axe)
    return list(page.evaluate(RUN_AXE))


def wait_for_page(page: Any, name: str) -> None:
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


def list_pages(site: str) -> list[tuple[str, str]]:
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


def walk_pages(
    browser: Any,
    demo_server: str,
    *,
    token: str,
    place_names: dict[str, list[str]],
    site_id: str,
    artifacts: Path,
    axe_source: str,
    lang: str,
    width: str,
    viewport: dict[str, int],
) -> None:
    """Sign in with ``token`` and read every page; fail naming each page's foreign
    words and accessibility faults."""
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
        page.fill("#key", token)
        with page.expect_navigation():
            page.click("form.sign-in button[type=submit]")
        for name, path in list_pages(site_id):
            page.goto(demo_server + path, wait_until="networkidle")
            wait_for_page(page, name)
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
