from flask import Blueprint, abort, current_app, render_template, request, url_for

from ..auth import admins, signed_in, signed_in_user
from ..db import get_session
from ..db_types import utcnow
from ..notify.backends import OutboxBackend, get_backend
from ..services import notification_kinds as kinds
from ..services import notifications
from .helpers import commit_and_redirect

bp = Blueprint("notifications", __name__)


@bp.get("/notifications")
@signed_in
def inbox():
    items = notifications.inbox(get_session(), signed_in_user().id)
    return render_template("notifications/inbox.html", items=items, kinds=kinds.BY_KEY)


@bp.post("/notifications/read")
@signed_in
def mark_read():
    return commit_and_redirect(
        lambda: notifications.mark_all_read(get_session(), signed_in_user().id, utcnow()),
        None,
        url_for("notifications.inbox"),
    )


@bp.route("/account/notifications", methods=["GET", "POST"])
@signed_in
def preferences():
    session = get_session()
    user = signed_in_user()
    if request.method == "POST":
        chosen = {key for key in request.form.getlist("kinds") if key in kinds.BY_KEY}

        def save():
            notifications.set_preferences(session, user, chosen)
            if request.form.get("new_actions") in ("digest", "each"):
                notifications.set_digest_choice(session, user, request.form["new_actions"] == "digest")

        return commit_and_redirect(
            save, "Your email choices are saved.", url_for("notifications.preferences")
        )
    return render_template(
        "notifications/preferences.html",
        choices=notifications.preferences(session, user.id),
        new_actions_in_digest=notifications.digest_choice(session, user),
        optional=kinds.OPTIONAL,
        always=[k for k in kinds.ALL if not k.optional],
    )


@bp.get("/admin/outbox")
@admins
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
@admins
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
