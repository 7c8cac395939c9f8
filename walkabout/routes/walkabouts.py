"""Walkabouts: the list, schedule (one or a series), view, edit, cancel, download as .ics."""

from dataclasses import astuple
from datetime import timedelta

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from markupsafe import Markup

from ..auth import executives, executives_and_admins, signed_in, signed_in_user
from ..db import get_session
from ..errors import render_error
from ..forms.walkabouts import CancelWalkaboutForm, EditWalkaboutForm, OpenActionsReviewedForm, ScheduleForm
from ..models import Role, Walkabout, WalkaboutStatus
from ..services import (
    Conflict,
    NotFound,
    ServiceError,
    actions,
    calendar,
    feedback,
    follow_up,
    walkabout_queries,
)
from ..services.series import Recurrence, create_series
from ..services.walkabouts import (
    ClashWarning,
    cancel_walkabout,
    is_on_team,
    reschedule_walkabout,
    schedule_walkabout,
    set_open_actions_reviewed,
)
from ..timeutil import local_today, to_local
from ..urls import arg_int, wants_fragment
from .helpers import commit_and_redirect, kept_fragment
from .walkabout_input import (
    details_from,
    fill_walkabout_choices,
    form_version,
    list_filters,
    service_error_field,
)

bp = Blueprint("walkabouts", __name__, url_prefix="/walkabouts")


def _load(walkabout_id: int) -> Walkabout:
    try:
        return walkabout_queries.load_walkabout(get_session(), signed_in_user(), walkabout_id)
    except NotFound:
        abort(404)


@bp.get("")
@signed_in
def index():
    session, user = get_session(), signed_in_user()
    results = _results(
        session, user, list_filters(user), local_today(), current_app.config["WALKABOUTS_PER_PAGE"]
    )
    if wants_fragment():
        return results
    return render_template(
        "walkabouts/index.html", results=results, can_schedule=walkabout_queries.can_schedule(user)
    )


def _results(session, user, filters, today, per_page: int) -> Markup:
    """The tabs, filters and one page of walkabouts, rendered once per change to the data, per
    user (their wards, "mine", "(you)"), filters and day."""

    def build() -> Markup:
        return Markup(
            render_template(
                "walkabouts/_results.html",
                page=walkabout_queries.list_walkabouts(session, user, filters, today, per_page),
                filters=filters,
                choices=walkabout_queries.filter_choices(session, user),
                statuses=list(WalkaboutStatus),
            )
        )

    return kept_fragment(("walkabout_results", user.id, astuple(filters), today, per_page), build)


@bp.route("/new", methods=["GET", "POST"])
@executives_and_admins
def new():
    session, user = get_session(), signed_in_user()
    form = ScheduleForm()
    fill_walkabout_choices(session, form)
    clashes, status = [], 200
    if request.method == "GET":
        form.ward_id.data = arg_int("ward")
        form.lead_id.data = user.id if user.has_role(Role.EXECUTIVE) else None
    elif form.validate_on_submit():
        try:
            details = details_from(form)
            if form.repeat.data == "none":
                return commit_and_redirect(
                    lambda: schedule_walkabout(
                        session, user, details, confirm_clashes=form.confirm_clashes.data
                    ),
                    lambda walkabout: f"Walkabout on {walkabout.ward.name} scheduled.",
                    lambda walkabout: url_for("walkabouts.show", walkabout_id=walkabout.id),
                )
            recurrence = _recurrence(form)
            return commit_and_redirect(
                lambda: create_series(
                    session, user, details, recurrence, confirm_clashes=form.confirm_clashes.data
                ),
                lambda made: f"{len(made[1])} walkabouts scheduled: {recurrence.describe()}.",
                lambda made: url_for("series.show", series_id=made[0].id),
            )
        except ClashWarning as warning:
            clashes, status = warning.clashes, 409
        except ServiceError as error:
            service_error_field(form, error)
            status = 400
    else:
        status = 400
    return render_template("walkabouts/new.html", form=form, clashes=clashes), status


