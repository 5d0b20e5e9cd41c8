"""Conformance: the ETSI NGSI-LD test suite (Robot Framework) against UrbanPulse.

Run by hand: ``python bench/etsi_ngsild.py --suite PATH [--part Consumption ...]``.

``--suite`` is a checkout of ETSI's NGSI-LD test suite (forge.etsi.org/rep/cim/
ngsi-ld-test-suite, or a mirror of it on GitHub). The script installs what the suite
needs from the package registries into an environment of its own (``var/etsi-suite``:
the suite pins Robot Framework and libraries the product has other versions of), serves
UrbanPulse over a fresh, empty lake on a loopback port, and runs the suite's context
information tests there: consumption (reading entities and their temporal evolution)
and provisioning (creating, updating, appending, deleting, batches, temporal writes).
Subscriptions, context sources and federation are not parts UrbanPulse claims, so they
are not run.

The suite sends no credentials; UrbanPulse answers reads of the temporal API and every
write only with a key of the right scope (``access/matrix.toml``). The app is therefore
served behind a wrapper that adds a government key, issued in its own access store, to
each request that carries none: the suite tests the NGSI-LD API, not the access rules,
which the product's own tests cover.

The suite's variables (the broker's URL) are given on Robot's command line, so the
checkout is left untouched. Its tests name their JSON-LD @context by a URL on GitHub,
which the product never fetches: the checkout's copies of those files are listed in the
setting ``ngsild_contexts``, as an operator lists the contexts its clients use. The
suite's temporal pagination tests (6.3.10) hold 20 and 59 instances of an attribute and
expect them cut, so the server's instance limit (``ngsi_temporal_instance_limit``, 1,000
by default) is set below that: :data:`SUITE_INSTANCE_LIMIT`; no other test of the suite
holds more than 5. Prints a table of passed, failed and skipped tests per part,
the most common failure messages, then one line of JSON with the counts and the target
(every test of the parts run passes). There is no timing baseline here: the figure is a
pass count, and the suite's own total is what it is measured against.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import venv
from collections import Counter
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from rich.console import Console
from rich.table import Table

from serving import serve_in_thread
from urbanpulse.access import issue_key
from urbanpulse.api import create_app
from urbanpulse.settings import Settings

REPO = Path(__file__).resolve().parents[1]
ENVIRONMENT = REPO / "var" / "etsi-suite"
TESTS = Path("TP/NGSI-LD/ContextInformation")
PARTS = ("Consumption", "Provision")
# Instances of an attribute in one temporal answer during the run: under the suite's
# pagination tests' 20, above every other test's 5.
SUITE_INSTANCE_LIMIT = 10


def find_suite_contexts(suite: Path) -> dict[str, Path]:
    """The suite's own @context documents by the URL its tests name them with, as an
    operator lists the contexts its clients use (the product never fetches one): the
    checkout's copies of the files that URL's folder holds."""
    variables = (suite / "resources" / "variables.py").read_text("utf-8")
    found = re.search(r"ngsild_test_suite_context\s*=\s*'([^']+)'", variables)
    folder = suite / "resources" / "jsonld-contexts"
    if found is None or not folder.is_dir():
        return {}
    base = found.group(1).rsplit("/", 1)[0]
    return {f"{base}/{path.name}": path for path in sorted(folder.glob("*.jsonld"))}


def ensure_environment(suite: Path) -> Path:
    """The suite's Python, with its requirements installed from the registries once."""
    python = ENVIRONMENT / "bin" / "python"
    marker = ENVIRONMENT / ".installed"
    requirements = suite / "requirements.txt"
    if marker.exists() and marker.read_text() == requirements.read_text():
        return python
    venv.create(ENVIRONMENT, with_pip=True, clear=True)
    # The requirements name a library of the suite's own by a relative path.
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "-r", str(requirements)],
        cwd=suite, check=True,
    )  # fmt: skip
    marker.write_text(requirements.read_text())
    return python


class WithKey:
    """An ASGI app that adds ``Authorization: Bearer <key>`` to requests without one."""

    def __init__(self, app: Any, token: str) -> None:
        self.app, self.header = app, (b"authorization", f"Bearer {token}".encode())

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and not any(k == b"authorization" for k, _ in scope["headers"]):
            scope = {**scope, "headers": [*scope["headers"], self.header]}
        await self.app(scope, receive, send)


