from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import login_required

from ..auth import roles_required, signed_in_user
from ..db import get_session
from ..db_types import utcnow
from ..models import Role
from ..notify import kinds
from ..notify.backends import OutboxBackend, get_backend
from ..services import notifications

bp = Blueprint("notifications", __name__)


@bp.get("/notifications")
@login_required
def inbox():
    items = notifications.inbox(get_session(), signed_in_user().id)
    return render_template("notifications/inbox.html", items=items, kinds=kinds.BY_KEY)


@bp.post("/notifications/read")
@login_required
def mark_read():
    session = get_session()
    notifications.mark_all_read(session, signed_in_user().id, utcnow())
    session.commit()
    return redirect(url_for("notifications.inbox"), code=303)


@bp.route("/account/notifications", methods=["GET", "POST"])
@login_required
def preferences():
    session = get_session()
    user = signed_in_user()
    if request.method == "POST":
        chosen = {key for key in request.form.getlist("kinds") if key in kinds.BY_KEY}
        notifications.set_preferences(session, user, chosen)
        if request.form.get("new_actions") in ("digest", "each"):
            notifications.set_digest_choice(session, user, request.form["new_actions"] == "digest")
        session.commit()
        flash("Your email choices are saved.", "success")
        return redirect(url_for("notifications.preferences"), code=303)
    return render_template(
        "notifications/preferences.html",
        choices=notifications.preferences(session, user.id),
        new_actions_in_digest=notifications.digest_choice(session, user),
        optional=kinds.OPTIONAL,
        always=[k for k in kinds.ALL if not k.optional],
    )


@bp.get("/admin/outbox")
@roles_required(Role.ADMIN)
def outbox():
    backend = get_backend(current_app)
    messages = backend.list() if isinstance(backend, OutboxBackend) else None
    return render_template(
        "admin/outbox.html",
        messages=messages,
        problems=notifications.problems(get_session()),
        kinds=kinds.BY_KEY,
    )


@bp.get("/admin/outbox/<name>")
@roles_required(Role.ADMIN)
def outbox_message(name: str):
    backend = get_backend(current_app)
    raw = backend.read(name) if isinstance(backend, OutboxBackend) else None
    if raw is None:
        abort(404)
    from email import policy
    from email.parser import BytesParser

    message = BytesParser(policy=policy.default).parsebytes(raw)
    body = message.get_body(preferencelist=("plain",))
    attachments = [part.get_filename() for part in message.iter_attachments()]
    return render_template(
        "admin/outbox_message.html",
        message=message,
        name=name,
        text=body.get_content() if body else "",
        attachments=attachments,
    )
