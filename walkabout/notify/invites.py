"""Invitation emails (iMIP, RFC 6047 / RFC 5546), built at send time from the current state.

Three shapes, by the queued row's key (walkabout/services/invitations.py plans them):
- `invitation:<walkabout>:<user>:<sequence>`: one walkabout, REQUEST or CANCEL;
- `invitation_series:<series>:<user>:<sequence>[:cancel-<walkabout>]`: a series as one event
  (REQUEST of the whole series, CANCEL of one occurrence, or CANCEL of the series);
- `invitation_rota:<first id>-<last id>:<user>`: a year's rota, one email per executive
  listing their walkabouts with one calendar file (PUBLISH: an iMIP message carries one UID).
Someone taken off a team gets a CANCEL. Replies are not read (RSVP=FALSE).
"""

from datetime import datetime

from sqlmodel import Session, col, select

from ..models import NotificationStatus, SentNotification, User, Walkabout, WalkaboutSeries, WalkaboutStatus
from ..services import ics
from ..timeutil import format_datetime as local_datetime
from .parts import Built, Skip, key_parts, load_walkabout


def build_invitation(session: Session, note: SentNotification, recipient: User, now: datetime, config):
    shape = note.dedupe_key.split(":", 1)[0]
    if shape == "invitation_series":
        return _series(session, note, recipient, now, config)
    if shape == "invitation_rota":
        return _rota(session, note, recipient, now, config)
    return _single(session, note, recipient, now, config)


def _alarms(session: Session, user: User) -> bool:
    from ..services.calendar import wants_alarms

    return wants_alarms(session, user.id)


def _on_team(walkabout: Walkabout, user: User) -> bool:
    return walkabout.lead_id == user.id or any(person.id == user.id for person in walkabout.attendees)


def _single(session, note, recipient, now, config) -> Built:
    walkabout_id, _user, sequence = key_parts(note)
    walkabout = load_walkabout(session, int(walkabout_id))
    if walkabout.calendar_sequence != int(sequence):
        raise Skip("superseded by a newer change")
    removed = not _on_team(walkabout, recipient)
    cancelled = walkabout.status == WalkaboutStatus.CANCELLED or removed
    if walkabout.scheduled_start <= now:
        raise Skip("the walkabout has already started")
    if not cancelled and walkabout.status != WalkaboutStatus.PLANNED:
        raise Skip(f"the walkabout is {walkabout.status.value.replace('_', ' ')}")
    settings = ics.settings_from(config)
    event = ics.walkabout_event(
        walkabout, settings, now=now, alarms=not cancelled and _alarms(session, recipient)
    )
    when = local_datetime(walkabout.scheduled_start)
    if cancelled:
        event["STATUS"] = "CANCELLED"
        method = "CANCEL"
        change = "removed" if removed and walkabout.status != WalkaboutStatus.CANCELLED else "cancelled"
        subject = f"Cancelled: walkabout on {walkabout.ward.name}, {when}"
    else:
        method = "REQUEST"
        change = "changed" if int(sequence) > 0 else "new"
        prefix = "Changed: w" if change == "changed" else "W"
        subject = f"{prefix}alkabout on {walkabout.ward.name}, {when}"
    calendar = ics.new_calendar(method)
    calendar.add_component(event)
    context = {"walkabout": walkabout, "change": change}
    return Built(subject, "invitation", context, calendar=(method, ics.finish(calendar)))


def _newer_pending(session: Session, note: SentNotification) -> bool:
    return (
        session.exec(
            select(SentNotification.id).where(
                SentNotification.subject_type == note.subject_type,
                SentNotification.subject_id == note.subject_id,
                SentNotification.recipient_id == note.recipient_id,
                SentNotification.kind == note.kind,
                SentNotification.status == NotificationStatus.PENDING,
                SentNotification.id > note.id,
            )
        ).first()
        is not None
    )


def _skipped_since_last_sent(session: Session, note: SentNotification) -> bool:
    """Whether an earlier change to this series was folded into this message (its row skipped)."""
    earlier = session.exec(
        select(SentNotification.status)
        .where(
            SentNotification.subject_type == note.subject_type,
            SentNotification.subject_id == note.subject_id,
            SentNotification.recipient_id == note.recipient_id,
            SentNotification.kind == note.kind,
            SentNotification.id < note.id,
        )
        .order_by(col(SentNotification.id).desc())
    ).all()
    for status in earlier:
        if status == NotificationStatus.SENT:
            return False
        if status == NotificationStatus.SKIPPED:
            return True
    return False


