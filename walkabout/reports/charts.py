"""SVG charts, legible in black and white and to colour-blind readers.

Drawn here as plain pictures (no script, no stylesheet: every colour is an attribute), for
WeasyPrint and for an <img> on the dashboard. A charting library's output was a third of
the board pack's cost: WeasyPrint matched its stylesheet against each of some 250 elements
per chart; these have about 60. Legends are not drawn inside the SVG: `legend(name)` gives
the entries, and the page prints them as text next to the chart, with a swatch of the same
fill or line style.

Risk bands use the NHS 5x5 matrix colours (green, yellow, amber, red), chosen
so their greys differ when printed in black and white, and the two middle
bands carry a pattern (dots, stripes), so no band is told apart by hue alone.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import escape

from ..rules import RISK_BANDS

INK = "#1d2433"
BLUE = "#003d78"
GREY = "#7f8fa6"
# Fill of each band: (colour, pattern); the same values are in pdf.css and _app.scss
# (.swatch-<band>), checked by tests/test_board_pack_readable.py.
BAND_FILLS: dict[str, tuple[str, str | None]] = {
    "low": ("#b9e0b0", None),
    "moderate": ("#ffeb3b", "dots"),
    "high": ("#ed8b00", "stripes"),
    "extreme": ("#8b1a1a", None),
}
PATTERNS = {
    "dots": '<pattern id="{id}" width="6" height="6" patternUnits="userSpaceOnUse">'
    '<rect width="6" height="6" fill="{colour}"/><circle cx="3" cy="3" r="1.2" fill="{ink}"/></pattern>',
    "stripes": '<pattern id="{id}" width="6" height="6" patternUnits="userSpaceOnUse" '
    'patternTransform="rotate(45)"><rect width="6" height="6" fill="{colour}"/>'
    '<rect width="1.6" height="6" fill="{ink}"/></pattern>',
}
# Line styles of the actions chart: (colour, SVG dash array, CSS border style).
LINES = {
    "Opened": (BLUE, None, "solid"),
    "Closed": (GREY, "8, 5", "dashed"),
    "Overdue at month end": (INK, "2, 4", "dotted"),
}
BAND_LABELS = {
    "low": "Low (1\u20133)",
    "moderate": "Moderate (4\u20136)",
    "high": "High (8\u201312)",
    "extreme": "Extreme (15\u201325)",
}
FONT = "Liberation Sans, Arial, sans-serif"
LABEL_SIZE = 13  # axis labels, in SVG units (the page scales the picture)
TITLE_SIZE = 16
CHAR_WIDTH = 0.56  # of the font size: a label's width is estimated from its length
SIZE = {"width": 760, "height": 300}
SPARK_SIZE = (200, 50, 5)  # width, height, padding in SVG units (the page scales it to 36 x 9 mm)


@dataclass(frozen=True)
class Series:
    """One series of a chart (its key is printed by the page, from `legend`)."""

    values: Sequence[int | float | None]
    fill: str  # a colour, or url(#pattern) from `defs`
    dash: str | None = None  # lines only: an SVG dash array


@dataclass(frozen=True)
class Plot:
    """The plotting area inside the picture, and the scale of its value axis."""

    left: float
    top: float
    right: float
    bottom: float
    ticks: list[int]

    def scale(self, value: float, along: float) -> float:
        return value / self.ticks[-1] * along


def integer_ticks(values: list[int | None], most: int = 6) -> list[int]:
    """Axis labels from 0 to at least the largest value in at most `most` round steps (1, 2,
    2.5 or 5 times a power of ten, whole numbers only: counts have no fractions)."""
    top = max([v or 0 for v in values] + [1])
    magnitude = 10 ** max(0, math.floor(math.log10(top / most)))
    step = next(
        step
        for step in (magnitude * m for m in (1, 2, 2.5, 5, 10))
        if step == int(step) and math.ceil(top / step) <= most
    )
    step = int(step)
    return list(range(0, math.ceil(top / step) * step + 1, step))


def _band_defs(bands: list[str]) -> str:
    return "".join(
        PATTERNS[pattern].format(id=f"band-{band}", colour=colour, ink=INK)
        for band in bands
        for colour, pattern in [BAND_FILLS[band]]
        if pattern
    )


def _band_fill(band: str) -> str:
    colour, pattern = BAND_FILLS[band]
    return f"url(#band-{band})" if pattern else colour


def _text_width(text: str, size: int = LABEL_SIZE) -> float:
    return len(text) * size * CHAR_WIDTH


def _number(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


def _picture(title: str, width: int, height: int, body: list[str], defs: str = "") -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" font-family="{FONT}" font-size="{LABEL_SIZE}" fill="{INK}">'
        f"<title>{escape(title)}</title>"
        + (f"<defs>{defs}</defs>" if defs else "")
        + f'<rect width="{width}" height="{height}" fill="white"/>'
        f'<text x="{width / 2}" y="{TITLE_SIZE + 6}" font-size="{TITLE_SIZE}" text-anchor="middle">'
        f"{escape(title)}</text>" + "".join(body) + "</svg>"
    )


def _axes(plot: Plot) -> str:
    return (
        f'<path d="M{_number(plot.left)} {plot.top}V{plot.bottom}H{plot.right}" fill="none" stroke="{INK}"/>'
    )


def _name_lines(text: str, room: float) -> list[str]:
    """`text` on one line, or two when wider than `room` units (the second shortened with an
    ellipsis if it is still too wide)."""
    most = max(2, int(room / (LABEL_SIZE * CHAR_WIDTH)))
    if len(text) <= most:
        return [text]
    cut = text.rfind(" ", 0, most + 1)
    first, rest = (text[:cut], text[cut + 1 :]) if cut > 0 else (text[:most], text[most:])
    return [first, rest if len(rest) <= most else rest[: most - 1] + "\u2026"]


def _vertical_plot(width: int, height: int, values: list, labels: list[str]) -> tuple[Plot, list[str]]:
    """The plot of a chart over `labels` (months), with its axes and labels drawn."""
    ticks = integer_ticks(values)
    left = 12 + max(_text_width(str(t)) for t in ticks)
    plot = Plot(left, TITLE_SIZE + 22, width - 10, height - LABEL_SIZE - 14, ticks)
    along = plot.bottom - plot.top
    body = [_axes(plot)]
    body += [
        f'<text x="{_number(plot.left - 6)}" y="{_number(plot.bottom - plot.scale(t, along) + 4)}" '
        f'text-anchor="end">{t}</text>'
        for t in ticks
    ]
    slot = (plot.right - plot.left) / max(1, len(labels))
    every = max(1, math.ceil((max(map(_text_width, labels), default=0) + 6) / slot))
    body += [
        f'<text x="{_number(plot.left + (i + 0.5) * slot)}" y="{_number(plot.bottom + LABEL_SIZE + 5)}" '
        f'text-anchor="middle">{escape(label)}</text>'
        for i, label in enumerate(labels)
        if i % every == 0
    ]
    return plot, body


def _bars(title: str, labels: list[str], series: list[Series], stacked: bool, defs: str = "", **size) -> str:
    width, height = size.get("width", SIZE["width"]), size.get("height", SIZE["height"])
    if stacked:
        values = [sum(v or 0 for v in month) for month in zip(*(s.values for s in series), strict=True)]
    else:
        values = [v for s in series for v in s.values]
    plot, body = _vertical_plot(width, height, values, labels)
    along = plot.bottom - plot.top
    slot = (plot.right - plot.left) / max(1, len(labels))
    bar = slot * 0.8 / (1 if stacked else len(series))
    for i in range(len(labels)):
        x, base = plot.left + slot * 0.1 + i * slot, plot.bottom
        for s in series:
            value = s.values[i] or 0
            if not value:
                x += 0 if stacked else bar
                continue
            tall = plot.scale(value, along)
            body.append(
                f'<rect x="{_number(x)}" y="{_number(base - tall)}" width="{_number(bar - 1)}" '
                f'height="{_number(tall)}" fill="{s.fill}"/>'
            )
            if stacked:
                base -= tall
            else:
                x += bar
    return _picture(title, width, height, body, defs)


def _lines(title: str, labels: list[str], series: list[Series], **size) -> str:
    width, height = size.get("width", SIZE["width"]), size.get("height", SIZE["height"])
    plot, body = _vertical_plot(width, height, [v for s in series for v in s.values], labels)
    along = plot.bottom - plot.top
    slot = (plot.right - plot.left) / max(1, len(labels))
    for s in series:
        points = [
            (plot.left + (i + 0.5) * slot, plot.bottom - plot.scale(v, along))
            for i, v in enumerate(s.values)
            if v is not None
        ]
        dash = f' stroke-dasharray="{s.dash}"' if s.dash else ""
        coords = " ".join(f"{_number(x)},{_number(y)}" for x, y in points)
        body.append(f'<polyline points="{coords}" fill="none" stroke="{s.fill}" stroke-width="3"{dash}/>')
        body += [f'<circle cx="{_number(x)}" cy="{_number(y)}" r="4" fill="{s.fill}"/>' for x, y in points]
    return _picture(title, width, height, body)


def walkabouts_chart(trend: dict, title: str = "Walkabouts planned and held", **size) -> str:
    series = [Series(trend["planned"], BLUE), Series(trend["held"], GREY)]
    return _bars(title, trend["labels"], series, stacked=False, **size)


def concerns_chart(trend: dict, title: str = "Concerns raised, by risk band", **size) -> str:
    # Low and moderate share a segment (as in the trend figures); it takes the low fill.
    series = [
        Series(trend["concerns_low_moderate"], _band_fill("low")),
        Series(trend["concerns_high"], _band_fill("high")),
        Series(trend["concerns_extreme"], _band_fill("extreme")),
    ]
    return _bars(title, trend["labels"], series, stacked=True, defs=_band_defs(["high"]), **size)


def actions_chart(trend: dict, title: str = "Actions opened, closed and overdue", **size) -> str:
    keys = ("actions_opened", "actions_closed", "actions_overdue")
    series = [
        Series(trend[key], colour, dash)
        for (colour, dash, _css), key in zip(LINES.values(), keys, strict=True)
    ]
    return _lines(title, trend["labels"], series, **size)


def categories_chart(
    by_category: list[dict], title: str = "Concerns by category and risk band", **size
) -> str:
    """Horizontal stacked bars, a row per category (names in full, on the left)."""
    bands = [band for _top, band in RISK_BANDS]
    width = size.get("width", SIZE["width"])
    height = size.get("height", max(220, 70 + 30 * len(by_category)))
    ticks = integer_ticks([row["total"] for row in by_category])
    names = [_name_lines(str(row["name"]), width * 0.4) for row in by_category]
    left = 12 + max((_text_width(line) for lines in names for line in lines), default=0)
    plot = Plot(left, TITLE_SIZE + 22, width - 14, height - LABEL_SIZE - 14, ticks)
    along = plot.right - plot.left
    body = [_axes(plot)]
    every = max(
        1, math.ceil((max(_text_width(str(t)) for t in ticks) + 8) / (along / max(1, len(ticks) - 1)))
    )
    body += [
        f'<text x="{_number(plot.left + plot.scale(t, along))}" y="{_number(plot.bottom + LABEL_SIZE + 5)}" '
        f'text-anchor="middle">{t}</text>'
        for i, t in enumerate(ticks)
        if i % every == 0
    ]
    slot = (plot.bottom - plot.top) / max(1, len(by_category))
    for i, row in enumerate(by_category):
        y = plot.top + i * slot
        first = y + slot / 2 + 4 - (len(names[i]) - 1) * LABEL_SIZE / 2
        body += [
            f'<text x="{_number(plot.left - 6)}" y="{_number(first + n * LABEL_SIZE)}" text-anchor="end">'
            f"{escape(line)}</text>"
            for n, line in enumerate(names[i])
        ]
        x = plot.left
        for band in bands:
            if row[band]:
                long = plot.scale(row[band], along)
                body.append(
                    f'<rect x="{_number(x)}" y="{_number(y + slot * 0.15)}" width="{_number(long)}" '
                    f'height="{_number(slot * 0.7)}" fill="{_band_fill(band)}"/>'
                )
                x += long
    if not by_category:
        body.append(f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle">No data</text>')
    return _picture(title, width, height, body, _band_defs(bands))


def legend(name: str) -> list[dict]:
    """The legend entries of chart `name`: label and swatch class (the page draws them)."""
    if name == "walkabouts":
        return [
            {"label": "Planned", "swatch": "swatch-planned"},
            {"label": "Held", "swatch": "swatch-held"},
        ]
    if name == "concerns":
        bands = ["low", "moderate", "high", "extreme"]
        labels = {**BAND_LABELS, "low": "Low or moderate (1\u20136)"}
        return [{"label": labels[b], "swatch": f"swatch-{b}"} for b in bands if b != "moderate"]
    if name == "actions":
        return [
            {"label": label, "swatch": f"swatch-line-{style}"} for label, (_c, _d, style) in LINES.items()
        ]
    if name == "categories":
        return [{"label": BAND_LABELS[b], "swatch": f"swatch-{b}"} for _top, b in RISK_BANDS]
    raise KeyError(name)


def sparkline(values: list[float | None]) -> str:
    """A small line of a figure's last twelve months (no axes: the page states the values).

    A polyline and nothing else: the page prints the figure's values beside it."""
    points = [0 if v is None else v for v in values]
    width, height, pad = SPARK_SIZE
    line = ""
    if points:
        low, high = min(points), max(points)
        step = (width - 2 * pad) / max(1, len(points) - 1)

        def y(value: float) -> float:
            if high == low:
                return height / 2
            return height - pad - (value - low) / (high - low) * (height - 2 * pad)

        coords = " ".join(f"{pad + i * step:.1f},{y(v):.1f}" for i, v in enumerate(points))
        line = (
            f'<polyline points="{coords}" fill="none" stroke="{INK}" stroke-width="4" '
            'stroke-linejoin="round" stroke-linecap="round"/>'
        )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}">{line}</svg>'
    )