def _recurrence(form) -> Recurrence:
    """The series pattern; choices left empty follow the first date (its weekday, week and day)."""
    day = form.day.data
    weekday = form.weekday.data if form.weekday.data is not None else day.weekday()
    ordinal = form.ordinal.data if form.ordinal.data is not None else min(4, (day.day - 1) // 7 + 1)
    return Recurrence(
        pattern=form.repeat.data,
        first_day=day,
        at=form.at.data,
        interval=form.interval.data or 1,
        weekday=weekday,
        ordinal=ordinal,
        month_day=form.month_day.data or day.day,
        count=form.count.data,
        until=form.until.data,
    )


@bp.get("/<int:walkabout_id>")
@signed_in
def show(walkabout_id: int):
    session, user = get_session(), signed_in_user()
    walkabout = _load(walkabout_id)
    today = local_today()
    actions, concerns = walkabout_queries.pre_visit_brief(session, walkabout, today)
    history = walkabout_queries.history(session, walkabout)
    names = walkabout_queries.user_names(
        session, {entry.by_id for entry in history if entry.by_id} | {walkabout.cancelled_by_id or 0}
    )
    return render_template(
        "walkabouts/show.html",
        walkabout=walkabout,
        brief_actions=actions,
        brief_concerns=concerns,
        history=history,
        names=names,
        today=today,
        ends_at=walkabout.scheduled_start + timedelta(minutes=walkabout.duration_minutes),
        is_today=to_local(walkabout.scheduled_start).date() == today,
        on_team=is_on_team(walkabout, user),
        can_schedule=walkabout_queries.can_schedule(user),
        reviewed_form=_reviewed_form(walkabout),
        **_follow_up_context(session, walkabout, today),
    )


def _reviewed_form(walkabout: Walkabout) -> OpenActionsReviewedForm:
    """The brief's tick as it stands."""
    return OpenActionsReviewedForm(
        formdata=None, data={"reviewed": walkabout.open_actions_reviewed_at is not None}
    )


@bp.post("/<int:walkabout_id>/open-actions-reviewed")
@executives
def open_actions_reviewed(walkabout_id: int):
    """Tick or untick "open actions from the last visit reviewed with the ward" (full page or fragment)."""
    session, user = get_session(), signed_in_user()
    walkabout = _load(walkabout_id)
    form = OpenActionsReviewedForm()
    form.validate_on_submit()  # CSRF is checked for every POST by CSRFProtect; the box is on or off
    try:
        changed = set_open_actions_reviewed(session, user, walkabout, bool(form.reviewed.data))
    except ServiceError as error:
        session.rollback()
        return render_error(409, str(error))
    session.commit()
    if wants_fragment():
        return render_template(
            "walkabouts/_reviewed.html",
            walkabout=walkabout,
            saved=True,
            reviewed_form=_reviewed_form(walkabout),
        )
    if changed:
        flash(
            "Saved: open actions reviewed with the ward."
            if form.reviewed.data
            else "Saved: the tick is cleared.",
            "success",
        )
    return redirect(url_for("walkabouts.show", walkabout_id=walkabout.id, _anchor="brief-heading"), 303)


def _follow_up_context(session, walkabout: Walkabout, today) -> dict:
    """A completed walkabout's follow-up list: each concern's state, actions and feedback."""
    if walkabout.status != WalkaboutStatus.COMPLETED:
        return {"follow_ups": None}
    rows = follow_up.walkabout_follow_up(session, walkabout, today)
    return {
        "follow_ups": rows,
        "priority_rate": follow_up.priority_fix_rate(row.concern for row in rows),
        "ward_managers": actions.ward_managers_of(session, walkabout.ward_id),
        "deliveries": feedback.walkabout_deliveries(session, [walkabout.id])[walkabout.id],
        "feedback_labels": follow_up.FEEDBACK_KIND_LABELS,
        "can_write_feedback": follow_up.can_write_feedback,
    }


@bp.route("/<int:walkabout_id>/edit", methods=["GET", "POST"])
@executives_and_admins
def edit(walkabout_id: int):
    session, user = get_session(), signed_in_user()
    walkabout = _load(walkabout_id)
    form = EditWalkaboutForm()
    fill_walkabout_choices(session, form, include_ward_id=walkabout.ward_id)
    clashes, status = [], 200
    if request.method == "GET":
        local = to_local(walkabout.scheduled_start)
        form.process(
            data={
                "ward_id": walkabout.ward_id,
                "lead_id": walkabout.lead_id,
                "day": local.date(),
                "at": local.time(),
                "duration_minutes": walkabout.duration_minutes,
                "focus": walkabout.focus,
                "guests": walkabout.guests,
                "attendee_ids": [person.id for person in walkabout.attendees],
                "version": walkabout.version,
            }
        )
    elif form.validate_on_submit():
        try:
            details = details_from(form)
            return commit_and_redirect(
                lambda: reschedule_walkabout(
                    session,
                    user,
                    walkabout,
                    details,
                    expected_version=form_version(form),
                    reason=form.reason.data,
                    confirm_clashes=form.confirm_clashes.data,
                ),
                "Walkabout updated.",
                url_for("walkabouts.show", walkabout_id=walkabout.id),
            )
        except ClashWarning as warning:
            clashes, status = warning.clashes, 409
        except Conflict as error:
            service_error_field(form, error)
            form.version.data = str(walkabout.version)  # a second submit is a deliberate overwrite
            status = 409
        except ServiceError as error:
            service_error_field(form, error)
            status = 400
    else:
        status = 400
    return render_template("walkabouts/edit.html", form=form, walkabout=walkabout, clashes=clashes), status


@bp.route("/<int:walkabout_id>/cancel", methods=["GET", "POST"])
@executives_and_admins
def cancel(walkabout_id: int):
    session, user = get_session(), signed_in_user()
    walkabout = _load(walkabout_id)
    form = CancelWalkaboutForm()
    status = 200
    if request.method == "GET":
        form.version.data = str(walkabout.version)
    elif form.validate_on_submit():
        try:
            return commit_and_redirect(
                lambda: cancel_walkabout(
                    session, user, walkabout, reason=form.reason.data, expected_version=form_version(form)
                ),
                "Walkabout cancelled. Subscribed calendars will show it as cancelled.",
                url_for("walkabouts.show", walkabout_id=walkabout.id),
            )
        except Conflict as error:
            service_error_field(form, error)
            form.version.data = str(walkabout.version)
            status = 409
        except ServiceError as error:
            service_error_field(form, error)
            status = 400
    else:
        status = 400
    return render_template("walkabouts/cancel.html", form=form, walkabout=walkabout), status


@bp.get("/<int:walkabout_id>.ics")
@signed_in
def ics(walkabout_id: int):
    walkabout = _load(walkabout_id)
    body = calendar.build_calendar(
        [walkabout],
        f"Walkabout: {walkabout.ward.name}",
        lambda one: url_for("walkabouts.show", walkabout_id=one.id, _external=True),
    )
    response = make_response(body)
    response.headers["Content-Type"] = "text/calendar; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="walkabout-{walkabout.id}.ics"'
    response.headers["Cache-Control"] = "private, no-store"
    return response
