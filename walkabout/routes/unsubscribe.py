"""One-click unsubscribe from the link in an email (RFC 8058): no sign-in, the signed token is the key.

A mail client's "Unsubscribe" button POSTs `List-Unsubscribe=One-Click` here;
a person who follows the link sees a page with one button (a GET changes
nothing, since link scanners open every link in a message).
"""

from flask import Blueprint, abort, current_app, render_template

from ..db import get_session
from ..models import User
from ..notify import unsubscribe as tokens
from ..services import notifications

bp = Blueprint("unsubscribe", __name__)


def _subject(token: str) -> tuple[User, object]:
    found = tokens.read_token(current_app.config, token)
    if found is None:
        abort(404)
    user = get_session().get(User, found[0])
    if user is None or not user.active:
        abort(404)
    return user, found[1]


@bp.get("/unsubscribe/<token>")
def confirm(token: str):
    user, kind = _subject(token)
    wanted = notifications.wants(get_session(), user.id, kind)
    return render_template("notifications/unsubscribe.html", token=token, kind=kind, done=not wanted)


@bp.post("/unsubscribe/<token>")
def one_click(token: str):
    session = get_session()
    user, kind = _subject(token)
    notifications.unsubscribe(session, user, kind)
    session.commit()
    return render_template("notifications/unsubscribe.html", token=token, kind=kind, done=True)
