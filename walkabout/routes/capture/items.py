"""Capture, continued: edit, delete and restore an item; read back; complete; late notes
(routes of the `capture` blueprint)."""

from flask import current_app, flash, redirect, render_template, request, url_for

from ... import rules
from ...auth import executives, signed_in_user
from ...db import get_session
from ...errors import render_error
from ...forms.capture import LateNoteForm, complete_form, staff_field_names
from ...models import Concern, Walkabout, WalkaboutStatus
from ...services import (
    Conflict,
    Forbidden,
    NotFound,
    ServiceError,
    capture,
    concerns,
    feedback,
    leader_pulse,
    pulse,
)
from ...services.photos import PhotoRejected
from ...timeutil import local_today
from ..helpers import commit_and_redirect
from . import bp, concern_form, concern_input, is_fragment_post, load, uploaded_photo


def load_concern(walkabout: Walkabout, concern_id: int, deleted: bool = False) -> Concern:
    try:
        return concerns.get_concern(get_session(), walkabout, concern_id, deleted=deleted)
    except NotFound:
        return None


def capture_url(walkabout: Walkabout, **params) -> str:
    return url_for("capture.capture_page", walkabout_id=walkabout.id, **params)


def back_to_capture(walkabout: Walkabout, **params):
    return redirect(capture_url(walkabout, **params), code=303)


@bp.route("/<int:walkabout_id>/concerns/<int:concern_id>/edit", methods=["GET", "POST"])
@executives
def edit_concern(walkabout_id: int, concern_id: int):
    walkabout = load(walkabout_id)
    concern = load_concern(walkabout, concern_id)
    if concern is None:
        return render_error(404)
    user = signed_in_user()
    message, status = None, 200
    if request.method == "GET":
        form = concern_form(kept_category=concern.category, obj=concern, formdata=None)
        form.kind.data = concern.kind.value
        form.version.data = concern.version
    else:
        form = concern_form(kept_category=concern.category)
        status = 400
        if form.validate_on_submit():
            session = get_session()
            try:
                return commit_and_redirect(
                    lambda: concerns.update_concern(
                        session, user, concern, concern_input(form), form.version.data, uploaded_photo(form)
                    ),
                    "Changes saved.",
                    capture_url(walkabout, _anchor=f"concern-{concern.id}"),
                )
            except concerns.ConcernInvalid as error:
                getattr(form, error.field).errors.append(str(error))
            except PhotoRejected as error:
                form.photo.errors.append(str(error))
            except Forbidden as error:
                message, status = str(error), 403
            except Conflict as error:
                message, status = str(error), 409
                typed = form.text.data
                concern = load_concern(walkabout, concern_id)
                if concern is None:
                    return render_error(404)
                form = concern_form(kept_category=concern.category, obj=concern, formdata=None)
                form.kind.data = concern.kind.value
                form.version.data = concern.version
                return render_template(
                    "capture/edit.html",
                    walkabout=walkabout,
                    concern=concern,
                    form=form,
                    form_message=message,
                    your_text=typed,
                ), status
    return render_template(
        "capture/edit.html", walkabout=walkabout, concern=concern, form=form, form_message=message
    ), status


@bp.post("/<int:walkabout_id>/concerns/<int:concern_id>/delete")
@executives
def delete_concern(walkabout_id: int, concern_id: int):
    walkabout = load(walkabout_id)
    return _toggle(walkabout, load_concern(walkabout, concern_id), concerns.delete_concern)


@bp.post("/<int:walkabout_id>/concerns/<int:concern_id>/restore")
@executives
def restore_concern(walkabout_id: int, concern_id: int):
    walkabout = load(walkabout_id)
    return _toggle(walkabout, load_concern(walkabout, concern_id, deleted=True), concerns.restore_concern)