def _series(session, note, recipient, now, config) -> Built:
    from ..services.calendar import series_occurrences

    parts = key_parts(note)
    series = session.get(WalkaboutSeries, int(parts[0]))
    occurrences = series_occurrences(session, {int(parts[0])}).get(int(parts[0]), []) if series else []
    if not occurrences:
        raise Skip("the series has no walkabouts in its calendar event")
    if _newer_pending(session, note):
        raise Skip("superseded by a newer change (sent with it)")
    settings = ics.settings_from(config)
    mine = [w for w in occurrences if _on_team(w, recipient)]
    live = [w for w in mine if w.status != WalkaboutStatus.CANCELLED]
    upcoming = [w for w in live if w.scheduled_start > now and w.status == WalkaboutStatus.PLANNED]
    ward = occurrences[0].ward
    context = {"series": series, "ward": ward, "upcoming": upcoming, "walkabouts": live, "change": "new"}
    cancel_one = next((p.removeprefix("cancel-") for p in parts[3:] if p.startswith("cancel-")), None)
    if not live:
        master = ics.series_events(series, occurrences, settings, now=now)[0]
        master["STATUS"] = "CANCELLED"
        method, events = "CANCEL", [master]
        subject = f"Cancelled: series of walkabouts on {ward.name}"
        context["change"] = "cancelled"
    elif cancel_one and not _skipped_since_last_sent(session, note):
        one = next((w for w in mine if w.id == int(cancel_one)), None)
        if one is None:
            raise Skip("the cancelled walkabout was not one of the recipient's")
        method, events = "CANCEL", [ics.occurrence_cancel(series, occurrences, one, settings)]
        subject = f"Cancelled: walkabout on {ward.name}, {local_datetime(one.scheduled_start)} (series)"
        context.update(change="occurrence_cancelled", cancelled=one)
    else:
        if not upcoming and not any(w.scheduled_start > now for w in occurrences):
            raise Skip("the series has no walkabouts still to come")
        visible = {w.id for w in mine}
        method = "REQUEST"
        events = ics.series_events(
            series, occurrences, settings, visible=visible, now=now, alarms=_alarms(session, recipient)
        )
        changed = int(parts[2]) > 0
        context["change"] = "changed" if changed else "new"
        count = f"{len(upcoming)} walkabout{'s' if len(upcoming) != 1 else ''}"
        subject = f"{'Changed: s' if changed else 'S'}eries of {count} on {ward.name}"
        if upcoming:
            subject += f", from {local_datetime(upcoming[0].scheduled_start)}"
    calendar = ics.new_calendar(method)
    for event in events:
        calendar.add_component(event)
    return Built(subject, "series_invitation", context, calendar=(method, ics.finish(calendar)))


def _rota(session, note, recipient, now, config) -> Built:
    from ..services.calendar import _with_people

    span, _user = key_parts(note)
    first, last = (int(x) for x in span.split("-"))
    walkabouts = list(
        session.exec(
            select(Walkabout)
            .where(Walkabout.id >= first, Walkabout.id <= last, Walkabout.lead_id == recipient.id)
            .where(Walkabout.status == WalkaboutStatus.PLANNED, Walkabout.scheduled_start > now)
            .where(col(Walkabout.series_id).is_(None))
            .options(*_with_people())
            .order_by(Walkabout.scheduled_start)
        ).all()
    )
    if not walkabouts:
        raise Skip("none of the rota's walkabouts for the recipient is still planned")
    settings = ics.settings_from(config)
    alarms = _alarms(session, recipient)
    calendar = ics.new_calendar("PUBLISH", "Walkabout rota")
    for walkabout in walkabouts:
        calendar.add_component(ics.walkabout_event(walkabout, settings, now=now, alarms=alarms))
    count = f"{len(walkabouts)} walkabout{'s' if len(walkabouts) != 1 else ''}"
    subject = f"Your rota: {count} to lead, from {local_datetime(walkabouts[0].scheduled_start)}"
    return Built(
        subject,
        "rota_invitation",
        {"walkabouts": walkabouts},
        calendar=("PUBLISH", ics.finish(calendar)),
        calendar_name="walkabout-rota.ics",
    )
