"""SVG charts made with pygal, legible in black and white and to colour-blind readers.

No scripts: pygal's interactive JavaScript is switched off, so the SVG is a
plain picture for WeasyPrint and for an <img> on the dashboard. Legends are not
drawn inside the SVG (pygal's bottom legend is clipped when the picture is
scaled): `legend(name)` gives the entries, and the page prints them as text
next to the chart, with a swatch of the same fill or line style.

Risk bands use the NHS 5x5 matrix colours (green, yellow, amber, red), chosen
so their greys differ when printed in black and white, and the two middle
bands carry a pattern (dots, stripes), so no band is told apart by hue alone.
"""

import math
import re

import pygal
from pygal.style import Style

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
PRINT_STYLE = Style(
    background="white",
    plot_background="white",
    foreground=INK,
    foreground_strong=INK,
    foreground_subtle="#c8ccd4",
    opacity="1",
    opacity_hover="1",
    transition="none",
    colors=(BLUE, GREY, INK, "#b9c3d1", "#5a6475"),
    font_family="Liberation Sans, Arial, sans-serif",
    label_font_size=13,
    major_label_font_size=13,
    legend_font_size=14,
    title_font_size=16,
    value_font_size=12,
    value_label_font_size=12,
    tooltip_font_size=12,
)


def _band_style(bands: list[str]) -> Style:
    colours = tuple(f"url(#band-{band})" if BAND_FILLS[band][1] else BAND_FILLS[band][0] for band in bands)
    return Style(**{**PRINT_STYLE.to_dict(), "colors": colours})


def _band_defs(bands: list[str]) -> list[str]:
    defs = []
    for band in bands:
        colour, pattern = BAND_FILLS[band]
        if pattern:
            defs.append(PATTERNS[pattern].format(id=f"band-{band}", colour=colour, ink=INK))
    return defs


def integer_ticks(values: list[int | None], most: int = 6) -> list[int]:
    """Whole-number y labels from 0 to at least the largest value (counts have no fractions)."""
    top = max([v or 0 for v in values] + [1])
    step = max(1, math.ceil(top / most))
    return list(range(0, top + step, step))


def _config(**extra) -> dict:
    """pygal settings for a static, printable chart; `extra` overrides (title, labels, size)."""
    base = dict(
        style=PRINT_STYLE,
        js=[],
        disable_xml_declaration=True,
        width=760,
        height=300,
        show_legend=False,
        print_values=False,
        show_y_guides=False,
        margin=8,
        spacing=10,
        truncate_label=-1,
        tooltip_border_radius=0,
        no_data_text="No data",
    )
    base.update({key: value for key, value in extra.items() if key != "legend_at_bottom_columns"})
    return base


SPARK_SIZE = (200, 50, 5)  # width, height, padding in SVG units (the page scales it to 36 x 9 mm)
TOOLTIP_LAYER = "tooltip-overlay"  # pygal's hidden tooltip box
OVERLAYS = {"overlay", "text-overlay"}  # pygal's layers for dots and value labels, often empty
DRAWN = {"rect", "path", "circle", "text", "line", "polyline", "polygon", "ellipse", "image"}
CSS_RULE = re.compile(r"([^{}]+)\{([^{}]*)\}")  # pygal's stylesheet is flat and minified
CSS_CLASS = re.compile(r"\.([\w-]+)")


