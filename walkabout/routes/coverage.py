"""Ward coverage: which wards are neglected."""

from flask import Blueprint, current_app, render_template, request
from flask_login import login_required

from ..auth import signed_in_user
from ..db import get_session
from ..services import coverage
from ..services.places import sites
from ..timeutil import local_today

bp = Blueprint("coverage", __name__)


@bp.get("/coverage")
@login_required
def index():
    session = get_session()
    default_days = current_app.config["COVERAGE_THRESHOLD_DAYS"]
    days_arg = request.args.get("days", "")
    threshold = int(days_arg) if days_arg.isdigit() and 1 <= int(days_arg) <= 3650 else default_days
    site_arg = request.args.get("site", "")
    site_id = int(site_arg) if site_arg.isdigit() and len(site_arg) < 10 else None
    sort = request.args.get("sort", "days")
    sort = sort if sort in coverage.SORTS else "days"
    rows = coverage.ward_coverage(session, signed_in_user(), local_today(), threshold, site_id, sort)
    template = "coverage/_table.html" if request.headers.get("HX-Request") else "coverage/index.html"
    return render_template(
        template,
        rows=rows,
        threshold=threshold,
        site_id=site_id,
        sort=sort,
        sorts=coverage.SORTS,
        sites=sites(session, active_only=True),
        neglected=sum(1 for row in rows if row.neglected),
    )
