"""The audit log: every entry, newest first, filtered by the query string (so a view can be
bookmarked), a page at a time or as CSV. Read-only; administrators and board secretaries."""

from flask import Blueprint, current_app, make_response, render_template, request, url_for

from ..auth import admins_and_secretaries
from ..db import get_session
from ..forms.admin_lists import parse_audit_filters
from ..reports.audit_csv import audit_csv
from ..services import audit_log
from ..timeutil import local_today
from ..urls import wants_fragment

bp = Blueprint("admin_audit", __name__, url_prefix="/admin")


def _filters():
    session = get_session()
    types = audit_log.entity_types(session)
    filters, problems = parse_audit_filters(request.args, types)
    return session, types, filters, problems


@bp.get("/audit")
@admins_and_secretaries
def index():
    session, types, filters, problems = _filters()
    found = audit_log.page(session, filters, current_app.config["AUDIT_PER_PAGE"])
    template = "admin/_audit_results.html" if wants_fragment() else "admin/audit.html"
    return render_template(
        template,
        found=found,
        filters=filters,
        problems=problems,
        types=types,
        actors=audit_log.actors(session),
        csv_url=url_for("admin_audit.export", **filters.query(page=None)),
    )


@bp.get("/audit.csv")
@admins_and_secretaries
def export():
    session, _types, filters, _problems = _filters()
    response = make_response(audit_csv(session, filters))
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = (
        f'attachment; filename="audit-log-{local_today().isoformat()}.csv"'
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response
