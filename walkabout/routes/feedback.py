"""You said, we did: the public ward page (by token, no sign-in) with its QR code,
and for staff of the trust: sharing, revoking and recording feedback given."""

from flask import Blueprint, abort, current_app, make_response, redirect, render_template, request, url_for
from sqlalchemy.orm import selectinload
from sqlmodel import select
from wtforms.fields.choices import SelectChoice

from .. import rules
from ..auth import any_role, executives, executives_and_admins, executives_and_managers, signed_in_user
from ..db import get_session
from ..errors import render_error
from ..forms.actions import DeliveryForm, FeedbackUpdateForm
from ..models import Role, Ward
from ..reports.poster import poster_pdf
from ..services import Conflict, Forbidden, NotFound, ServiceError, feedback, follow_up, pulse, staff_voice
from ..services.access import visible_ward_ids
from ..timeutil import format_date, local_today, trust_zone
from .helpers import commit_and_redirect, refuse

bp = Blueprint("feedback", __name__)
PUBLIC_HEADERS = {
    "Referrer-Policy": "no-referrer",  # the token must not leak to other sites
    "X-Robots-Tag": "noindex, nofollow",
    "Cache-Control": "no-store",
}


def public_url(token: str) -> str:
    return url_for("feedback.public", token=token, _external=True)


DEVICE_COOKIE = "walkabout_device"  # a random id for "one answer per device"; names nobody
DEVICE_COOKIE_DAYS = 400


@bp.get("/you-said-we-did/<token>")
def public(token: str):
    session = get_session()
    try:
        page = feedback.public_page(
            session, token, local_today(), trust_zone(), days=current_app.config["PUBLIC_FEEDBACK_DAYS"]
        )
    except NotFound as error:
        body, status = render_error(404, str(error))  # an old poster: "this link was replaced"
        response = make_response(body, status)
        response.headers.update(PUBLIC_HEADERS)
        return response
    return render_public(token, page)


def render_public(token: str, page, status: int = 200, pulse_message: str | None = None):
    session = get_session()
    device = request.cookies.get(DEVICE_COOKIE)
    ward = feedback.ward_by_token(session, token)
    quarter = pulse.quarter_of(local_today())
    ids = [item.concern_id for item in page.items if item.has_final]
    response = make_response(
        render_template(
            "feedback/public.html",
            page=page,
            token=token,
            answers=staff_voice.device_answers(session, device, ids),
            statements=pulse.statements(session),
            pulse_done=pulse.has_answered(session, ward, device, quarter),
            pulse_result=pulse.results(session, ward.id, quarter),
            pulse_message=pulse_message,
            posted=request.form if status != 200 else {},
            scale=rules.PULSE_SCALE,
            min_responses=rules.PULSE_MIN_RESPONSES,
            field_prefix=pulse.FIELD_PREFIX,
        ),
        status,
    )
    response.headers.update(PUBLIC_HEADERS)
    return response


def remember_device(response, device: str):
    response.set_cookie(
        DEVICE_COOKIE,
        device,
        max_age=DEVICE_COOKIE_DAYS * 86400,
        path="/you-said-we-did/",
        secure=current_app.config.get("SESSION_COOKIE_SECURE", False),
        httponly=True,
        samesite="Lax",
    )
    response.headers.update(PUBLIC_HEADERS)
    return response


def this_device() -> str:
    device = request.cookies.get(DEVICE_COOKIE)
    return device if staff_voice.valid_device(device) else staff_voice.new_device()


@bp.post("/you-said-we-did/<token>/pulse")
def answer_pulse(token: str):
    """The ward pulse: every statement rated once per device per quarter, anonymous."""
    session = get_session()
    device = this_device()
    try:
        pulse.answer(session, token, device, request.form.to_dict(), request.remote_addr, local_today())
    except NotFound:
        session.rollback()
        abort(404)
    except staff_voice.TooManyAnswers as error:
        session.rollback()
        return render_error(429, str(error))
    except ServiceError as error:
        session.rollback()
        page = feedback.public_page(
            session, token, local_today(), trust_zone(), days=current_app.config["PUBLIC_FEEDBACK_DAYS"]
        )
        status = 409 if isinstance(error, Conflict) else 400
        return remember_device(render_public(token, page, status, str(error)), device)
    session.commit()
    return remember_device(
        redirect(url_for("feedback.public", token=token, _anchor="pulse"), code=303), device
    )


