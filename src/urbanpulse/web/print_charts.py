"""Charts for printed pages, drawn on the server as inline SVG: a report saved, mailed or
printed keeps them without scripts or a network, and its text stays text (selectable,
in the reader's fonts, translated with the page).

Three shapes serve the official's report: bars (a ranking, a degree per city), lines
(a score over the years, labelled at their ends, since a printed legend of 13 colours is
not readable in black and white) and a map (the cities' outlines shaded by a score in
five steps, each city's value written on it, so it reads in black and white too).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

# Dark enough on white for text and lines (>= 4.5:1), told apart by a label, never by
# colour alone.
INK = "#1b1f24"
MUTED = "#5a6470"
BAR = "#0b5394"
GRID = "#d9dee3"
LINE_COLOURS = ("#0b5394", "#8a1c1c", "#1a6b34", "#6a3d9a", "#9c4a00", "#0f6e75", "#5a6470")
# Five steps of one hue, light to dark, for a map's classes (each step >= 1.3:1 from the
# next, and labels carry the values): from ColorBrewer's "Blues".
MAP_STEPS = ("#eff3ff", "#bdd7e7", "#6baed6", "#3182bd", "#08519c")
FONT = 'font-family="system-ui, Noto Sans CJK SC, PingFang SC, sans-serif"'


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    note: str = ""  # shown after the value (a band, an interval)


def draw_bars(bars: Sequence[Bar], *, title: str, unit: str, digits: int = 1) -> Markup:
    """Horizontal bars from zero, one row per item in the order given, each value
    written at its bar's end."""
    row, label_width, width = 22, 150, 640
    top = max((b.value for b in bars), default=0.0) or 1.0
    scale = (width - label_width - 150) / top
    height = row * len(bars) + 36
    parts = [_open(width, height, title)]
    for k, bar in enumerate(bars):
        y = 12 + k * row
        length = max(bar.value, 0.0) * scale
        text = f"{bar.value:,.{digits}f}" + (f"  {bar.note}" if bar.note else "")
        parts += [
            _text(label_width - 6, y + 14, bar.label, anchor="end"),
            f'<rect x="{label_width}" y="{y + 3}" width="{length:.1f}" height="{row - 8}" '
            f'fill="{BAR}"/>',
            _text(label_width + length + 4, y + 14, text, fill=MUTED),
        ]
    parts.append(_text(label_width, height - 6, unit, fill=MUTED))
    return Markup("".join(parts) + "</svg>")


def draw_lines(
    series: dict[str, Sequence[tuple[int, float]]], *, title: str, unit: str, digits: int = 0
) -> Markup:
    """One line per series over the years, each labelled at its last point with its
    name and value (labels nudged apart where they would overlap)."""
    width, height, left, right, top, bottom = 640, 310, 44, 170, 26, 24
    points = [p for values in series.values() for p in values]
    if not points:
        return Markup("")
    years = sorted({year for year, _ in points})
    low, high = min(v for _, v in points), max(v for _, v in points)
    low, high = (low - 1, high + 1) if high == low else (low, high)

    def x_of(year: int) -> float:
        span = (years[-1] - years[0]) or 1
        return left + (year - years[0]) / span * (width - left - right)

    def y_of(value: float) -> float:
        return top + (high - value) / (high - low) * (height - top - bottom)

    parts = [_open(width, height, title)]
    for value in (low, (low + high) / 2, high):
        y = y_of(value)
        parts += [
            f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}"/>',
            _text(left - 4, y + 4, f"{value:,.{digits}f}", anchor="end", fill=MUTED),
        ]
    for year in years:
        parts.append(_text(x_of(year), height - 10, str(year), anchor="middle", fill=MUTED))
    ends = []
    for k, (name, values) in enumerate(series.items()):
        colour = LINE_COLOURS[k % len(LINE_COLOURS)]
        path = " ".join(f"{x_of(year):.1f},{y_of(v):.1f}" for year, v in sorted(values))
        dash = "" if k < len(LINE_COLOURS) else ' stroke-dasharray="4 2"'
        parts.append(
            f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="1.6"{dash}/>'
        )
        last_year, last = sorted(values)[-1]
        ends.append((y_of(last), f"{name} {last:,.{digits}f}", colour, x_of(last_year)))
    for y, text, colour, x in _spread(ends, gap=11.0):
        parts.append(_text(x + 6, y + 4, text, fill=colour))
    parts.append(_text(left - 4, 12, unit, anchor="start", fill=MUTED))  # above the axis
    return Markup("".join(parts) + "</svg>")


