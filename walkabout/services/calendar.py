"""Calendar files for people: a walkabout's download and a user's private feed.

The events themselves are built in walkabout/services/ics.py: one UID per
walkabout, one per series (with its overrides), the same UIDs as the emailed
invitations, so a subscribed calendar and an invitation show one event.
"""

import secrets
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy.orm import object_session, selectinload
from sqlmodel import Session, col, or_, select

from ..db_types import utcnow
from ..models import (
    NotificationPreference,
    User,
    Walkabout,
    WalkaboutAttendee,
    WalkaboutSeries,
    Ward,
    WardManager,
)
from . import audit, ics

FEED_HISTORY = timedelta(days=365)
ALARMS_CHOICE = "calendar_alarms"  # a NotificationPreference row: the user wants 30-minute alarms


def walkabout_uid(walkabout: Walkabout) -> str:
    """The UID calendars know this walkabout by (its series' UID when it is part of a series event)."""
    domain = ics.settings_from(current_app.config).domain
    if ics.in_series_event(walkabout):
        return ics.series_uid(walkabout.series_id, domain)
    return ics.walkabout_uid(walkabout, domain)


def _with_people():
    return (
        selectinload(Walkabout.ward).selectinload(Ward.site),
        selectinload(Walkabout.lead),
        selectinload(Walkabout.attendees),
        selectinload(Walkabout.reschedules),
    )


def series_occurrences(session: Session, series_ids: set[int]) -> dict[int, list[Walkabout]]:
    """Every walkabout of these series that belongs to the series event, by series id."""
    if not series_ids:
        return {}
    grouped: dict[int, list[Walkabout]] = {}
    for walkabout in session.exec(
        select(Walkabout)
        .where(col(Walkabout.series_id).in_(series_ids), col(Walkabout.calendar_uid).is_(None))
        .options(*_with_people())
        .order_by(Walkabout.scheduled_start)
    ).all():
        grouped.setdefault(walkabout.series_id, []).append(walkabout)
    return grouped


def calendar_file(
    session: Session,
    walkabouts: list[Walkabout],
    name: str,
    *,
    method: str = "PUBLISH",
    alarms: bool = False,
    feed: bool = False,
    whole_series: bool = False,
    now: datetime | None = None,
) -> bytes:
    """A VCALENDAR of `walkabouts`: single ones as events, series occurrences as their series event
    (showing only the occurrences in `walkabouts`, or all of them with `whole_series`)."""
    settings = ics.settings_from(current_app.config)
    now = now or utcnow()
    calendar = ics.new_calendar(method, name)
    in_series = [w for w in walkabouts if ics.in_series_event(w)]
    grouped = series_occurrences(session, {w.series_id for w in in_series})
    series_rows = {
        row.id: row
        for row in session.exec(select(WalkaboutSeries).where(col(WalkaboutSeries.id).in_(grouped))).all()
    }
    visible = None if whole_series else {w.id for w in in_series}
    for walkabout in walkabouts:
        if not ics.in_series_event(walkabout):
            calendar.add_component(ics.walkabout_event(walkabout, settings, now=now, alarms=alarms))
    for series_id, occurrences in grouped.items():
        for event in ics.series_events(
            series_rows[series_id], occurrences, settings, visible=visible, now=now, alarms=alarms
        ):
            calendar.add_component(event)
    return ics.finish(calendar, feed=feed)


def build_calendar(walkabouts: list[Walkabout], name: str, url_for_walkabout=None, method="PUBLISH") -> bytes:
    """A downloadable calendar file of loaded walkabouts (links go to WALKABOUT_BASE_URL); a walkabout
    of a series comes as the whole series, so importing it never shrinks the series to one date."""
    session = object_session(walkabouts[0]) if walkabouts else None
    if session is None:
        raise ValueError("build_calendar needs walkabouts loaded in a session")
    return calendar_file(session, walkabouts, name, method=method, whole_series=True)


def feed_user(session: Session, token: str) -> User | None:
    """The active user whose calendar token this is."""
    if not token or len(token) > 64:
        return None
    user = session.exec(select(User).where(User.calendar_token == token)).first()
    return user if user is not None and user.active else None


def feed_walkabouts(session: Session, user: User) -> list[Walkabout]:
    """The user's walkabouts (lead, attendee or their wards' visits) from a year ago on.

    Cancelled ones are included, so calendars strike them out.
    """
    attending = select(WalkaboutAttendee.walkabout_id).where(WalkaboutAttendee.user_id == user.id)
    managed = select(WardManager.ward_id).where(WardManager.user_id == user.id)
    return list(
        session.exec(
            select(Walkabout)
            .where(Walkabout.scheduled_start >= utcnow() - FEED_HISTORY)
            .where(
                or_(
                    Walkabout.lead_id == user.id,
                    col(Walkabout.id).in_(attending),
                    col(Walkabout.ward_id).in_(managed),
                )
            )
            .options(*_with_people())
            .order_by(Walkabout.scheduled_start)
        ).all()
    )


def feed_file(session: Session, user: User, now: datetime | None = None) -> bytes:
    """The user's private feed: their walkabouts, alarms only if they chose them."""
    return calendar_file(
        session,
        feed_walkabouts(session, user),
        f"Walkabouts · {user.name}",
        alarms=wants_alarms(session, user.id),
        feed=True,
        now=now,
    )


def wants_alarms(session: Session, user_id: int) -> bool:
    row = session.get(NotificationPreference, (user_id, ALARMS_CHOICE))
    return bool(row and row.enabled)


def set_alarms(session: Session, user: User, wanted: bool) -> None:
    """Choose whether the feed and invitations carry a 30-minute alarm."""
    row = session.get(NotificationPreference, (user.id, ALARMS_CHOICE))
    if (row is not None and row.enabled) == wanted:
        return
    if row is None:
        session.add(NotificationPreference(user_id=user.id, kind=ALARMS_CHOICE, enabled=wanted))
    else:
        row.enabled = wanted
    audit.record(session, user, user, "calendar_alarms", {"enabled": wanted})


def rotate_token(session: Session, user: User) -> str:
    """Give the user a new private feed address; the old one stops working at once."""
    had_one = user.calendar_token is not None
    user.calendar_token = secrets.token_urlsafe(32)
    audit.record(session, user, user, "calendar_token_rotated" if had_one else "calendar_token_created")
    return user.calendar_token


def reissue_token(user: User) -> None:
    """A new feed address, when the user has one (deactivation, password reset): the old one stops.

    No audit entry of its own: the deactivation or reset that calls it writes one."""
    if user.calendar_token is not None:
        user.calendar_token = secrets.token_urlsafe(32)
