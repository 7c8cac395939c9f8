"""Calendars (RFC 5545, with the icalendar library): one walkabout as an invite, a user's feed.

Each walkabout keeps one UID for life and its `calendar_sequence` as SEQUENCE,
so subscribed calendars replace a rescheduled event and strike a cancelled one
(STATUS:CANCELLED) instead of showing duplicates.
"""

import secrets
from datetime import timedelta

from icalendar import Alarm, Calendar, Event, vCalAddress, vText
from sqlalchemy.orm import selectinload
from sqlmodel import Session, col, or_, select

from ..db_types import utcnow
from ..models import User, Walkabout, WalkaboutAttendee, WalkaboutStatus, Ward, WardManager
from . import audit

PRODID = "-//Walkabout//Patient safety walkabouts//EN"
FEED_HISTORY = timedelta(days=365)
ALARM_BEFORE = timedelta(minutes=30)


def walkabout_uid(walkabout: Walkabout) -> str:
    return f"walkabout-{walkabout.id}@walkabout"


def _address(user: User, role: str) -> vCalAddress:
    address = vCalAddress(f"mailto:{user.email}")
    address.params["cn"] = vText(user.name)
    address.params["role"] = vText(role)
    return address


def walkabout_event(walkabout: Walkabout, url: str | None = None) -> Event:
    """The VEVENT of a walkabout (needs ward.site, lead and attendees loaded)."""
    event = Event()
    event.add("uid", walkabout_uid(walkabout))
    event.add("dtstamp", walkabout.updated_at or utcnow())
    event.add("dtstart", walkabout.scheduled_start)
    event.add("dtend", walkabout.scheduled_start + timedelta(minutes=walkabout.duration_minutes))
    event.add("sequence", walkabout.calendar_sequence)
    cancelled = walkabout.status == WalkaboutStatus.CANCELLED
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("summary", f"{'Cancelled: ' if cancelled else ''}Walkabout: {walkabout.ward.name}")
    event.add("location", walkabout.ward.full_name)
    lines = [f"Patient safety walkabout on {walkabout.ward.full_name}, led by {walkabout.lead.name}."]
    if walkabout.focus:
        lines.append(f"Focus: {walkabout.focus}")
    if walkabout.guests:
        lines.append(f"Guests: {walkabout.guests}")
    if cancelled and walkabout.cancel_reason:
        lines.append(f"Cancelled: {walkabout.cancel_reason}")
    if url:
        lines.append(url)
        event.add("url", url)
    event.add("description", "\n".join(lines))
    event.add("organizer", _address(walkabout.lead, "CHAIR"))
    event.add("attendee", _address(walkabout.lead, "CHAIR"))
    for person in walkabout.attendees:
        if person.id != walkabout.lead_id:
            event.add("attendee", _address(person, "REQ-PARTICIPANT"))
    if not cancelled:
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", f"Walkabout on {walkabout.ward.name} in 30 minutes")
        alarm.add("trigger", -ALARM_BEFORE)
        event.add_component(alarm)
    return event


def build_calendar(
    walkabouts: list[Walkabout], name: str, url_for_walkabout=None, method: str = "PUBLISH"
) -> bytes:
    """A VCALENDAR of `walkabouts`, as bytes: PUBLISH for feeds and downloads,
    REQUEST or CANCEL for an emailed invitation."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method)
    calendar.add("x-wr-calname", name)
    calendar.add("x-published-ttl", "PT1H")
    for walkabout in walkabouts:
        url = url_for_walkabout(walkabout) if url_for_walkabout else None
        calendar.add_component(walkabout_event(walkabout, url))
    return calendar.to_ical()


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
            .options(
                selectinload(Walkabout.ward).selectinload(Ward.site),
                selectinload(Walkabout.lead),
                selectinload(Walkabout.attendees),
            )
            .order_by(Walkabout.scheduled_start)
        ).all()
    )


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