@dataclass(frozen=True)
class MapArea:
    label: str
    value: float
    rings: Sequence[Sequence[Sequence[float]]]  # outer rings of [lon, lat] points


def draw_map(
    areas: Sequence[MapArea], *, title: str, unit: str, low: float, high: float, digits: int = 0
) -> Markup:
    """Areas' outlines shaded by value in five equal steps from ``low`` to ``high``, each
    labelled with its name and value at its largest ring's centre; a legend of the steps.
    Longitude is scaled by the cosine of the middle latitude, so shapes keep their form."""
    points = [p for area in areas for ring in area.rings for p in ring]
    if not points:
        return Markup("")
    width, legend, pad = 640, 40, 8
    west, east = min(p[0] for p in points), max(p[0] for p in points)
    south, north = min(p[1] for p in points), max(p[1] for p in points)
    squeeze = math.cos(math.radians((south + north) / 2))
    scale = (width - 2 * pad) / ((east - west) * squeeze)
    height = round((north - south) * scale + 2 * pad + legend)

    def at(point: Sequence[float]) -> tuple[float, float]:
        return pad + (point[0] - west) * squeeze * scale, pad + (north - point[1]) * scale

    step = (high - low) / len(MAP_STEPS) or 1.0
    parts = [_open(width, height, title)]
    labels = []
    for area in areas:
        shade = MAP_STEPS[min(max(int((area.value - low) / step), 0), len(MAP_STEPS) - 1)]
        for ring in area.rings:
            path = " ".join("{:.1f},{:.1f}".format(*at(p)) for p in ring)
            parts.append(
                f'<polygon points="{path}" fill="{shade}" stroke="{INK}" stroke-width="0.6"/>'
            )
        largest = max(area.rings, key=len)
        x, y = at(
            (sum(p[0] for p in largest) / len(largest), sum(p[1] for p in largest) / len(largest))
        )
        labels.append(_halo(x, y, f"{area.label} {area.value:,.{digits}f}"))
    parts += labels  # on top of every outline
    top = height - legend + 14
    for k, shade in enumerate(MAP_STEPS):
        x = pad + k * 90
        edge = f"{low + k * step:,.{digits}f}–{low + (k + 1) * step:,.{digits}f}"
        parts += [
            f'<rect x="{x}" y="{top}" width="18" height="12" fill="{shade}" stroke="{INK}" stroke-width="0.6"/>',
            _text(x + 22, top + 10, edge, fill=MUTED),
        ]
    parts.append(_text(pad + len(MAP_STEPS) * 90, top + 10, unit, fill=MUTED))
    return Markup("".join(parts) + "</svg>")


def _halo(x: float, y: float, text: str) -> str:
    """Text centred at (x, y) on a white halo, readable on any shade and line."""
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="middle" fill="{INK}" stroke="#ffffff" '
        f'stroke-width="3" paint-order="stroke">{escape(text)}</text>'
    )


def _spread(
    labels: list[tuple[float, str, str, float]], *, gap: float
) -> list[tuple[float, str, str, float]]:
    """Labels at their y, moved down just enough to keep ``gap`` between neighbours."""
    placed: list[tuple[float, str, str, float]] = []
    for y, text, colour, x in sorted(labels):
        if placed and y < placed[-1][0] + gap:
            y = placed[-1][0] + gap
        placed.append((y, text, colour, x))
    return placed


def _open(width: int, height: int, title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-label="{escape(title)}" {FONT} font-size="11">'
        f"<title>{escape(title)}</title>"
    )


def _text(x: float, y: float, text: str, *, anchor: str = "start", fill: str = INK) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" fill="{fill}">{escape(text)}</text>'
    )