@bp.post("/you-said-we-did/<token>/items/<int:concern_id>/fixed")
def answer_fixed(token: str, concern_id: int):
    """ "Did this fix it?": Yes or Not yet, anonymous, one answer per device (the last stands)."""
    session = get_session()
    choice = request.form.get("answer")
    if choice not in rules.FIX_ANSWERS:
        try:
            staff_voice.answerable(session, feedback.ward_by_token(session, token), concern_id)
        except NotFound:
            abort(404)
        return render_error(400, "Answer Yes or Not yet.")
    device = this_device()
    try:
        staff_voice.answer(session, token, concern_id, device, rules.FIX_ANSWERS[choice], request.remote_addr)
    except NotFound:
        session.rollback()
        abort(404)
    except staff_voice.TooManyAnswers as error:
        session.rollback()
        return render_error(429, str(error))
    session.commit()
    return remember_device(
        redirect(url_for("feedback.public", token=token, _anchor=f"item-{concern_id}"), code=303), device
    )


@bp.get("/you-said-we-did/<token>/qr.svg")
def qr_code(token: str):
    try:
        feedback.ward_by_token(get_session(), token)
    except NotFound:
        abort(404)
    response = make_response(feedback.qr_svg(public_url(token)))
    response.headers.update(PUBLIC_HEADERS)
    response.headers["Content-Type"] = "image/svg+xml"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("/feedback")
@any_role
def index():
    session = get_session()
    rows = feedback.wards_overview(session, visible_ward_ids(session, signed_in_user()))
    return render_template("feedback/index.html", rows=rows)


def load_ward(ward_id: int) -> Ward:
    session = get_session()
    ward = session.exec(select(Ward).where(Ward.id == ward_id).options(selectinload(Ward.site))).first()
    if ward is None:
        abort(404)
    allowed = visible_ward_ids(session, signed_in_user())
    if allowed is not None and ward.id not in allowed:
        refuse(403, "You do not manage this ward.")
    return ward


def render_ward(ward: Ward, form: DeliveryForm | None = None, status: int = 200):
    session, user = get_session(), signed_in_user()
    walkabouts = feedback.recent_walkabouts(session, ward.id)
    if form is None:
        form = DeliveryForm(formdata=None, data={"delivered_on": local_today()})
    form.walkabout_id.choices = [SelectChoice("", "None")] + [
        SelectChoice(str(w.id), format_date(w.scheduled_start)) for w in walkabouts
    ]
    delivered = feedback.deliveries(session, ward.id)
    return render_template(
        "feedback/ward.html",
        ward=ward,
        form=form,
        deliveries=delivered,
        people=feedback.people(session, {d.delivered_by_id for d in delivered}),
        walkabouts={w.id: w for w in walkabouts},
        share_url=public_url(ward.public_token) if ward.public_token else None,
        can_share=user.has_role(Role.EXECUTIVE, Role.ADMIN),
        can_record=user.has_role(Role.EXECUTIVE),
        pulse_result=pulse.results(session, ward.id, pulse.quarter_of(local_today())),
        min_responses=rules.PULSE_MIN_RESPONSES,
        late_feedback=follow_up.feedback_overdue(session, local_today(), ward_id=ward.id)
        if user.has_role(Role.EXECUTIVE)
        else None,
    ), status


@bp.get("/wards/<int:ward_id>/feedback")
@any_role
def ward(ward_id: int):
    return render_ward(load_ward(ward_id))


