"""Commuter page load on a throttled 4G profile, run by hand: ``.venv/bin/python bench/pageload.py``.

Serves the app twice with uvicorn on free 127.0.0.1 ports over a demo lake (built in a
temp folder with one week of data unless ``--lake`` is given):

- **current**: the page as shipped: plotly.js's basic bundle (scatter and bar) loaded
  async, page scripts deferred, everything gzipped, static files under versioned URLs;
- **baseline**: the same page as it was served before, emulated in this process: the
  full 4.8 MB ``plotly.min.js`` loaded synchronously before the page's script and
  nothing compressed (the request's Accept-Encoding is dropped).

Headless Chromium (Debian's) opens ``/commute`` at phone size in a fresh context (cold
cache) under Chromium DevTools' ``Network.emulateNetworkConditions``; the default 4G
profile is 9 Mbps down, 1.5 Mbps up, 170 ms round trip (the slow end of 60-170 ms). The
page asks for advice on its default trip as it loads (each server has answered it once,
unthrottled, before: the forecast caches are warm). Measured from navigation start:
**first advice** (the advice headline shows as text), **charts** (the crowding chart
drawn), and the **page weight** (bytes on the wire, from DevTools' encodedDataLength,
until the network is idle). ``current, repeat`` opens the page again in the same
context, as a rider opens the installed app again: the app's worker opens its kept copy
of the page and files, and the advice is asked from the server afresh. Rounds alternate
baseline and current; medians are shown. Targets on the 4G profile: first advice under
1 s, page weight under 500 kB, first advice on a repeat visit under 300 ms.

Prints a table, then one final line of JSON with figures, baseline figures and target.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import tempfile
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from starlette.types import Message, Receive, Scope, Send

from serving import serve_in_thread
from urbanpulse.api import create_app
from urbanpulse.api.middleware import HttpMiddleware
from urbanpulse.settings import Settings
from urbanpulse.store import Lake
from urbanpulse.twin import build_demo, is_demo_built

CHROMIUM = "/usr/bin/chromium"
PHONE: Any = {"width": 390, "height": 844}  # a playwright ViewportSize
TARGET_FIRST_ADVICE_S = 1.0
TARGET_PAGE_KB = 500
TARGET_REPEAT_ADVICE_S = 0.3
# Marks taken in the page: when the advice headline first has text, when the crowding
# chart is drawn (performance.now() counts from navigation start).
MARKS = """(() => {
  const marks = (window.__marks = {});
  new MutationObserver(() => {
    const headline = document.getElementById("advice-headline");
    if (!marks.advice && headline && headline.textContent) { marks.advice = performance.now(); }
    const chart = document.getElementById("advice-chart");
    if (!marks.chart && chart && chart.dataset.rendered === "true") { marks.chart = performance.now(); }
  }).observe(document, { subtree: true, childList: true, characterData: true, attributes: true });
})();"""
# The app's worker is active and holds a kept page (static/sw.js's page cache).
KEPT_PAGE = """() => navigator.serviceWorker.controller !== null &&
  caches.open("urbanpulse-pages-v2").then(c => c.keys()).then(k => k.length > 0)"""
ASYNC_PLOTLY = re.compile(rb'<script async id="plotly-js" src="[^"]+"></script>')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lake", type=Path, help="Lake to serve (default: a 1-week demo).")
    parser.add_argument("--runs", type=int, default=3, help="Rounds (each loads both pages).")
    parser.add_argument("--down-mbps", type=float, default=9.0, help="Download, Mbit/s.")
    parser.add_argument("--up-mbps", type=float, default=1.5, help="Upload, Mbit/s.")
    parser.add_argument("--latency-ms", type=float, default=170.0, help="Round trip, ms.")
    return parser.parse_args()


class BaselinePage(HttpMiddleware):
    """The commuter page as served before: the full plotly.js loaded synchronously
    (so the page's script, and the advice, wait for it) and nothing compressed."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(k, v) for k, v in scope["headers"] if k != b"accept-encoding"]
        scope = {**scope, "headers": headers}
        if scope["path"] != "/commute":
            await self.app(scope, receive, send)
            return
        start: Message = {}
        chunks: list[bytes] = []

        async def rewrite(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            body = ASYNC_PLOTLY.sub(
                b'<script id="plotly-js" src="/vendor/plotly.min.js"></script>', b"".join(chunks)
            )
            raw = [(k, v) for k, v in start["headers"] if k != b"content-length"]
            await send({**start, "headers": [*raw, (b"content-length", b"%d" % len(body))]})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, rewrite)


def load_page(page: Any, url: str, profile: dict[str, Any]) -> dict[str, float]:
    """Open the commuter page under ``profile``; seconds to advice and chart, bytes."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", profile)
    sizes: dict[str, float] = {}
    cdp.on(
        "Network.loadingFinished",
        lambda e: sizes.__setitem__(e["requestId"], e["encodedDataLength"]),
    )
    page.goto(url + "/commute", wait_until="domcontentloaded")
    page.wait_for_function("() => window.__marks.advice && window.__marks.chart", timeout=120_000)
    page.wait_for_load_state("networkidle")
    marks = page.evaluate("() => window.__marks")
    cdp.detach()
    return {
        "first_advice_s": marks["advice"] / 1000,
        "chart_s": marks["chart"] / 1000,
        "page_bytes": sum(sizes.values()),
        "requests": len(sizes),
    }


def run(args: argparse.Namespace, lake: Lake) -> dict[str, list[dict[str, float]]]:
    from playwright.sync_api import sync_playwright

    profile = {
        "offline": False,
        "latency": args.latency_ms,
        "downloadThroughput": args.down_mbps * 1e6 / 8,
        "uploadThroughput": args.up_mbps * 1e6 / 8,
    }
    settings = Settings(lake_path=lake.root, advice_holdout_share=0.0)
    results: dict[str, list[dict[str, float]]] = {"baseline": [], "current": [], "repeat": []}
    with (
        serve_in_thread(create_app(settings)) as current,
        serve_in_thread(BaselinePage(create_app(settings))) as baseline,
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        # One unthrottled load per server first: its forecast caches are then warm, so
        # the figures are the page's, not a cold server's (bench/advice_api.py has those).
        for url in (baseline, current):
            context = browser.new_context(viewport=PHONE)
            context.add_init_script(MARKS)
            load_page(context.new_page(), url, {**profile, "latency": 0, "downloadThroughput": -1,
                                                "uploadThroughput": -1})  # fmt: skip
            context.close()
        for _ in range(args.runs):
            for name, url in (("baseline", baseline), ("current", current)):
                context = browser.new_context(viewport=PHONE)
                context.add_init_script(MARKS)
                page = context.new_page()
                results[name].append(load_page(page, url, profile))
                if name == "current":
                    # A returning rider's app is installed: the worker is active and
                    # has kept the page (the first visit installs it behind the page).
                    page.wait_for_function(KEPT_PAGE, timeout=30_000)
                    results["repeat"].append(load_page(page, url, profile))
                context.close()
        browser.close()
    return results


def get_demo_lake(path: Path | None, folder: Path) -> Lake:
    lake = Lake(path or folder / "lake")
    if not is_demo_built(lake):
        build_demo(lake, weeks=1, drop_dir=folder / "drop")
    return lake


def summarise(runs: list[dict[str, float]]) -> dict[str, float]:
    return {key: round(statistics.median(r[key] for r in runs), 3) for key in runs[0]}


def main() -> None:
    args = parse_args()
    with tempfile.TemporaryDirectory(prefix="urbanpulse-pageload-") as folder:
        lake = get_demo_lake(args.lake, Path(folder))
        results = run(args, lake)
    figures = {name: summarise(runs) for name, runs in results.items()}
    table = Table(title=f"/commute at 390 px, {args.down_mbps:g}/{args.up_mbps:g} Mbit/s, "
                  f"{args.latency_ms:g} ms RTT, median of {args.runs}")  # fmt: skip
    for column in ("page", "first advice (s)", "chart drawn (s)", "page weight (kB)", "requests"):
        table.add_column(column, justify="left" if column == "page" else "right")
    labels = {"baseline": "baseline (before)", "current": "current", "repeat": "current, repeat"}
    for name, row in figures.items():
        table.add_row(labels[name], f"{row['first_advice_s']:.2f}", f"{row['chart_s']:.2f}",
                      f"{row['page_bytes'] / 1000:,.0f}", f"{row['requests']:.0f}")  # fmt: skip
    Console().print(table)
    profile = {"down_mbps": args.down_mbps, "up_mbps": args.up_mbps, "rtt_ms": args.latency_ms}
    met = (
        figures["current"]["first_advice_s"] < TARGET_FIRST_ADVICE_S
        and figures["current"]["page_bytes"] / 1000 < TARGET_PAGE_KB
        and figures["repeat"]["first_advice_s"] < TARGET_REPEAT_ADVICE_S
    )
    print(json.dumps({"profile": profile, "runs": args.runs, **figures,
                      "target_first_advice_s": TARGET_FIRST_ADVICE_S,
                      "target_page_kb": TARGET_PAGE_KB,
                      "target_repeat_first_advice_s": TARGET_REPEAT_ADVICE_S,
                      "met": met}))  # fmt: skip


if __name__ == "__main__":
    main()
