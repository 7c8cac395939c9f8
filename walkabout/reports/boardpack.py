"""The monthly board pack: gather figures, charts and sections, render the PDF."""

import base64
from dataclasses import dataclass

from flask import current_app
from sqlmodel import Session

from ..db_types import utcnow
from ..periods import Period, month_buckets
from ..services import branding, rag
from . import charts, details, figures, pack_summary, staff_voice, trends
from .pdf import LockedFetcher, rare_collections, render_pdf

PDF_SIZE = {"height": 250}  # three charts and their keys fit on one A4 page


@dataclass
class BoardPackResult:
    pdf: bytes
    figures: dict


def render_document(template: str, context: dict) -> str:
    """Render a PDF template without request context processors (works in a worker thread)."""
    return current_app.jinja_env.get_template(template).render(context)


def svg_data_url(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


@rare_collections()  # the figures' rows are many short-lived objects too
def build(session: Session, period: Period, version: int, requested_by: str | None) -> BoardPackResult:
    """Compute the month's figures and render its pack (needs an app context)."""
    provisional = period.end_utc > utcnow()
    # The trend comes first: its last month's overdue count is the headline's, by the same
    # definition, and a past month's count reads every action's history once more otherwise.
    trend = trends.series(session, month_buckets(period))
    headline = figures.headline(session, period, None if provisional else trend["actions_overdue"][-1])
    loop = pack_summary.loop_figures(session, period)
    headline["provisional"] = provisional
    headline["loop"] = loop
    headline["staff_voice"] = staff_voice.figures(session, period, staff_voice.PACK_QUARTERS)
    context = {
        "provisional": provisional,
        "fidelity": loop,
        "staff_voice": headline["staff_voice"],
        "threshold_rules": pack_summary.threshold_rules(session),
        "working_hours": (current_app.config["WORKING_DAY_START"], current_app.config["WORKING_DAY_END"]),
        "coverage_days": current_app.config["COVERAGE_THRESHOLD_DAYS"],
        "period": period,
        "figures": headline,
        "version": version,
        "requested_by": requested_by,
        "generated_at": utcnow(),
        "trust_name": branding.brand(session, current_app.config["TRUST_NAME"]).name,
        "trust_logo_src": branding.logo_data_uri(session),
    }
    if headline["has_data"]:
        overdue_rows, overdue_groups = details.overdue_by_ward_and_owner(session, period)
        risks, risks_total, risks_available = details.open_high_risks(session, period)
        headline["open_high_risks_at_end"] = risks_total if risks_available else None
        tiles = pack_summary.summary_tiles(session, period, headline, loop, trend)
        headline["rag"] = {tile["key"]: tile["status"] for tile in tiles if tile["key"]}
        context.update(
            tiles=[dict(tile, spark=svg_data_url(tile["spark"])) for tile in tiles],
            status_labels=rag.STATUS_LABELS,
            trend=trend,
            charts={
                "walkabouts": svg_data_url(charts.walkabouts_chart(trend, **PDF_SIZE)),
                "concerns": svg_data_url(charts.concerns_chart(trend, **PDF_SIZE)),
                "actions": svg_data_url(charts.actions_chart(trend, **PDF_SIZE)),
            },
            legends={name: charts.legend(name) for name in ("walkabouts", "concerns", "actions")},
            themes=details.themes(session, period, headline["concerns"]["by_category"]),
            overdue_rows=overdue_rows,
            overdue_groups=overdue_groups,
            risks=risks,
            risks_total=risks_total,
            risks_available=risks_available,
            notes=details.walkabout_notes(session, period),
        )
    html = render_document("pdf/board_pack.html", context)
    pdf = render_pdf(html, LockedFetcher())
    return BoardPackResult(pdf=pdf, figures=headline)
