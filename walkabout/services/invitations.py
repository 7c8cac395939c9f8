"""Invitations are planned explicitly, in the transaction that creates or changes a walkabout,
a series or a rota (never inferred later from what changed recently).

Each call queues one row per person for the new state; the email itself is built
at send time from the data then (walkabout/notify/invites.py), so a row
superseded by a later change is skipped. Starting or completing a walkabout
plans nothing.
"""

from sqlmodel import Session

from ..db_types import utcnow
from ..models import Walkabout, WalkaboutSeries
from . import ics
from . import notification_kinds as kinds
from .notifications import enqueue


def team_ids(walkabout: Walkabout) -> set[int]:
    return {walkabout.lead_id, *(user.id for user in walkabout.attendees)}


def plan_walkabout(session: Session, walkabout: Walkabout, previous_team: set[int] | frozenset = frozenset()):
    """Invite the team to a new or changed walkabout (or its series event); CANCEL for anyone taken off."""
    if ics.in_series_event(walkabout):
        plan_series(session, session.get(WalkaboutSeries, walkabout.series_id), previous_team)
        return
    session.flush()  # the walkabout needs its id
    for user_id in team_ids(walkabout) | set(previous_team):
        enqueue(
            session,
            kind=kinds.INVITATION,
            recipient_id=user_id,
            due_at=utcnow(),
            dedupe_key=f"invitation:{walkabout.id}:{user_id}:{walkabout.calendar_sequence}",
            subject_type="walkabout",
            subject_id=walkabout.id,
        )


def plan_series(
    session: Session,
    series: WalkaboutSeries,
    previous_team: set[int] | frozenset = frozenset(),
    cancelled: Walkabout | None = None,
) -> None:
    """One invitation per person for the whole series (its state when sent); `cancelled`: the
    occurrence just cancelled, sent as a CANCEL of that occurrence when nothing else changed."""
    from .calendar import series_occurrences

    session.flush()
    occurrences = series_occurrences(session, {series.id}).get(series.id, [])
    if not occurrences:
        return
    sequence = ics.series_sequence(series, occurrences)
    people = set(previous_team)
    for walkabout in occurrences:
        people |= team_ids(walkabout)
    suffix = f":cancel-{cancelled.id}" if cancelled is not None else ""
    for user_id in people:
        enqueue(
            session,
            kind=kinds.INVITATION,
            recipient_id=user_id,
            due_at=utcnow(),
            dedupe_key=f"invitation_series:{series.id}:{user_id}:{sequence}{suffix}",
            subject_type="series",
            subject_id=series.id,
        )


def plan_rota(session: Session, walkabouts: list[Walkabout]) -> None:
    """One email per executive listing their walkabouts of an accepted rota, with one calendar file."""
    if not walkabouts:
        return
    session.flush()
    first, last = min(w.id for w in walkabouts), max(w.id for w in walkabouts)
    for lead_id in sorted({w.lead_id for w in walkabouts}):
        enqueue(
            session,
            kind=kinds.INVITATION,
            recipient_id=lead_id,
            due_at=utcnow(),
            dedupe_key=f"invitation_rota:{first}-{last}:{lead_id}",
            subject_type="rota",
            subject_id=first,
        )