@bp.get("/wards/<int:ward_id>/feedback/poster.pdf")
@any_role
def poster(ward_id: int):
    """The ward's A4 poster: the page's QR code, the latest fixed items, the pulse invitation."""
    ward = load_ward(ward_id)
    if ward.public_token is None:
        return render_error(409, "Share the ward's page first: the poster carries its link.")
    session = get_session()
    page = feedback.public_page(
        session,
        ward.public_token,
        local_today(),
        trust_zone(),
        days=current_app.config["PUBLIC_FEEDBACK_DAYS"],
    )
    url = public_url(ward.public_token)
    pdf = poster_pdf(session, page, url, feedback.qr_svg(url), has_pulse=bool(pulse.statements(session)))
    response = make_response(pdf)
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = f'inline; filename="ward-poster-{ward.id}.pdf"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/wards/<int:ward_id>/feedback/link")
@executives_and_admins
def share(ward_id: int):
    ward = load_ward(ward_id)
    had_link = ward.public_token is not None
    here = url_for("feedback.ward", ward_id=ward.id)
    return commit_and_redirect(
        lambda: feedback.share(get_session(), signed_in_user(), ward),
        "New link made; the old link and QR code no longer work."
        if had_link
        else "The ward's page is shared. Print the QR code for the noticeboard.",
        here,
        failed_to=here,
    )


@bp.post("/wards/<int:ward_id>/feedback/link/revoke")
@executives_and_admins
def revoke(ward_id: int):
    ward = load_ward(ward_id)
    here = url_for("feedback.ward", ward_id=ward.id)
    return commit_and_redirect(
        lambda: feedback.revoke(get_session(), signed_in_user(), ward),
        "Sharing is off: the link and QR code no longer work.",
        here,
        failed_to=here,
    )


@bp.post("/wards/<int:ward_id>/feedback/deliveries")
@executives
def record_delivery(ward_id: int):
    ward = load_ward(ward_id)
    session = get_session()
    form = DeliveryForm()
    form.walkabout_id.choices = [SelectChoice("", "None")] + [
        SelectChoice(str(w.id), "") for w in feedback.recent_walkabouts(session, ward.id)
    ]
    if form.validate_on_submit():
        try:
            return commit_and_redirect(
                lambda: feedback.record_delivery(
                    session,
                    signed_in_user(),
                    ward,
                    delivered_on=form.delivered_on.data,
                    method=form.method.data or None,
                    notes=form.notes.data,
                    walkabout_id=form.walkabout_id.data,
                    today=local_today(),
                    zone=trust_zone(),
                ),
                f"Recorded: feedback given to {ward.name}.",
                url_for("feedback.ward", ward_id=ward.id),
            )
        except ServiceError as error:
            form.form_errors.append(str(error))
    return render_ward(load_ward(ward_id), form, 400)


# --- "you said, we did" on one concern --------------------------------------------


def load_writable(concern_id: int):
    try:
        concern = follow_up.load_concern(get_session(), concern_id)
    except NotFound:
        abort(404)
    if not follow_up.can_write_feedback(signed_in_user(), concern):
        refuse(403, "Only the walkabout's executives or the owner of one of its actions write its feedback.")
    return concern


def render_write(concern, form: FeedbackUpdateForm, status: int = 200):
    session, user = get_session(), signed_in_user()
    return render_template(
        "feedback/write.html",
        concern=concern,
        row=follow_up.follow_up_of(concern, local_today()),
        form=form,
        labels=follow_up.FEEDBACK_KIND_LABELS,
        sees_walkabout=visible_ward_ids(session, user) is None
        or concern.walkabout.ward_id in visible_ward_ids(session, user),
        shared=concern.walkabout.ward.public_token is not None,
    ), status


@bp.route("/concerns/<int:concern_id>/feedback", methods=["GET", "POST"])
@executives_and_managers
def write(concern_id: int):
    concern = load_writable(concern_id)
    form = FeedbackUpdateForm()
    if request.method == "GET":
        return render_write(concern, FeedbackUpdateForm(formdata=None))
    if form.validate_on_submit():
        try:
            return commit_and_redirect(
                lambda: follow_up.write_feedback(
                    get_session(), signed_in_user(), concern, kind=form.kind.data, text=form.text.data
                ),
                'Saved and published on the ward\'s "You said, we did" page.',
                url_for("feedback.write", concern_id=concern.id),
            )
        except Forbidden as error:
            refuse(403, str(error))
        except ServiceError as error:
            form.form_errors.append(str(error))
    return render_write(load_writable(concern_id), form, 400)
