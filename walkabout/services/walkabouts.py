"""Walkabouts: schedule, reschedule (edit) and cancel walkabouts, with clash warnings.

Public entry points are single functions (`schedule_walkabout`,
`reschedule_walkabout`, `cancel_walkabout`); each plans its invitations in the
same transaction (services/invitations.py).
"""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy.orm import selectinload
from sqlmodel import Session, col, or_, select

from ..db_types import utcnow
from ..models import (
    Role,
    User,
    UserRole,
    Walkabout,
    WalkaboutAttendee,
    WalkaboutReschedule,
    WalkaboutSeries,
    WalkaboutStatus,
    Ward,
)
from ..timeutil import format_datetime, to_local, trust_zone
from . import Conflict, ServiceError, audit, flush_or_conflict, ics, invitations

MIN_DURATION, MAX_DURATION = 15, 480
SCHEDULER_ROLES = (Role.EXECUTIVE, Role.ADMIN)


@dataclass
class WalkaboutDetails:
    """What a user asks for when scheduling or editing one walkabout."""

    ward_id: int | None
    lead_id: int | None
    start: datetime  # aware
    duration_minutes: int = 60
    attendee_ids: list[int] = field(default_factory=list)
    guests: str | None = None
    focus: str | None = None


@dataclass
class Resolved:
    ward: Ward
    lead: User
    attendees: list[User]


class ClashWarning(ServiceError):
    """Clashes the user must confirm before going ahead; `clashes` lists them."""

    def __init__(self, clashes: list[str]):
        self.clashes = clashes
        super().__init__("This clashes with other walkabouts. Check the list and confirm to go ahead.")


def local_start(day: date, at: time) -> datetime:
    """The aware UTC instant of a trust-local date and time; refuses times skipped by clock changes."""
    zone = trust_zone()
    local = datetime.combine(day, at, tzinfo=zone)
    instant = local.astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) != local.replace(tzinfo=None):
        raise ServiceError(
            f"{at:%H:%M} does not exist on {day:%d/%m/%Y}: the clocks go forward. Choose another time."
        )
    return instant


def resolve(session: Session, details: WalkaboutDetails, *, check_start: bool = True) -> Resolved:
    """Check the ward, lead, attendees, start and duration; return the rows they name."""
    if not details.ward_id:
        raise ServiceError("Choose a ward.")
    if not details.lead_id:
        raise ServiceError("Choose a lead executive.")
    ward = session.exec(
        select(Ward).where(Ward.id == details.ward_id).options(selectinload(Ward.site))
    ).first()
    if ward is None:
        raise ServiceError("That ward does not exist.")
    if not ward.active:
        raise ServiceError(f"{ward.name} is deactivated; walkabouts cannot be scheduled there.")
    ids = {details.lead_id, *details.attendee_ids}
    users = {
        user.id: user
        for user in session.exec(
            select(User).where(col(User.id).in_(ids)).options(selectinload(User.role_rows))
        ).all()
    }
    lead = users.get(details.lead_id)
    if lead is None:
        raise ServiceError("The lead executive does not exist.")
    if not lead.active:
        raise ServiceError(f"{lead.name} is no longer active and cannot lead a walkabout.")
    if not lead.has_role(Role.EXECUTIVE):
        raise ServiceError(f"{lead.name} is not an executive; the lead must be an executive.")
    attendees = []
    for user_id in dict.fromkeys(details.attendee_ids):
        user = users.get(user_id)
        if user is None:
            raise ServiceError(f"Attendee #{user_id} does not exist.")
        if not user.active:
            raise ServiceError(f"{user.name} is no longer active and cannot attend.")
        if user_id != lead.id:
            attendees.append(user)
    if not MIN_DURATION <= details.duration_minutes <= MAX_DURATION:
        raise ServiceError(f"The duration must be between {MIN_DURATION} and {MAX_DURATION} minutes.")
    if details.start.tzinfo is None:
        raise ServiceError("The start time has no time zone.")
    if check_start and details.start < utcnow() - timedelta(minutes=5):
        raise ServiceError("The date and time are in the past. Choose a time from now on.")
    return Resolved(ward=ward, lead=lead, attendees=attendees)


