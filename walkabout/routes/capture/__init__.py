"""The capture screen: start a walkabout, log concerns on a phone, read back, complete.

Each POST answers an htmx (or capture.js) request with a fragment and a plain
form post with a 303; bad input re-renders the form with the message in place
and the typed text kept.
"""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from ..auth import roles_required, signed_in_user
from ..db import get_session
from ..errors import render_error
from ..forms.capture import AdhocForm, ConcernForm
from ..models import ConcernKind, Role, Walkabout, WalkaboutStatus
from ..services import Conflict, Forbidden, NotFound, ServiceError, capture, concerns, idempotency
from ..services.photos import MAX_UPLOAD_BYTES, PhotoRejected

bp = Blueprint("capture", __name__, url_prefix="/walkabouts")
executive_only = roles_required(Role.EXECUTIVE)


@bp.context_processor
def capture_globals():
    return {"staff_roles": capture.staff_roles()}


@bp.app_context_processor
def idempotency_globals():
    return {"new_idempotency_key": idempotency.new_key}


def is_htmx() -> bool:
    return bool(request.headers.get("HX-Request"))


def load(walkabout_id: int) -> Walkabout:
    try:
        return capture.load_walkabout(get_session(), walkabout_id)
    except NotFound:
        abort(404)


def concern_form(**kwargs) -> ConcernForm:
    form = ConcernForm(**kwargs)
    form.set_categories(capture.active_categories(get_session()))
    return form


def concern_input(form: ConcernForm) -> concerns.ConcernInput:
    return concerns.ConcernInput(
        text=form.text.data or "",
        kind=form.kind.data or ConcernKind.CONCERN.value,
        category_id=form.category_id.data,
        likelihood=form.likelihood.data,
        consequence=form.consequence.data,
        raised_by_role=form.raised_by_role.data,
        immediate_action=form.immediate_action.data,
        ward_can_fix=bool(form.ward_can_fix.data),
    )


def uploaded_photo(form: ConcernForm) -> bytes | None:
    upload = form.photo.data
    if upload is None or not getattr(upload, "filename", ""):
        return None
    return upload.stream.read(MAX_UPLOAD_BYTES + 1)


def render_capture(
    walkabout: Walkabout, form: ConcernForm, status: int = 200, form_message: str | None = None
):
    """The whole capture page, or only the form when an htmx submission failed."""
    user = signed_in_user()
    if is_htmx() and request.method == "POST":
        return render_template(
            "capture/_form.html", walkabout=walkabout, form=form, form_message=form_message, show_form=True
        ), status
    session = get_session()
    items = concerns.live_concerns(session, walkabout.id)
    editable = walkabout.status == WalkaboutStatus.IN_PROGRESS and capture.can_capture(walkabout, user)
    undo = _recently_deleted(walkabout) if editable else None
    return render_template(
        "capture/capture.html",
        walkabout=walkabout,
        form=form,
        items=items,
        editable=editable,
        show_form=editable or status != 200,
        form_message=form_message,
        undo=undo,
        script=capture.prompt_script(session),
        team=capture.team(walkabout),
        can_capture=capture.can_capture(walkabout, user),
    ), status


def _recently_deleted(walkabout: Walkabout):
    raw = request.args.get("undo", "")
    if not raw.isdigit():
        return None
    try:
        return concerns.get_concern(get_session(), walkabout, int(raw), deleted=True)
    except NotFound:
        return None


@bp.post("/<int:walkabout_id>/start")
@executive_only
def start(walkabout_id: int):
    walkabout = load(walkabout_id)
    session = get_session()
    try:
        capture.start(session, signed_in_user(), walkabout)
    except Forbidden as error:
        return render_error(403, str(error))
    except ServiceError as error:
        flash(str(error), "error")
        return redirect(url_for("home.index"), code=303)
    session.commit()
    return redirect(url_for("capture.capture_page", walkabout_id=walkabout.id), code=303)


@bp.post("/adhoc")
@executive_only
def start_adhoc():
    form = AdhocForm()
    session = get_session()
    if not form.validate_on_submit():
        flash("Choose a ward to start an ad-hoc walkabout.", "error")
        return redirect(url_for("home.index"), code=303)
    try:
        walkabout = capture.start_adhoc(
            session, signed_in_user(), form.ward_id.data, idempotency.clean_key(form.idempotency_key.data)
        )
    except ServiceError as error:
        flash(str(error), "error")
        return redirect(url_for("home.index"), code=303)
    session.commit()
    return redirect(url_for("capture.capture_page", walkabout_id=walkabout.id), code=303)


@bp.get("/<int:walkabout_id>/capture")
@executive_only
def capture_page(walkabout_id: int):
    walkabout = load(walkabout_id)
    return render_capture(walkabout, concern_form(formdata=None, idempotency_key=idempotency.new_key()))


@bp.post("/<int:walkabout_id>/concerns")
@executive_only
def log_concern(walkabout_id: int):
    walkabout = load(walkabout_id)
    form = concern_form()
    if not form.validate_on_submit():
        return render_capture(walkabout, form, 400)
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
    except concerns.ConcernInvalid as error:
        getattr(form, error.field).errors.append(str(error))
        return render_capture(walkabout, form, 400)
    except PhotoRejected as error:
        form.photo.errors.append(str(error))
        return render_capture(walkabout, form, 400)
    except Forbidden as error:
        return render_capture(walkabout, form, 403, str(error))
    except Conflict as error:
        return render_capture(walkabout, form, 409, str(error))
    session.commit()
    if is_htmx():
        concern = concerns.get_concern(session, walkabout, concern.id)
        return render_template(
            "capture/_concern.html", concern=concern, walkabout=walkabout, editable=True
        ), 201 if created else 200
    flash("Saved." if created else "Already saved.", "success")
    return redirect(
        url_for("capture.capture_page", walkabout_id=walkabout.id, _anchor=f"concern-{concern.id}"), code=303
    )


from . import capture_items  # noqa: E402,F401  (edit, delete, read-back and complete routes)
