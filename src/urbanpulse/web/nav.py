"""The site's menu; a new page that deserves a menu entry adds one line here."""

from __future__ import annotations

from typing import NamedTuple


class NavItem(NamedTuple):
    label: str
    path: str


NAV: tuple[NavItem, ...] = (
    NavItem("Cities & sites", "/"),
    NavItem("When to leave", "/commute"),
    NavItem("Operator", "/operator"),
    NavItem("Regional monitor", "/monitor"),
    NavItem("Open data", "/developers"),
    NavItem("API docs", "/docs"),
)