def find_clashes(
    session: Session,
    lead_id: int,
    ward_id: int,
    slots: list[tuple[datetime, int]],
    exclude_ids: set[int] | frozenset[int] = frozenset(),
) -> list[str]:
    """Clash messages for walkabouts at `slots` (start, minutes): the lead busy, or the ward visited that day.

    One query whatever the number of slots (a year's series is checked at once).
    """
    if not slots:
        return []
    zone = trust_zone()
    earliest = min(start for start, _ in slots) - timedelta(days=1)
    latest = max(start for start, _ in slots) + timedelta(days=1)
    attending = select(WalkaboutAttendee.walkabout_id).where(WalkaboutAttendee.user_id == lead_id)
    others = session.exec(
        select(Walkabout)
        .where(Walkabout.status != WalkaboutStatus.CANCELLED)
        .where(Walkabout.scheduled_start >= earliest, Walkabout.scheduled_start <= latest)
        .where(
            or_(Walkabout.lead_id == lead_id, Walkabout.ward_id == ward_id, col(Walkabout.id).in_(attending))
        )
        .options(selectinload(Walkabout.ward))
        .order_by(Walkabout.scheduled_start)
    ).all()
    messages = []
    for start, minutes in slots:
        end = start + timedelta(minutes=minutes)
        day = start.astimezone(zone).date()
        for other in others:
            if other.id in exclude_ids:
                continue
            other_end = other.scheduled_start + timedelta(minutes=other.duration_minutes)
            when = format_datetime(other.scheduled_start)
            if other.ward_id == ward_id and other.scheduled_start.astimezone(zone).date() == day:
                messages.append(f"{other.ward.name} already has a walkabout on {when}.")
            elif other.scheduled_start < end and start < other_end:
                messages.append(f"The lead is already on a walkabout at {when} ({other.ward.name}).")
    return list(dict.fromkeys(messages))


def schedule_walkabout(
    session: Session,
    actor: User,
    details: WalkaboutDetails,
    *,
    confirm_clashes: bool = False,
    series_id: int | None = None,
    resolved: Resolved | None = None,
    check_clashes: bool = True,
    invite: bool = True,
) -> Walkabout:
    """Create one planned walkabout (raises ClashWarning unless clashes are confirmed).

    Invites its team unless `invite` is False (a series or a rota sends its own invitations).
    """
    resolved = resolved or resolve(session, details)
    if check_clashes and not confirm_clashes:
        clashes = find_clashes(
            session, resolved.lead.id, resolved.ward.id, [(details.start, details.duration_minutes)]
        )
        if clashes:
            raise ClashWarning(clashes)
    walkabout = Walkabout(
        ward_id=resolved.ward.id,
        lead_id=resolved.lead.id,
        series_id=series_id,
        scheduled_start=details.start,
        duration_minutes=details.duration_minutes,
        focus=_clean(details.focus),
        guests=_clean(details.guests),
        created_by_id=actor.id,
    )
    walkabout.attendees = list(resolved.attendees)
    session.add(walkabout)
    audit.record(
        session,
        actor,
        walkabout,
        "scheduled",
        {
            "ward_id": walkabout.ward_id,
            "lead_id": walkabout.lead_id,
            "start": walkabout.scheduled_start,
            "attendee_ids": [user.id for user in resolved.attendees],
            "series_id": series_id,
        },
    )
    if invite and series_id is None:
        invitations.plan_walkabout(session, walkabout)
    return walkabout


def reschedule_walkabout(
    session: Session,
    actor: User,
    walkabout: Walkabout,
    details: WalkaboutDetails,
    *,
    expected_version: int | None,
    reason: str | None = None,
    confirm_clashes: bool = False,
) -> dict:
    """Edit a planned walkabout (time, ward, team, focus); a moved time is kept in its history.

    Bumps the calendar SEQUENCE (the ORM bumps `version`); returns the audited changes.
    """
    _check_editable(walkabout, expected_version)
    moved = _to_minute(details.start) != _to_minute(walkabout.scheduled_start)
    if not moved:
        details.start = walkabout.scheduled_start
    resolved = resolve(session, details, check_start=moved)
    if moved and not _clean(reason):
        raise ServiceError("Give a reason for moving the walkabout (it is kept in its history).")
    if not confirm_clashes and (
        moved
        or resolved.ward.id != walkabout.ward_id
        or resolved.lead.id != walkabout.lead_id
        or details.duration_minutes != walkabout.duration_minutes
    ):
        clashes = find_clashes(
            session,
            resolved.lead.id,
            resolved.ward.id,
            [(details.start, details.duration_minutes)],
            exclude_ids={walkabout.id},
        )
        if clashes:
            raise ClashWarning(clashes)
    old_start = walkabout.scheduled_start
    # Read before changing anything: a lazy load would autoflush, writing (and versioning) twice.
    old_ids = sorted(user.id for user in walkabout.attendees)
    previous_team = invitations.team_ids(walkabout)
    changes = audit.diff(
        walkabout,
        {
            "ward_id": resolved.ward.id,
            "lead_id": resolved.lead.id,
            "scheduled_start": details.start,
            "duration_minutes": details.duration_minutes,
            "focus": _clean(details.focus),
            "guests": _clean(details.guests),
        },
    )
    new_ids = sorted(user.id for user in resolved.attendees)
    if old_ids != new_ids:
        walkabout.attendees = list(resolved.attendees)
        changes["attendee_ids"] = [old_ids, new_ids]
    if not changes:
        return changes
    if moved:
        session.add(
            WalkaboutReschedule(
                walkabout_id=walkabout.id,
                from_start=old_start,
                to_start=details.start,
                reason=_clean(reason),
                by_id=actor.id,
            )
        )
        changes["reason"] = _clean(reason)
    _bump(session, walkabout)
    audit.record(session, actor, walkabout, "rescheduled" if moved else "updated", changes)
    invitations.plan_walkabout(session, walkabout, previous_team)
    return changes


