"""What a phone may keep for use with no signal (issue 14): the walkabouts of today or in
progress on which the user is on the team, and the start time a phone recorded."""

from datetime import date, datetime, time, timedelta

from sqlalchemy import or_
from sqlmodel import Session, col, select

from ..db_types import utcnow
from ..models import Role, User, Walkabout, WalkaboutAttendee, WalkaboutStatus
from ..timeutil import to_local, trust_zone
from . import ServiceError

# A phone's clock may run a little fast; a start it recorded may not predate the plan by more than this.
EARLIEST_START_BEFORE_PLAN = timedelta(days=1)


def offline_capable(user: User) -> bool:
    """Executives run walkabouts, so their phones keep pages for use with no signal."""
    return user.has_role(Role.EXECUTIVE)


def keeps_offline(walkabout: Walkabout, user: User, today: date) -> bool:
    """Whether this user's phone may keep the walkabout's pages: on its team, and in
    progress or planned for today (nothing from another ward or another team)."""
    if not offline_capable(user):
        return False
    on_team = walkabout.lead_id == user.id or any(u.id == user.id for u in walkabout.attendees)
    if not on_team:
        return False
    if walkabout.status == WalkaboutStatus.IN_PROGRESS:
        return True
    return walkabout.status == WalkaboutStatus.PLANNED and to_local(walkabout.scheduled_start).date() == today


def offline_walkabout_ids(session: Session, user: User, today: date) -> list[int]:
    """Ids of the walkabouts whose pages this user's phone keeps for use with no signal."""
    if not offline_capable(user):
        return []
    start = datetime.combine(today, time.min, tzinfo=trust_zone())
    end = datetime.combine(today + timedelta(days=1), time.min, tzinfo=trust_zone())
    attending = select(WalkaboutAttendee.walkabout_id).where(WalkaboutAttendee.user_id == user.id)
    query = (
        select(Walkabout.id)
        .where(or_(Walkabout.lead_id == user.id, col(Walkabout.id).in_(attending)))
        .where(
            or_(
                Walkabout.status == WalkaboutStatus.IN_PROGRESS,
                (Walkabout.status == WalkaboutStatus.PLANNED)
                & (Walkabout.scheduled_start >= start)
                & (Walkabout.scheduled_start < end),
            )
        )
        .order_by(Walkabout.scheduled_start)
    )
    return list(session.exec(query).all())


def phone_start_time(walkabout: Walkabout, value: str | None) -> datetime | None:
    """The time a phone says the walkabout was started (ISO 8601), or None for "now".

    A time in the future becomes now; one more than a day before the plan is refused."""
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError as error:
        raise ServiceError("The start time sent by the phone is not a date and time.") from error
    if when.tzinfo is None:
        raise ServiceError("The start time sent by the phone has no time zone.")
    now = utcnow()
    if when > now:
        return now
    planned = walkabout.scheduled_start
    if planned.tzinfo is None:
        planned = planned.replace(tzinfo=now.tzinfo)
    if when < planned - EARLIEST_START_BEFORE_PLAN:
        raise ServiceError("The start time sent by the phone is more than a day before the walkabout's plan.")
    return when