def _toggle(walkabout: Walkabout, concern: Concern | None, verb):
    if concern is None:
        return render_error(404)
    session = get_session()
    try:
        verb(session, signed_in_user(), concern)
    except ServiceError as error:
        session.rollback()
        return render_error(403 if isinstance(error, Forbidden) else 409, str(error))
    session.commit()
    deleted = concern.deleted_at is not None
    if is_fragment_post():
        template = "capture/_deleted.html" if deleted else "capture/_concern.html"
        concern = concerns.get_concern(session, walkabout, concern.id, deleted=deleted)
        return render_template(template, concern=concern, walkabout=walkabout, editable=True)
    if deleted:
        return back_to_capture(walkabout, undo=concern.id)
    flash("Restored.", "success")
    return back_to_capture(walkabout, _anchor=f"concern-{concern.id}")


def render_readback(
    walkabout: Walkabout,
    complete_form=None,
    note_form=None,
    status=200,
    message=None,
    note_message=None,
    priority_message=None,
    leader_message=None,
    leader_posted=None,
):
    session = get_session()
    user = signed_in_user()
    today = local_today()
    items = concerns.live_concerns(session, walkabout.id, newest_first=False)
    in_progress = walkabout.status == WalkaboutStatus.IN_PROGRESS
    roles = capture.staff_roles(session)
    if complete_form is None:
        complete_form = _complete_form(session, formdata=None, version=walkabout.version)
    return render_template(
        "capture/readback.html",
        walkabout=walkabout,
        team=capture.team(walkabout),
        items=[c for c in items if c.kind == "concern"],
        good=[c for c in items if c.kind != "concern"],
        can_complete=in_progress and capture.can_capture(walkabout, user),
        complete_form=complete_form,
        note_form=note_form or LateNoteForm(formdata=None),
        staff_fields=staff_field_names(roles),
        script=capture.prompt_script(session),
        form_message=message,
        note_message=note_message,
        deliveries=feedback.walkabout_deliveries(session, [walkabout.id])[walkabout.id],
        max_priorities=rules.MAX_PRIORITIES,
        priority_message=priority_message,
        statements=pulse.statements(session),
        scale=rules.PULSE_SCALE,
        field_prefix=pulse.FIELD_PREFIX,
        leader_can_answer=leader_pulse.can_answer(walkabout, user, today),
        leader_posted=leader_posted
        if leader_posted is not None
        else {
            f"{pulse.FIELD_PREFIX}{k}": str(v)
            for k, v in leader_pulse.own_answers(session, walkabout, user).items()
        },
        leader_message=leader_message,
        min_responses=rules.PULSE_MIN_RESPONSES,
    ), status


def _complete_form(session, **kwargs):
    return complete_form(capture.staff_roles(session, with_retired=True), **kwargs)


@bp.get("/<int:walkabout_id>/readback")
@executives
def readback(walkabout_id: int):
    return render_readback(load(walkabout_id))


@bp.post("/<int:walkabout_id>/concerns/<int:concern_id>/priority")
@executives
def set_priority(walkabout_id: int, concern_id: int):
    walkabout = load(walkabout_id)
    concern = load_concern(walkabout, concern_id)
    if concern is None:
        return render_error(404)
    choice = request.form.get("priority")
    if choice not in ("yes", "no"):
        return render_readback(
            walkabout, status=400, priority_message="Choose whether this item is a priority."
        )
    here = url_for("capture.readback", walkabout_id=walkabout.id, _anchor=f"readback-{concern.id}")
    try:
        return commit_and_redirect(
            lambda: concerns.set_priority(get_session(), signed_in_user(), concern, choice == "yes"),
            "Marked as a priority." if choice == "yes" else "No longer a priority.",
            here,
        )
    except ServiceError as error:
        status = 409 if isinstance(error, Conflict) else 403 if isinstance(error, Forbidden) else 400
        return render_readback(load(walkabout_id), status=status, priority_message=str(error))


