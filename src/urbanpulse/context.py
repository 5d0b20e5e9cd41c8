"""The context an edge builds once and passes down: settings, lake, engine, calendar.

The CLI builds one per command (``urbanpulse.cli.common.get_context``), the web app one
per app (``urbanpulse.app.create_app``); below the edges functions take the parts they
need as arguments and never read settings or the environment themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from urbanpulse.forecast.protocol import CalendarSpec
from urbanpulse.settings import Settings
from urbanpulse.store import Lake
from urbanpulse.store.engines import get_engine
from urbanpulse.store.interface import Engine
from urbanpulse.store.maintenance import open_lake


@dataclass
class Context:
    """What a command or an app works with, read from one :class:`Settings`."""

    settings: Settings
    lake: Lake
    calendar: CalendarSpec
    _engine: Engine | None = field(default=None, repr=False)

    @cached_property
    def engine(self) -> Engine:
        """The query engine the settings name, started on first use (Spark is slow to)."""
        return self._engine or get_engine(self.settings)


def build_context(settings: Settings) -> Context:
    """The context of ``settings``: its lake opened (the one place a lake is opened for
    an edge), its calendar, and its engine on first use."""
    return Context(
        settings=settings, lake=open_lake(settings), calendar=CalendarSpec.from_settings(settings)
    )
