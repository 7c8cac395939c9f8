"""Ward coverage: which wards are neglected."""

from flask import Blueprint, current_app, render_template, request

from ..auth import signed_in, signed_in_user
from ..db import get_session
from ..services import coverage
from ..services.places import sites
from ..timeutil import local_today
from ..urls import arg_int, wants_fragment

bp = Blueprint("coverage", __name__)


@bp.get("/coverage")
@signed_in
def index():
    session = get_session()
    default_days = current_app.config["COVERAGE_THRESHOLD_DAYS"]
    threshold = arg_int("days", high=coverage.MAX_THRESHOLD_DAYS) or default_days
    site_id = arg_int("site")
    sort = request.args.get("sort", "days")
    sort = sort if sort in coverage.SORTS else "days"
    rows = coverage.ward_coverage(session, signed_in_user(), local_today(), threshold, site_id, sort)
    template = "coverage/_table.html" if wants_fragment() else "coverage/index.html"
    return render_template(
        template,
        rows=rows,
        threshold=threshold,
        max_days=coverage.MAX_THRESHOLD_DAYS,
        site_id=site_id,
        sort=sort,
        sorts=coverage.SORTS,
        sites=sites(session, active_only=True),
        neglected=sum(1 for row in rows if row.neglected),
    )
