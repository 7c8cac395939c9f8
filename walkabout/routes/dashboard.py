"""The dashboard: headline figures and charts for any date range (executives, board secretaries)."""

from datetime import timedelta

from flask import Blueprint, make_response, render_template, request
from markupsafe import Markup

from ..auth import executives_and_secretaries
from ..db import get_session
from ..forms.reports import DashboardRangeForm
from ..periods import Period, add_months, range_buckets
from ..reports import charts, dashboard, trends
from ..services import versioned_cache
from ..timeutil import local_today, trust_zone

bp = Blueprint("dashboard", __name__)
PHONE_SIZE = {"width": 480, "height": 300}  # legible on a phone; the key is printed under it
CHARTS = {
    "walkabouts": charts.walkabouts_chart,
    "concerns": charts.concerns_chart,
    "actions": charts.actions_chart,
}


def _range() -> tuple[DashboardRangeForm, Period | None]:
    """The form and its period (last three months by default); None when the input is wrong."""
    today = local_today()
    form = DashboardRangeForm(request.args, today=today)
    if request.args and not form.validate():
        return form, None
    start = form.date_from.data or add_months(today, -2)
    end = form.date_to.data or today
    if start > end:
        start = end.replace(day=1)
    form.date_from.data, form.date_to.data = start, end
    return form, Period(start, end + timedelta(days=1), trust_zone())


def _figures_html(session, period: Period) -> Markup:
    """The figures fragment of `period`, kept by this process like the figures (reports/dashboard.kept):
    it holds nothing of the user or the request but the range."""
    horizon = dashboard.horizon(session, period)

    def render() -> Markup:
        return Markup(
            render_template(
                "reports/_dashboard_figures.html",
                period=period,
                query={"date_from": period.start.isoformat(), "date_to": period.last_day.isoformat()},
                legends={name: charts.legend(name) for name in (*CHARTS, "categories")},
                **dashboard.dashboard_figures(session, period, horizon),
            )
        )

    return dashboard.kept(session, period, ("html", request.script_root), render, horizon)  # its links


@bp.get("/dashboard")
@executives_and_secretaries
def index():
    form, period = _range()
    if period is None:
        return render_template("reports/dashboard.html", form=form, period=None), 400
    return render_template(
        "reports/dashboard.html", form=form, period=period, figures_html=_figures_html(get_session(), period)
    )


def _chart_svg(session, name: str, period: Period) -> str:
    if name == "categories":
        by_category = dashboard.dashboard_figures(session, period)["f"]["concerns"]["by_category"]
        return charts.categories_chart(by_category, width=480)
    # The trend's last bucket is taken now: as the dashboard's figures, it moves with the data and the date.
    return versioned_cache.remember(
        session,
        ("dashboard chart", name, period.start, period.end, local_today()),
        lambda: CHARTS[name](trends.series(session, range_buckets(period)), **PHONE_SIZE),
    )


@bp.get("/dashboard/charts/<name>.svg")
@executives_and_secretaries
def chart(name: str):
    _form, period = _range()
    if name not in CHARTS and name != "categories":
        return make_response("Unknown chart", 404)
    if period is None:
        return make_response("Bad date range", 400)
    response = make_response(_chart_svg(get_session(), name, period))
    response.headers["Content-Type"] = "image/svg+xml; charset=utf-8"
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    response.headers["Cache-Control"] = "private, max-age=300"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