@bp.post("/<int:walkabout_id>/complete")
@executives
def complete(walkabout_id: int):
    walkabout = load(walkabout_id)
    session = get_session()
    form = _complete_form(session)
    if not form.validate_on_submit():
        return render_readback(walkabout, complete_form=form, status=400)
    # Every role, retired ones too: one retired while the page was open keeps its count.
    names = staff_field_names(capture.staff_roles(session, with_retired=True))
    participation = {role: getattr(form, name).data or 0 for name, role in names}
    other = (form.other_role.data or "").strip()
    if form.other_count.data and not other:
        form.other_role.errors.append("Name the other role, or leave its number empty.")
        return render_readback(walkabout, complete_form=form, status=400)
    if other:
        participation[other] = participation.get(other, 0) + (form.other_count.data or 1)
    # The leaders' view of the pulse is optional, but a set begun must be whole and on the scale.
    answered = {k: v for k, v in request.form.items() if k.startswith(pulse.FIELD_PREFIX)}
    if leader_pulse.has_answers(answered):
        try:
            leader_pulse.check_answers(session, answered)
        except ServiceError as error:
            return render_readback(
                walkabout, complete_form=form, status=400, leader_message=str(error), leader_posted=answered
            )

    def complete_and_answer():
        session, user = get_session(), signed_in_user()
        capture.complete(
            session,
            user,
            walkabout,
            summary_notes=form.summary_notes.data,
            participation=participation,
            feedback_given=form.feedback_given.data == "yes",
            feedback_notes=form.feedback_notes.data,
            version=form.version.data,
            feedback_days=current_app.config["FEEDBACK_DAYS"],
        )
        if leader_pulse.has_answers(answered):
            leader_pulse.save(session, user, walkabout, answered, local_today())

    try:
        return commit_and_redirect(
            complete_and_answer,
            "Walkabout completed. Thank you. Now follow up each concern below.",
            url_for("walkabouts.show", walkabout_id=walkabout.id, _anchor="follow-up"),
        )
    except Forbidden as error:
        return render_readback(walkabout, complete_form=form, status=403, message=str(error))
    except Conflict as error:
        return render_readback(load(walkabout_id), complete_form=form, status=409, message=str(error))
    except ServiceError as error:
        return render_readback(walkabout, complete_form=form, status=400, message=str(error))


@bp.post("/<int:walkabout_id>/late-notes")
@executives
def late_note(walkabout_id: int):
    walkabout = load(walkabout_id)
    form = LateNoteForm()
    if not form.validate_on_submit():
        return render_readback(walkabout, note_form=form, status=400)
    try:
        return commit_and_redirect(
            lambda: capture.add_late_note(get_session(), signed_in_user(), walkabout, form.note.data),
            "Late note added.",
            url_for("capture.readback", walkabout_id=walkabout.id, _anchor="late-notes"),
        )
    except ServiceError as error:
        form.note.errors.append(str(error))
        status = 409 if isinstance(error, Conflict) else 403 if isinstance(error, Forbidden) else 400
        return render_readback(walkabout, note_form=form, status=status, note_message=str(error))


@bp.post("/<int:walkabout_id>/leader-pulse")
@executives
def leader_answers(walkabout_id: int):
    """An executive's view of how the ward's staff would answer the pulse (after completion)."""
    walkabout = load(walkabout_id)
    answered = {k: v for k, v in request.form.items() if k.startswith(pulse.FIELD_PREFIX)}
    ward = request.form.get("ward_id", "")
    if not (ward.isascii() and ward.isdigit()):
        return render_readback(walkabout, status=400, leader_message="Reload the page and answer again.")
    try:
        return commit_and_redirect(
            lambda: leader_pulse.save(
                get_session(), signed_in_user(), walkabout, answered, local_today(), ward_id=int(ward)
            ),
            "Your answers for the staff are saved.",
            url_for("capture.readback", walkabout_id=walkabout.id, _anchor="leader-pulse"),
        )
    except ServiceError as error:
        status = 409 if isinstance(error, Conflict) else 403 if isinstance(error, Forbidden) else 400
        return render_readback(
            load(walkabout_id), status=status, leader_message=str(error), leader_posted=answered
        )
