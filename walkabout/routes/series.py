"""Recurring series (view, edit future occurrences) and the rota helper."""

from datetime import time, timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from sqlalchemy.orm import selectinload
from sqlmodel import select

from ..auth import executives_and_admins, signed_in_user
from ..db import get_session
from ..forms.walkabouts import CancelSeriesForm, RotaForm, SeriesEditForm
from ..models import User, WalkaboutSeries, Ward
from ..services import Conflict, ServiceError
from ..services.rota import RotaRequest, accept_rota, lead_loads, propose_rota
from ..services.series import cancel_rest_of_series, future_occurrences, series_walkabouts, update_series
from ..services.walkabouts import ClashWarning
from ..timeutil import local_today, to_local
from .helpers import commit_and_redirect
from .walkabout_input import form_version, people_choices, service_error_field, site_choices

bp = Blueprint("series", __name__, url_prefix="/walkabouts")


def plural(count: int) -> str:
    return f"{count} future walkabout{'s' if count != 1 else ''}"


def saved_values(series: WalkaboutSeries, upcoming: list, at_otherwise: time) -> dict:
    """The edit form's values as stored (the time of the next occurrence, else `at_otherwise`)."""
    return {
        "lead_id": series.lead_id,
        "at": to_local(upcoming[0].scheduled_start).time() if upcoming else at_otherwise,
        "duration_minutes": series.duration_minutes,
        "focus": series.focus,
        "version": str(series.version),
    }


@bp.route("/series/<int:series_id>", methods=["GET", "POST"])
@executives_and_admins
def show(series_id: int):
    session, user = get_session(), signed_in_user()
    series = session.get(WalkaboutSeries, series_id)
    if series is None:
        abort(404)
    ward = session.exec(select(Ward).where(Ward.id == series.ward_id).options(selectinload(Ward.site))).one()
    form = SeriesEditForm()
    form.lead_id.choices, _ = people_choices(session)
    upcoming = future_occurrences(session, series)
    clashes, status = [], 200
    if request.method == "GET":
        form.process(data=saved_values(series, upcoming, to_local(series.first_start).time()))
    elif form.validate_on_submit():
        try:
            return commit_and_redirect(
                lambda: update_series(
                    session,
                    user,
                    series,
                    lead_id=form.lead_id.data,
                    at=form.at.data,
                    duration_minutes=form.duration_minutes.data,
                    focus=form.focus.data,
                    reason=form.reason.data,
                    expected_version=form_version(form),
                    confirm_clashes=form.confirm_clashes.data,
                ),
                lambda changed: f"{plural(changed)} updated; past ones are unchanged.",
                url_for("series.show", series_id=series.id),
            )
        except ClashWarning as warning:
            clashes, status = warning.clashes, 409
        except Conflict as error:
            series = session.get(WalkaboutSeries, series_id)
            upcoming = future_occurrences(session, series)
            form.process(data=saved_values(series, upcoming, form.at.data) | {"reason": form.reason.data})
            flash(str(error), "error")
            status = 409
        except ServiceError as error:
            service_error_field(form, error)
            status = 400
    else:
        status = 400
    lead = session.get(User, series.lead_id)
    return render_template(
        "walkabouts/series.html",
        series=series,
        ward=ward,
        lead=lead,
        form=form,
        walkabouts=series_walkabouts(session, series),
        upcoming_count=len(upcoming),
        clashes=clashes,
        cancel_form=CancelSeriesForm(formdata=None, prefix="cancel"),
    ), status


@bp.post("/series/<int:series_id>/cancel")
@executives_and_admins
def cancel(series_id: int):
    session, user = get_session(), signed_in_user()
    series = session.get(WalkaboutSeries, series_id)
    if series is None:
        abort(404)
    form = CancelSeriesForm(prefix="cancel")
    if not form.validate_on_submit():
        flash("Give a reason for cancelling. Cancellations are reported to the board.", "error")
        return redirect(url_for("series.show", series_id=series.id), code=303)
    here = url_for("series.show", series_id=series.id)
    return commit_and_redirect(
        lambda: cancel_rest_of_series(session, user, series, reason=form.reason.data),
        lambda count: f"{plural(count)} cancelled.",
        here,
        failed_to=here,
    )


@bp.route("/rota", methods=["GET", "POST"])
@executives_and_admins
def rota():
    session, user = get_session(), signed_in_user()
    form = RotaForm()
    form.site_id.choices = site_choices(session)
    form.executive_ids.choices = people_choices(session)[0][1:]
    today = local_today()
    slots, status = None, 200
    if request.method == "GET":
        form.process(
            data={
                "first_day": today + timedelta(days=(7 - today.weekday()) or 7),
                "at": time(14, 0),
                "visits_per_ward": 4,
                "duration_minutes": 60,
                "weekdays": [0, 1, 2, 3, 4],
            }
        )
    elif form.validate_on_submit():
        rota_request = RotaRequest(
            first_day=form.first_day.data,
            visits_per_ward=form.visits_per_ward.data,
            at=form.at.data,
            duration_minutes=form.duration_minutes.data,
            weekdays=list(form.weekdays.data),
            executive_ids=[i for i in form.executive_ids.data or [] if i is not None],
            site_id=form.site_id.data,
        )
        try:
            if request.form.get("accept") == "1":
                return commit_and_redirect(
                    lambda: accept_rota(session, user, rota_request, today),
                    lambda created: f"{len(created)} walkabouts scheduled from the rota.",
                    url_for("walkabouts.index", tab="upcoming", mine="0"),
                )
            slots = propose_rota(session, rota_request, today)
        except ServiceError as error:
            service_error_field(form, error)
            status = 400
    else:
        status = 400
    return render_template(
        "walkabouts/rota.html", form=form, slots=slots, loads=lead_loads(slots) if slots else []
    ), status
