"""Edges import domains, never the reverse (STYLE.md: direction of imports)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "urbanpulse"
EDGES = ("urbanpulse.api", "urbanpulse.web", "urbanpulse.cli")


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_domains_do_not_import_the_edges() -> None:
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE).parts
        if relative[0] in ("api", "web", "cli.py"):
            continue
        bad = [n for n in _imports(path) if n.startswith(EDGES)]
        if bad:
            offenders.append(f"{path.relative_to(PACKAGE)}: {bad}")
    assert offenders == []


def test_web_pages_do_not_import_the_api() -> None:
    web = PACKAGE / "web"
    offenders = [
        p.name
        for p in web.rglob("*.py")
        if any(n.startswith("urbanpulse.api") for n in _imports(p))
    ]
    assert offenders == []


def test_advise_does_not_import_the_api_or_the_pages() -> None:
    # The advice service lives in advise/ and is only called by the edges.
    offenders = [
        p.name
        for p in (PACKAGE / "advise").rglob("*.py")
        if any(n.startswith(EDGES) or n.startswith(("fastapi", "starlette")) for n in _imports(p))
    ]
    assert offenders == []
    assert not (PACKAGE / "api" / "advice_service.py").exists()
