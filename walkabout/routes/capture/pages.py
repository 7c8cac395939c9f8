"""Starting a walkabout (planned or ad hoc), the capture page and logging a concern:
routes of the `capture` blueprint."""

from flask import flash, redirect, render_template, request, url_for

from ...auth import executives, signed_in_user
from ...db import get_session
from ...errors import render_error
from ...forms.capture import AdhocForm
from ...services import Conflict, Forbidden, ServiceError, capture, concerns, idempotency, offline
from ...services.photos import PhotoRejected
from ..helpers import commit_and_redirect
from . import bp, concern_form, concern_input, is_fragment_post, load, render_capture, uploaded_photo


def capture_url(walkabout) -> str:
    return url_for("capture.capture_page", walkabout_id=walkabout.id)


@bp.post("/<int:walkabout_id>/start")
@executives
def start(walkabout_id: int):
    """Start a walkabout; a phone that started it with no signal sends `started_at` later,
    and its sender (fetch, `HX-Request`) gets 204 or the reason instead of a redirect."""
    walkabout = load(walkabout_id)
    session = get_session()
    try:
        started_at = offline.phone_start_time(walkabout, request.form.get("started_at"))
        capture.start(session, signed_in_user(), walkabout, started_at)
    except Forbidden as error:
        session.rollback()
        return render_error(403, str(error))
    except ServiceError as error:
        session.rollback()
        if is_fragment_post():
            return render_error(409 if isinstance(error, Conflict) else 400, str(error))
        flash(str(error), "error")
        return redirect(url_for("home.index"), code=303)
    session.commit()
    if is_fragment_post():
        return "", 204
    return redirect(capture_url(walkabout), code=303)


@bp.post("/adhoc")
@executives
def start_adhoc():
    form = AdhocForm()
    if not form.validate_on_submit():
        flash("Choose a ward to start an ad-hoc walkabout.", "error")
        return redirect(url_for("home.index"), code=303)
    return commit_and_redirect(
        lambda: capture.start_adhoc(
            get_session(),
            signed_in_user(),
            form.ward_id.data,
            idempotency.clean_key(form.idempotency_key.data),
        ),
        None,
        capture_url,
        failed_to=url_for("home.index"),
    )


@bp.get("/<int:walkabout_id>/capture")
@executives
def capture_page(walkabout_id: int):
    return render_capture(walkabout_id)


@bp.post("/<int:walkabout_id>/concerns")
@executives
def log_concern(walkabout_id: int):
    walkabout = load(walkabout_id)
    form = concern_form()
    if not form.validate_on_submit():
        return render_capture(walkabout.id, form, 400)
    session = get_session()
    try:
        concern, created = concerns.log_concern(
            session,
            signed_in_user(),
            walkabout,
            concern_input(form),
            uploaded_photo(form),
            idempotency.clean_key(form.idempotency_key.data),
        )
    except ServiceError as error:
        session.rollback()
        if isinstance(error, concerns.ConcernInvalid):
            getattr(form, error.field).errors.append(str(error))
            return render_capture(walkabout.id, form, 400)
        if isinstance(error, PhotoRejected):
            form.photo.errors.append(str(error))
            return render_capture(walkabout.id, form, 400)
        status = 403 if isinstance(error, Forbidden) else 409 if isinstance(error, Conflict) else 400
        return render_capture(walkabout.id, form, status, str(error))
    session.commit()
    if is_fragment_post():
        concern = concerns.get_concern(session, walkabout, concern.id)
        return render_template(
            "capture/_concern.html", concern=concern, walkabout=walkabout, editable=True
        ), 201 if created else 200
    flash("Saved." if created else "Already saved.", "success")
    return redirect(
        url_for("capture.capture_page", walkabout_id=walkabout.id, _anchor=f"concern-{concern.id}"), code=303
    )
