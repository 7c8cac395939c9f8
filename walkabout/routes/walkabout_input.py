"""Shared helpers of the walkabout and series routes: form choices, form to service input,
list filters."""

from flask import request
from sqlalchemy.orm import selectinload
from sqlmodel import Session, select

from ..forms.walkabouts import as_choices
from ..models import Role, User, WalkaboutStatus, Ward
from ..services import ServiceError
from ..services.places import sites
from ..services.walkabout_queries import TABS, ListFilters
from ..services.walkabouts import WalkaboutDetails, executives, local_start
from ..templating import person_label
from ..urls import arg_int


def ward_choices(session: Session, include_id: int | None = None) -> list[tuple]:
    """Active wards as (id, "Ward, Site"); `include_id` keeps a deactivated ward already chosen."""
    wards = session.exec(select(Ward).options(selectinload(Ward.site)).order_by(Ward.name)).all()
    return as_choices(
        [("", "Choose a ward")]
        + [(ward.id, ward.full_name) for ward in wards if ward.active or ward.id == include_id]
    )


def people_choices(session: Session) -> tuple[list[tuple], list[tuple]]:
    """(lead choices, attendee choices): active executives, and all active users."""
    leads = as_choices(
        [("", "Choose the lead")]
        + [(user.id, person_label(user.name, user.job_title)) for user in executives(session)]
    )
    users = session.exec(select(User).where(User.active).order_by(User.name)).all()
    return leads, as_choices((user.id, person_label(user.name, user.job_title)) for user in users)


def fill_walkabout_choices(session: Session, form, include_ward_id: int | None = None) -> None:
    form.ward_id.choices = ward_choices(session, include_ward_id)
    form.lead_id.choices, form.attendee_ids.choices = people_choices(session)


def details_from(form) -> WalkaboutDetails:
    """Service input from a validated schedule or edit form (raises ServiceError on impossible times)."""
    return WalkaboutDetails(
        ward_id=form.ward_id.data,
        lead_id=form.lead_id.data,
        start=local_start(form.day.data, form.at.data),
        duration_minutes=form.duration_minutes.data,
        attendee_ids=list(form.attendee_ids.data or []),
        guests=form.guests.data,
        focus=form.focus.data,
    )


def site_choices(session: Session, label: str = "All sites") -> list[tuple]:
    return as_choices([("", label)] + [(site.id, site.name) for site in sites(session, active_only=True)])


def list_filters(user: User) -> ListFilters:
    """Filters from the query string; unknown values are ignored. Executives see their own by default."""
    tab = request.args.get("tab", "upcoming")
    status = request.args.get("status", "")
    mine_arg = request.args.get("mine")
    mine = mine_arg == "1" if mine_arg in ("0", "1") else user.has_role(Role.EXECUTIVE)
    return ListFilters(
        tab=tab if tab in TABS else "upcoming",
        ward_id=arg_int("ward"),
        site_id=arg_int("site"),
        lead_id=arg_int("lead"),
        status=WalkaboutStatus(status) if status in WalkaboutStatus._value2member_map_ else None,
        mine=mine,
        page=arg_int("page") or 1,
    )


def service_error_field(form, error: ServiceError) -> None:
    """Put a service's message on the form (shown above the fields)."""
    form.form_errors.append(str(error))


def form_version(form) -> int | None:
    """The record version a form was opened at (None when missing or tampered: always stale)."""
    return form.version.data
