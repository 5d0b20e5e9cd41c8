"""The four crowding colours, checked by computation: each stands out from the white
page (WCAG 2.2 non-text contrast) and every two stay apart under the three common
colour-vision deficiencies (Machado et al. 2009 simulation, as colorspacious does it)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from colorspacious import cspace_convert, deltaE

from urbanpulse.advise.live import CROWDING_LEVELS

VISIONS = (None, "deuteranomaly", "protanomaly", "tritanomaly")
MIN_DISTANCE = 15.0  # CAM02-UCS; 2.3 is a just-noticeable difference, 15 clearly apart


def to_rgb(colour: str) -> np.ndarray:
    return np.array([int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)])


def get_luminance(rgb: np.ndarray) -> float:
    """WCAG relative luminance of an sRGB colour."""
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    return float(linear @ np.array([0.2126, 0.7152, 0.0722]))


@pytest.mark.parametrize("level", CROWDING_LEVELS, ids=lambda level: level.level)
def test_every_level_stands_out_from_the_white_page(level: object) -> None:
    contrast = 1.05 / (get_luminance(to_rgb(level.colour)) + 0.05)  # type: ignore[attr-defined]
    assert contrast >= 3.0


@pytest.mark.parametrize("vision", VISIONS)
def test_every_two_levels_stay_apart(vision: str | None) -> None:
    colours = np.array([to_rgb(level.colour) for level in CROWDING_LEVELS])
    if vision is not None:
        space = {"name": "sRGB1+CVD", "cvd_type": vision, "severity": 100}
        colours = np.clip(cspace_convert(colours, space, "sRGB1"), 0, 1)
    for a, b in itertools.combinations(range(len(colours)), 2):
        distance = float(deltaE(colours[a], colours[b], input_space="sRGB1"))
        names = (CROWDING_LEVELS[a].level, CROWDING_LEVELS[b].level)
        assert distance >= MIN_DISTANCE, (vision, names, round(distance, 1))


def test_the_old_scale_fails_the_same_check() -> None:
    """The check can fail: the Beijing Subway-like scale this replaced did."""
    old = np.array([to_rgb(c) for c in ("#2e8540", "#c9a800", "#e06c00", "#b0001e")])
    space = {"name": "sRGB1+CVD", "cvd_type": "protanomaly", "severity": 100}
    seen = np.clip(cspace_convert(old, space, "sRGB1"), 0, 1)
    distances = [
        float(deltaE(seen[a], seen[b], input_space="sRGB1"))
        for a, b in itertools.combinations(range(len(seen)), 2)
    ]
    assert min(distances) < MIN_DISTANCE  # comfortable and crowded: 8.5 apart
    assert 1.05 / (get_luminance(old[1]) + 0.05) < 3.0
