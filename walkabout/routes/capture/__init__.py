"""The capture screen: start a walkabout and log concerns on a phone (pages.py); edit,
delete and restore them, read back and complete (items.py).

Each POST answers an htmx (or capture.js) request with a fragment and a plain
form post with a 303; bad input re-renders the form with the message in place
and the typed text kept. The blueprint and the helpers its views share live here.
"""

import json

from flask import Blueprint, abort, g, render_template, request
from markupsafe import Markup

from ... import rules
from ...auth import signed_in_user
from ...db import get_session
from ...forms.capture import ConcernForm
from ...models import ConcernKind, Walkabout, WalkaboutStatus
from ...services import (
    NotFound,
    branding,
    capture,
    capture_view,
    concerns,
    data_version,
    idempotency,
    offline,
)
from ...timeutil import local_today
from ...urls import arg_int, wants_fragment
from ..helpers import kept_fragment
from ..offline import SHOWN_WALKABOUT

bp = Blueprint("capture", __name__, url_prefix="/walkabouts")


CAPTURE_RULES = json.dumps(
    {
        "bands": rules.RISK_BANDS,
        "maxPhotoBytes": rules.MAX_PHOTO_BYTES,
        "photoMaxSide": rules.PHOTO_MAX_SIDE,
        "photoTooLarge": rules.PHOTO_TOO_LARGE,
    }
)


@bp.context_processor
def capture_globals():
    return {"capture_rules": CAPTURE_RULES}


@bp.app_context_processor
def idempotency_globals():
    return {"new_idempotency_key": idempotency.new_key}


def is_fragment_post() -> bool:
    """An htmx (or capture.js) submission, answered with a fragment."""
    return request.method == "POST" and wants_fragment()


def load(walkabout_id: int) -> Walkabout:
    try:
        return capture.load_walkabout(get_session(), walkabout_id)
    except NotFound:
        abort(404)


def concern_form(kept_category=None, **kwargs) -> ConcernForm:
    """The concern form with the trust's lists (categories, risk words; `kept_category`: an edited
    concern's own, even retired)."""
    session = get_session()
    form = ConcernForm(**kwargs)
    form.set_categories(capture.active_categories(session), kept_category)
    form.set_risk_labels(branding.risk_labels(session))
    form.staff_roles = tuple(role.name for role in capture.staff_roles(session))
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
    return upload.stream.read(rules.MAX_PHOTO_BYTES + 1)


def render_capture(
    walkabout_id: int, form: ConcernForm | None = None, status: int = 200, form_message: str | None = None
):
    """The whole capture page, or only the form when an htmx submission failed. With no `form`
    (a fresh page), the form's fields are the blank ones rendered once per change to the trust's
    lists (blank_concern_fields) and its hidden inputs are written in the template."""
    user = signed_in_user()
    session = get_session()
    if is_fragment_post():
        return render_template(
            "capture/_form.html",
            walkabout_id=walkabout_id,
            form=form,
            form_message=form_message,
            show_form=True,
        ), status
    try:
        walkabout = capture_view.view(session, walkabout_id)
    except NotFound:
        abort(404)
    g.setdefault(SHOWN_WALKABOUT, walkabout)  # the offline hook reads the team from it, no query
    can_capture = capture.can_capture(walkabout, user)
    editable = walkabout.status == WalkaboutStatus.IN_PROGRESS and can_capture
    undo = _recently_deleted(walkabout) if editable else None
    return render_template(
        "capture/capture.html",
        walkabout=walkabout,
        walkabout_id=walkabout_id,
        form=form,
        blank_fields=blank_concern_fields() if form is None else None,
        items=walkabout.concerns,
        editable=editable,
        show_form=editable or status != 200,
        # planned for today: the form is there, hidden, for a start made with no signal (offline.js)
        startable=walkabout.status == WalkaboutStatus.PLANNED
        and offline.keeps_offline(walkabout, user, local_today()),
        form_message=form_message,
        undo=undo,
        script=capture.prompt_script(session),
        team=capture.team(walkabout),
        can_capture=can_capture,
    ), status


def blank_concern_fields() -> Markup:
    """The fields of an empty concern form, rendered through WTForms once per change to the
    categories, risk words or staff roles (the "choices" data version): no token, no user input."""
    return kept_fragment(
        ("blank_concern_fields",),
        lambda: Markup(render_template("capture/_blank_fields.html", form=concern_form(formdata=None))),
        scope=data_version.CHOICES,
    )


def _recently_deleted(walkabout):
    concern_id = arg_int("undo")
    if concern_id is None:
        return None
    try:
        return concerns.get_concern(get_session(), walkabout, concern_id, deleted=True)
    except NotFound:
        return None
