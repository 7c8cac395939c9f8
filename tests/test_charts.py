"""The charts are plain SVG pictures: parsed back, every value is drawn to scale, labels fit."""

from xml.etree import ElementTree

from walkabout.reports import charts

SVG = "{http://www.w3.org/2000/svg}"
MONTHS = ["Sep 26", "Oct 26", "Nov 26"]
TREND = {
    "labels": MONTHS,
    "planned": [4, 6, 3],
    "held": [3, 6, 0],
    "concerns_low_moderate": [3, 0, 2],
    "concerns_high": [1, 2, 0],
    "concerns_extreme": [0, 1, 5],
    "actions_opened": [5, 3, 0],
    "actions_closed": [1, 2, 2],
    "actions_overdue": [0, 1, 3],
}


def parsed(svg: str) -> ElementTree.Element:
    root = ElementTree.fromstring(svg)
    tags = {element.tag.removeprefix(SVG) for element in root.iter()}
    assert not tags & {"script", "style", "foreignObject"}  # a static picture, colours as attributes
    return root


def texts(root) -> list[str]:
    return [element.text for element in root.iter(f"{SVG}text")]


def test_walkabouts_are_drawn_to_scale_with_whole_number_ticks():
    root = parsed(charts.walkabouts_chart(TREND, width=480, height=300))
    assert texts(root)[:1] == ["Walkabouts planned and held"]
    assert [t for t in texts(root) if t.isdigit()] == ["0", "1", "2", "3", "4", "5", "6"]
    assert set(MONTHS) <= set(texts(root))
    drawn = [r for r in root.iter(f"{SVG}rect") if r.get("fill") != "white"]
    assert len(drawn) == 5  # a bar per value but the zero
    heights = sorted(float(r.get("height")) for r in drawn)
    assert heights[-1] / heights[0] == 2 and heights.count(heights[-1]) == 2  # 6 against 3


def test_concern_bands_stack_with_their_patterns_and_lines_have_their_dashes():
    root = parsed(charts.concerns_chart(TREND))
    fills = [r.get("fill") for r in root.findall(f"{SVG}rect")]
    assert "url(#band-high)" in fills and charts.BAND_FILLS["extreme"][0] in fills
    assert root.find(f".//{SVG}pattern[@id='band-high']") is not None
    lines = parsed(charts.actions_chart(TREND)).findall(f"{SVG}polyline")
    dashes = [dash for _colour, dash, _css in charts.LINES.values()]
    assert [line.get("stroke-dasharray") for line in lines] == dashes
    assert all(len(line.get("points").split()) == 3 for line in lines)


def test_ticks_are_round_numbers():
    assert charts.integer_ticks([0]) == [0, 1]
    assert charts.integer_ticks([13]) == [0, 5, 10, 15]
    assert charts.integer_ticks([1476]) == [0, 250, 500, 750, 1000, 1250, 1500]
    assert charts.integer_ticks([None, 99]) == [0, 20, 40, 60, 80, 100]


def test_many_months_on_a_phone_show_every_few_labels():
    labels = [f"{m} {y}" for y in (25, 26) for m in ("Jan", "Feb", "Mar", "Apr", "May", "Jun") * 2]
    trend = {key: (values * 8)[:24] for key, values in TREND.items()} | {"labels": labels}
    shown = [t for t in texts(parsed(charts.actions_chart(trend, width=480, height=300))) if t in labels]
    assert shown[0] == labels[0] and 4 <= len(shown) <= 12


def test_category_names_are_text_and_an_empty_chart_says_so():
    hostile = '<b>Équipement</b> & "co"'
    svg = charts.categories_chart(
        [{"name": hostile, "low": 1, "moderate": 0, "high": 2, "extreme": 0, "total": 3}], width=480
    )
    assert hostile in texts(parsed(svg))
    long = "Infection prevention and control of hospital-acquired conditions"
    row = {"name": long, "low": 1, "moderate": 0, "high": 0, "extreme": 0, "total": 1}
    lines = [t for t in texts(parsed(charts.categories_chart([row], width=480))) if t[0].isalpha()][1:]
    assert lines[0] == "Infection prevention and" and len(lines) == 2
    assert lines[1].endswith("\u2026") and long.startswith(" ".join(lines)[:-1])  # shortened, not cut off
    assert "No data" in texts(parsed(charts.categories_chart([], width=480)))
