"""The site's menu; a new page that deserves a menu entry adds one line here."""

from __future__ import annotations

from typing import NamedTuple

from urbanpulse.i18n import N_


class NavItem(NamedTuple):
    """A menu entry; the label is English, shown translated (``_(item.label)``)."""

    label: str
    path: str


NAV: tuple[NavItem, ...] = (
    NavItem(N_("Cities & sites"), "/"),
    NavItem(N_("When to leave"), "/commute"),
    NavItem(N_("Operator"), "/operator"),
    NavItem(N_("Regional monitor"), "/monitor"),
    NavItem(N_("Open data"), "/developers"),
    NavItem(N_("API docs"), "/docs"),
)
