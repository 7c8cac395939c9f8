"""About the service: the accessibility statement, and the trust's own logo for the header."""

from flask import Blueprint, abort, make_response, render_template, request

from ..db import get_session
from ..services import branding

bp = Blueprint("about", __name__)


@bp.get("/accessibility")
def accessibility():
    """The accessibility statement, in the NHS's published format."""
    return render_template("about/accessibility.html")


@bp.get("/trust-logo")
def trust_logo():
    """The logo an administrator uploaded (re-encoded PNG or JPEG); 404 when there is none.

    Public: emails show it. Links carry the settings version (`?v=`), so a new logo gets a
    new address and the old one may be cached for a day."""
    found = branding.logo(get_session())
    if found is None:
        abort(404)
    data, content_type = found
    response = make_response(data)
    response.headers["Content-Type"] = content_type
    response.headers["Cache-Control"] = "public, max-age=86400" if request.args.get("v") else "no-cache"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