def _static_picture(svg):
    """pygal xml filter: a static picture, without the config script, tooltip data, the tooltip
    layer and empty overlays, and without the stylesheet rules that match nothing left. WeasyPrint
    matches each rule against each element of a picture: this is a third of a chart's cost."""
    parents = {child: parent for parent in svg.iter() for child in parent}
    for element in list(svg.iter()):
        tag = element.tag if isinstance(element.tag, str) else ""
        classes = set((element.get("class") or "").split()) if tag else set()
        empty_overlay = bool(classes & OVERLAYS) and not any(e.tag in DRAWN for e in element.iter())
        unwanted = tag == "script" or (tag == "desc" and classes) or TOOLTIP_LAYER in classes
        if (unwanted or empty_overlay) and element in parents:
            parents[element].remove(element)
    present = {name for element in svg.iter() for name in (element.get("class") or "").split()}
    for style in svg.iter("style"):
        rules = []
        for selectors, body in CSS_RULE.findall(style.text or ""):
            kept = [
                selector
                for selector in selectors.split(",")
                if ":hover" not in selector and set(CSS_CLASS.findall(selector)) <= present
            ]
            if kept:
                rules.append(f"{','.join(kept)}{{{body}}}")
        style.text = "".join(rules)
    return svg


def _svg(chart) -> str:
    """The chart's SVG as a static picture (see `_static_picture`)."""
    chart.add_xml_filter(_static_picture)
    return chart.render(is_unicode=True)


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


def walkabouts_chart(trend: dict, title: str = "Walkabouts planned and held", **size) -> str:
    values = trend["planned"] + trend["held"]
    chart = pygal.Bar(
        **_config(title=title, x_labels=trend["labels"], y_labels=integer_ticks(values), **size)
    )
    chart.add("Planned", trend["planned"])
    chart.add("Held", trend["held"])
    return _svg(chart)


def concerns_chart(trend: dict, title: str = "Concerns raised, by risk band", **size) -> str:
    # Low and moderate share a segment (as in the trend figures); it takes the low fill.
    bands = ["low", "high", "extreme"]
    totals = [
        sum(parts)
        for parts in zip(*(trend[f"concerns_{k}"] for k in ("low_moderate", "high", "extreme")), strict=True)
    ]
    chart = pygal.StackedBar(
        **_config(
            title=title,
            x_labels=trend["labels"],
            style=_band_style(bands),
            defs=_band_defs(bands),
            y_labels=integer_ticks(totals),
            **size,
        )
    )
    chart.add("Low or moderate", trend["concerns_low_moderate"])
    chart.add("High", trend["concerns_high"])
    chart.add("Extreme", trend["concerns_extreme"])
    return _svg(chart)


def actions_chart(trend: dict, title: str = "Actions opened, closed and overdue", **size) -> str:
    values = trend["actions_opened"] + trend["actions_closed"] + trend["actions_overdue"]
    style = Style(**{**PRINT_STYLE.to_dict(), "colors": tuple(c for c, _d, _s in LINES.values())})
    chart = pygal.Line(
        **_config(
            title=title,
            x_labels=trend["labels"],
            dots_size=4,
            stroke_style={"width": 3},
            style=style,
            y_labels=integer_ticks(values),
            **size,
        )
    )
    keys = ("actions_opened", "actions_closed", "actions_overdue")
    for (label, (_colour, dash, _css)), key in zip(LINES.items(), keys, strict=True):
        stroke = {"width": 3, "dasharray": dash} if dash else {"width": 3}
        chart.add(label, trend[key], stroke_style=stroke)
    return _svg(chart)


def categories_chart(
    by_category: list[dict], title: str = "Concerns by category and risk band", **size
) -> str:
    rows = list(reversed(by_category))
    bands = [band for _top, band in RISK_BANDS]
    totals = [row["total"] for row in rows]
    chart = pygal.HorizontalStackedBar(
        **_config(
            title=title,
            x_labels=[row["name"] for row in rows],
            style=_band_style(bands),
            defs=_band_defs(bands),
            height=max(220, 70 + 30 * len(rows)),
            y_labels=integer_ticks(totals),
            **size,
        )
    )
    for band in bands:
        chart.add(BAND_LABELS[band], [row[band] for row in rows])
    return _svg(chart)


def sparkline(values: list[float | None]) -> str:
    """A small line of a figure's last twelve months (no axes: the page states the values).

    Drawn here rather than with pygal: pygal's stylesheet, 9 KB in every picture, was most
    of what WeasyPrint spent on the summary page's five sparklines (0.13 s of the pack)."""
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
