"""A user's private calendar feed, and creating or rotating its secret address."""

from flask import Blueprint, abort, make_response, render_template, request, url_for

from ..auth import signed_in, signed_in_user
from ..db import get_session
from ..services import calendar
from .helpers import commit_and_redirect

bp = Blueprint("calendar", __name__)


@bp.get("/calendar/<token>.ics")
def feed(token: str):
    """No sign-in: calendar apps cannot sign in; the unguessable token is the key."""
    session = get_session()
    user = calendar.feed_user(session, token)
    if user is None:
        abort(404)
    body = calendar.feed_file(session, user)
    response = make_response(body)
    response.headers["Content-Type"] = "text/calendar; charset=utf-8"
    response.headers["Cache-Control"] = "private, max-age=300"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


@bp.get("/account/calendar")
@signed_in
def settings():
    user = signed_in_user()
    feed_url = (
        url_for("calendar.feed", token=user.calendar_token, _external=True) if user.calendar_token else None
    )
    alarms = calendar.wants_alarms(get_session(), user.id)
    return render_template("account/calendar.html", feed_url=feed_url, alarms=alarms)


@bp.post("/account/calendar/alarms")
@signed_in
def alarms():
    session, user = get_session(), signed_in_user()
    wanted = request.form.get("alarms") == "1"
    return commit_and_redirect(
        lambda: calendar.set_alarms(session, user, wanted),
        "Your walkabouts now come with a reminder 30 minutes before."
        if wanted
        else "Your walkabouts now come without a reminder; your calendar's own setting applies.",
        url_for("calendar.settings"),
    )


@bp.post("/account/calendar")
@signed_in
def rotate():
    session, user = get_session(), signed_in_user()
    had_one = user.calendar_token is not None
    return commit_and_redirect(
        lambda: calendar.rotate_token(session, user),
        "New calendar address created. The old one no longer works: subscribe again with this one."
        if had_one
        else "Your calendar address is ready. Subscribe to it in Outlook or Google Calendar.",
        url_for("calendar.settings"),
    )
