"""Personal mobility data, safely: pseudonyms on arrival, suppression and noise on the way out.

The public functions here are what edges (CLI, API) call; the API decides who may call
which (``compute_*`` give operational detail, ``read_public_*`` published tables).
"""

from __future__ import annotations

from urbanpulse.privacy.budget import PrivacyBudgetError, charge_budget, read_budget
from urbanpulse.privacy.flows import (
    compute_tap_counts,
    read_public_counts,
    read_public_flows,
)
from urbanpulse.privacy.ingest import TapIngestSummary, ingest_taps
from urbanpulse.privacy.keys import KeyRing, check_key_dir
from urbanpulse.privacy.noise import add_count_noise
from urbanpulse.privacy.suppression import suppress_small_cells
from urbanpulse.privacy.taps import SHENZHEN_TAPS, TapMapping, read_tap_file, read_tap_mapping

__all__ = [
    "SHENZHEN_TAPS",
    "KeyRing",
    "PrivacyBudgetError",
    "TapIngestSummary",
    "TapMapping",
    "add_count_noise",
    "charge_budget",
    "check_key_dir",
    "compute_tap_counts",
    "ingest_taps",
    "read_budget",
    "read_public_counts",
    "read_public_flows",
    "read_tap_file",
    "read_tap_mapping",
    "suppress_small_cells",
]
