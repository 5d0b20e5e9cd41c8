"""The synthetic demo city cluster: a made-up Jing-Jin-Ji that behaves like the real one.

Everything here is synthetic and says so: sites and indicators carry ``synthetic=True``,
site attributes ``{"synthetic": true}``, indicators the source "UrbanPulse synthetic demo".

:func:`build_demo` writes it all into a lake; the ``build_*`` functions return the same
tables without writing, for tests and notebooks.
"""

from __future__ import annotations

from urbanpulse.twin.calendar import DAY_TYPES, DEFAULT_END, build_calendar, get_period
from urbanpulse.twin.demo import DemoSummary, build_demo, get_default_drop_dir, is_demo_built
from urbanpulse.twin.drop import DROP_MAPPING, build_drop_mapping
from urbanpulse.twin.indicators import SOURCE, UNITS, build_indicators
from urbanpulse.twin.network import Network, build_network
from urbanpulse.twin.observations import build_observations

__all__ = [
    "DAY_TYPES",
    "DEFAULT_END",
    "DROP_MAPPING",
    "SOURCE",
    "UNITS",
    "DemoSummary",
    "Network",
    "build_calendar",
    "build_demo",
    "build_drop_mapping",
    "build_indicators",
    "build_network",
    "build_observations",
    "get_default_drop_dir",
    "get_period",
    "is_demo_built",
]