def run_suite(python: Path, suite: Path, base: str, parts: list[str], output: Path) -> Path:
    """Run the suite's tests of ``parts`` against ``base``; the path of Robot's output.xml."""
    url = f"{base}/ngsi-ld/v1"
    command = [
        str(python), "-m", "robot", "--outputdir", str(output), "--loglevel", "INFO",
        "--variable", f"url:{url}", "--variable", f"temporal_api_url:{url}",
        "--variable", "notification_server_host:127.0.0.1",
        "--variable", "context_source_host:127.0.0.1",
        "--variable", "context_server_host:127.0.0.1",
        "--variable", "mqtt_broker_host:127.0.0.1",
        # Deleting an entity keeps its history in UrbanPulse (observations are history),
        # the broker behaviour this setting of the suite is for.
        "--variable", "delete_temporal_on_core_delete:False",
        *(str(TESTS / part) for part in parts),
    ]  # fmt: skip
    environment = {**os.environ, "PYTHONPATH": str(suite / "libraries")}
    subprocess.run(command, cwd=suite, env=environment, check=False, stdout=subprocess.DEVNULL)
    return output / "output.xml"


def read_results(output_xml: Path) -> tuple[dict[str, Counter[str]], Counter[str]]:
    """Counts of PASS, FAIL and SKIP per area (the folder below a part), and failure
    messages by how often they occur."""
    root = ElementTree.parse(output_xml).getroot()
    areas: dict[str, Counter[str]] = {}
    messages: Counter[str] = Counter()

    def walk(suite: ElementTree.Element, path: list[str]) -> None:
        here = [*path, suite.get("name", "")]
        for child in suite.findall("suite"):
            walk(child, here)
        for test in suite.findall("test"):
            status = test.find("status")
            outcome = status.get("status", "FAIL") if status is not None else "FAIL"
            # path: [top, ContextInformation?, Part, Area, ...]
            area = " / ".join(here[-3:-1]) if len(here) >= 3 else here[-1]
            areas.setdefault(area, Counter())[outcome] += 1
            if outcome == "FAIL" and status is not None:
                messages[" ".join((status.text or "").split())[:110]] += 1

    for suite in root.findall("suite"):
        walk(suite, [])
    return areas, messages


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", type=Path, required=True, help="a checkout of the suite")
    parser.add_argument(
        "--part", action="append",
        help=f"{' or '.join(PARTS)} (default: both), or a folder or file below one, "
        "e.g. Consumption/Entity/QueryEntities",
    )  # fmt: skip
    parser.add_argument("--keep", type=Path, help="keep Robot's output and logs here")
    args = parser.parse_args()
    suite = args.suite.resolve()
    if not (suite / TESTS).is_dir() or not (suite / "requirements.txt").exists():
        print(f"{suite} is not a checkout of the ETSI NGSI-LD test suite", file=sys.stderr)
        return 2
    parts = args.part or list(PARTS)
    for part in parts:
        if part.split("/")[0] not in PARTS or not (suite / TESTS / part).exists():
            print(f"--part {part}: not a part of the suite's {TESTS}", file=sys.stderr)
            return 2
    python = ensure_environment(suite)
    with tempfile.TemporaryDirectory() as workdir:
        work = Path(workdir)
        settings = Settings(
            lake_path=work / "lake", access_db=work / "access.sqlite3",
            ngsild_contexts=find_suite_contexts(suite),
            ngsi_temporal_instance_limit=SUITE_INSTANCE_LIMIT,
        )  # fmt: skip
        app = create_app(settings)
        _, token = issue_key(app.state.access.store, scope="government", name="ETSI suite")
        output = args.keep or work / "robot"
        with serve_in_thread(WithKey(app, token)) as base:
            output_xml = run_suite(python, suite, base, parts, output)
        areas, messages = read_results(output_xml)

    table = Table(title="ETSI NGSI-LD test suite against UrbanPulse")
    for column in ("area", "passed", "failed", "skipped", "total"):
        table.add_column(column, justify="left" if column == "area" else "right")
    totals: Counter[str] = Counter()
    for area, counts in sorted(areas.items()):
        totals.update(counts)
        row = (counts["PASS"], counts["FAIL"], counts["SKIP"], sum(counts.values()))
        table.add_row(area, *map(str, row))
    table.add_row("all", *map(str, (totals["PASS"], totals["FAIL"], totals["SKIP"], sum(totals.values()))))  # fmt: skip
    console = Console(width=140)
    console.print(table)
    for message, count in messages.most_common(15):
        console.print(f"{count:>4}  {message}", markup=False, highlight=False)
    total = sum(totals.values())
    print(
        json.dumps(
            {
                "parts": parts,
                "passed": totals["PASS"],
                "failed": totals["FAIL"],
                "skipped": totals["SKIP"],
                "total": total,
                "pass_share": round(totals["PASS"] / total, 4) if total else 0.0,
                "target_passed": total,
                "areas": {a: dict(c) for a, c in sorted(areas.items())},
            },
            ensure_ascii=False,
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
