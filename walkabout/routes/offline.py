"""The installable app (issue 14): web app manifest, service worker, the offline page, and
the small session answer the phone's sender asks for before it sends what waits.

The worker (static/js/sw.js) keeps pages per user and only the pages the server marks
with `X-Walkabout-Offline: <user id>`: the home page and, for walkabouts of today or in
progress on the user's team, the capture, read-back and walkabout pages.
"""

import hashlib
import json
from functools import cache

from flask import Blueprint, Response, current_app, g, render_template, request, url_for
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from ..auth import signed_in, signed_in_user
from ..db import get_session
from ..models import Walkabout
from ..paths import resource_dir
from ..services import offline
from ..timeutil import local_today

bp = Blueprint("offline", __name__)

OFFLINE_HEADER = "X-Walkabout-Offline"
WALKABOUT_PAGES = ("capture.capture_page", "capture.readback", "walkabouts.show")
SHOWN_WALKABOUT = "offline_walkabout"  # in `g`: the walkabout a page showed (status, lead, attendees)
THEME_COLOUR = "#005eb8"  # NHS blue, as the header
# Kept by the worker when it installs: what the capture page and the offline page need.
PRECACHED_STATIC = (
    "vendor/walkabout.css",
    "vendor/htmx.min.js",
    "vendor/offline.min.js",
    "vendor/capture.min.js",
    "favicon.svg",
    "icons/icon-192.png",
)


@cache
def worker_version() -> str:
    """Changes whenever the worker or a file it keeps changes, so phones take the update."""
    digest = hashlib.sha256()
    static = resource_dir("static")
    for name in ("js/sw.js", *PRECACHED_STATIC):  # the scripts are built from static/js/ by `make vendor`
        digest.update((static / name).read_bytes())
    digest.update(resource_dir("templates").joinpath("capture", "offline.html").read_bytes())
    return digest.hexdigest()[:16]


@bp.get("/sw.js")
def worker():
    precache = [url_for("offline.offline_page")] + [url_for("static", filename=n) for n in PRECACHED_STATIC]
    source = resource_dir("static").joinpath("js", "sw.js").read_text(encoding="utf-8")
    source = source.replace('"__VERSION__"', json.dumps(worker_version()))
    source = source.replace('"__PRECACHE__"', json.dumps(precache))
    source = source.replace('"__OFFLINE_URL__"', json.dumps(url_for("offline.offline_page")))
    response = Response(source, mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"  # the browser checks for a new worker on each visit
    return response


@bp.get("/manifest.webmanifest")
def manifest():
    name = current_app.config["TRUST_NAME"]
    body = {
        "name": f"Walkabout · {name}",
        "short_name": "Walkabout",
        "start_url": url_for("home.index"),
        "scope": url_for("home.index"),
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": THEME_COLOUR,
        "icons": [
            {
                "src": url_for("static", filename=f"icons/icon-{size}.png"),
                "sizes": f"{size}x{size}",
                "type": "image/png",
                "purpose": "any",
            }
            for size in (192, 512)
        ]
        + [
            {
                "src": url_for("static", filename="icons/maskable-512.png"),
                "sizes": "512x512",
                "type": "image/png",
                "purpose": "maskable",
            }
        ],
    }
    response = Response(json.dumps(body), mimetype="application/manifest+json")
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/offline")
def offline_page():
    """What the worker shows for a page it does not keep: the items waiting on this phone
    (read there from the phone's own storage, so the page itself holds nothing personal)."""
    return render_template("capture/offline.html")


@bp.get("/offline/session")
@signed_in
def session_check():
    """Who is signed in, a fresh CSRF token for what waits, and the pages to keep."""
    user = signed_in_user()
    ids = offline.offline_walkabout_ids(get_session(), user, local_today())
    pages = [url_for("home.index")]
    for walkabout_id in ids:
        pages += [
            url_for("capture.capture_page", walkabout_id=walkabout_id),
            url_for("capture.readback", walkabout_id=walkabout_id),
            url_for("walkabouts.show", walkabout_id=walkabout_id),
        ]
    return {"user": user.id, "csrf": generate_csrf(), "pages": pages}


@bp.after_app_request
def mark_offline_pages(response: Response) -> Response:
    """Tell the worker which pages it may keep for this user (see the module docstring)."""
    if request.method != "GET" or response.status_code != 200 or not current_user.is_authenticated:
        return response
    if request.headers.get("HX-Request") and not request.headers.get("HX-History-Restore-Request"):
        return response  # fragments are not pages
    user = current_user
    if request.endpoint == "home.index":
        if offline.offline_capable(user):
            response.headers[OFFLINE_HEADER] = str(user.id)
    elif request.endpoint in WALKABOUT_PAGES:
        walkabout_id = (request.view_args or {}).get("walkabout_id")
        shown = g.get(SHOWN_WALKABOUT)  # the page's own (plain) copy, when it kept one
        walkabout = shown if shown is not None and shown.id == walkabout_id else None
        walkabout = walkabout or get_session().get(Walkabout, walkabout_id)
        if walkabout is not None and offline.keeps_offline(walkabout, user, local_today()):
            response.headers[OFFLINE_HEADER] = str(user.id)
    return response