def cancel_walkabout(
    session: Session,
    actor: User,
    walkabout: Walkabout,
    *,
    reason: str,
    expected_version: int | None,
    invite: bool = True,
) -> None:
    """Cancel a planned walkabout; the reason is required and the cancellation is counted.

    Sends the team a CANCEL (of the walkabout, or of this occurrence of its series)."""
    _check_editable(walkabout, expected_version)
    reason = _clean(reason)
    if not reason:
        raise ServiceError("Give a reason for cancelling. Cancellations are reported to the board.")
    walkabout.status = WalkaboutStatus.CANCELLED
    walkabout.cancelled_at = utcnow()
    walkabout.cancel_reason = reason
    walkabout.cancelled_by_id = actor.id
    _bump(session, walkabout)
    audit.record(session, actor, walkabout, "cancelled", {"reason": reason})
    if invite and ics.in_series_event(walkabout):
        series = session.get(WalkaboutSeries, walkabout.series_id)
        invitations.plan_series(session, series, cancelled=walkabout)
    elif invite:
        invitations.plan_walkabout(session, walkabout)


STALE_WALKABOUT = (
    "This walkabout was changed by someone else since you opened it. "
    "Check the latest details below and try again."
)


def _check_editable(walkabout: Walkabout, expected_version: int | None) -> None:
    if expected_version is None or walkabout.version != expected_version:  # the message shows the latest
        raise Conflict(
            f"This walkabout was changed by someone else since you opened it. It is now on "
            f"{format_datetime(walkabout.scheduled_start)} ({walkabout.status.replace('_', ' ')}). "
            "Check the latest details below and try again."
        )
    if walkabout.status != WalkaboutStatus.PLANNED:
        raise ServiceError(
            f"Only planned walkabouts can be changed; this one is {walkabout.status.replace('_', ' ')}."
        )


def _to_minute(value: datetime) -> datetime:
    return value.replace(second=0, microsecond=0)


def _bump(session: Session, walkabout: Walkabout) -> None:
    """Stamp the change for calendars and write it now (the UPDATE carries the version)."""
    walkabout.calendar_sequence += 1
    walkabout.updated_at = utcnow()
    flush_or_conflict(session, STALE_WALKABOUT)


def _clean(text: str | None) -> str | None:
    return (text or "").strip() or None


def executives(session: Session) -> list[User]:
    """Active executives, for the lead choice."""
    return list(
        session.exec(
            select(User)
            .join(UserRole)
            .where(UserRole.role == Role.EXECUTIVE, User.active)
            .order_by(User.name)
        ).all()
    )


def is_on_team(walkabout: Walkabout, user: User) -> bool:
    return walkabout.lead_id == user.id or any(person.id == user.id for person in walkabout.attendees)


def local_date(value: datetime) -> date:
    return to_local(value).date()


def set_open_actions_reviewed(session: Session, actor: User, walkabout: Walkabout, reviewed: bool) -> bool:
    """Tick (or untick) "open actions from the last visit reviewed with the ward" on the
    pre-visit brief. Setting it to what it already is changes nothing (a double submit);
    returns whether it changed. Refused for a cancelled walkabout."""
    if walkabout.status == WalkaboutStatus.CANCELLED:
        raise ServiceError("This walkabout was cancelled: there was no visit to review actions at.")
    if reviewed == (walkabout.open_actions_reviewed_at is not None):
        return False
    walkabout.open_actions_reviewed_at = utcnow() if reviewed else None
    audit.record(session, actor, walkabout, "open_actions_reviewed", {"reviewed": reviewed})
    return True
