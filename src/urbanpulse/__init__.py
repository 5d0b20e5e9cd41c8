"""UrbanPulse: a city cluster's data turned into tools for the public, businesses and government."""

from __future__ import annotations

__version__ = "0.1.0"

from urbanpulse.errors import UrbanPulseError
from urbanpulse.settings import Settings

__all__ = ["Settings", "UrbanPulseError", "__version__"]
