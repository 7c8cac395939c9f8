"""SVG charts made with pygal, legible in black and white (greys, dashes, patterns of shade).

No scripts: pygal's interactive JavaScript is switched off, so the SVG is a
plain picture for WeasyPrint and for an <img> on the dashboard.
"""

import re

import pygal
from pygal.style import Style

from ..rules import RISK_BANDS

# Greys and one blue that stay distinct when printed in black and white.
INK = "#1d2433"
PRINT_STYLE = Style(
    background="white",
    plot_background="white",
    foreground=INK,
    foreground_strong=INK,
    foreground_subtle="#c8ccd4",
    opacity="1",
    opacity_hover="1",
    transition="none",
    colors=("#003d78", "#7f8fa6", "#1d2433", "#b9c3d1", "#5a6475"),
    font_family="Liberation Sans, Arial, sans-serif",
    label_font_size=13,
    major_label_font_size=13,
    legend_font_size=14,
    title_font_size=16,
    value_font_size=12,
    value_label_font_size=12,
    tooltip_font_size=12,
)
BAND_STYLE = Style(**{**PRINT_STYLE.to_dict(), "colors": ("#d3d8e0", "#8a94a6", "#4a5568", "#111827")})


def _config(**extra) -> dict:
    """pygal settings for a static, printable chart; `extra` overrides (title, labels, size)."""
    base = dict(
        style=PRINT_STYLE,
        js=[],
        disable_xml_declaration=True,
        width=760,
        height=300,
        legend_at_bottom=True,
        legend_at_bottom_columns=4,
        print_values=False,
        show_y_guides=False,
        margin=8,
        spacing=10,
        truncate_label=-1,
        tooltip_border_radius=0,
        no_data_text="No data",
    )
    base.update(extra)
    return base


INTERACTIVE_PARTS = re.compile(r"<desc class=\"[^\"]*\">[^<]*</desc>|<script\b.*?</script>", re.S)


def _svg(chart) -> str:
    """The chart's SVG without pygal's config script and tooltip data: a static picture."""
    return INTERACTIVE_PARTS.sub("", chart.render(is_unicode=True))


def walkabouts_chart(trend: dict, title: str = "Walkabouts planned and held", **size) -> str:
    chart = pygal.Bar(**_config(title=title, x_labels=trend["labels"], min_scale=3, **size))
    chart.add("Planned", trend["planned"])
    chart.add("Held", trend["held"])
    return _svg(chart)


def concerns_chart(trend: dict, title: str = "Concerns raised, by risk band", **size) -> str:
    chart = pygal.StackedBar(**_config(title=title, x_labels=trend["labels"], style=BAND_STYLE, **size))
    chart.add("Low or moderate", trend["concerns_low_moderate"])
    chart.add("High", trend["concerns_high"])
    chart.add("Extreme", trend["concerns_extreme"])
    return _svg(chart)


def actions_chart(trend: dict, title: str = "Actions opened, closed and overdue", **size) -> str:
    chart = pygal.Line(
        **_config(title=title, x_labels=trend["labels"], dots_size=4, stroke_style={"width": 3}, **size)
    )
    chart.add("Opened", trend["actions_opened"])
    chart.add("Closed", trend["actions_closed"], stroke_style={"width": 3, "dasharray": "8, 5"})
    chart.add(
        "Overdue at month end", trend["actions_overdue"], stroke_style={"width": 3, "dasharray": "2, 4"}
    )
    return _svg(chart)


def categories_chart(
    by_category: list[dict], title: str = "Concerns by category and risk band", **size
) -> str:
    rows = list(reversed(by_category))
    chart = pygal.HorizontalStackedBar(
        **_config(
            title=title,
            x_labels=[row["name"] for row in rows],
            style=BAND_STYLE,
            height=max(220, 70 + 30 * len(rows)),
            **size,
        )
    )
    for _top, band in RISK_BANDS:
        chart.add(band.capitalize(), [row[band] for row in rows])
    return _svg(chart)
