"""About the service: the accessibility statement, and the trust's own logo for the header."""

from pathlib import Path

from flask import Blueprint, abort, current_app, render_template, send_file

bp = Blueprint("about", __name__)

LOGO_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".svg": "image/svg+xml"}


@bp.get("/accessibility")
def accessibility():
    """The accessibility statement, in the NHS's published format."""
    return render_template("about/accessibility.html")


@bp.get("/trust-logo")
def trust_logo():
    """The logo file the trust configured (WALKABOUT_TRUST_LOGO); 404 when there is none."""
    configured = current_app.config.get("TRUST_LOGO")
    path = Path(configured) if configured else None
    if path is None or path.suffix.lower() not in LOGO_TYPES or not path.is_file():
        abort(404)
    return send_file(path, mimetype=LOGO_TYPES[path.suffix.lower()], max_age=3600)
