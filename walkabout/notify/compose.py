"""Turn a queued notification into an email (plain text and HTML), or Skip it.

Each kind checks that its subject still warrants the message at send time: a
reminder for a walkabout that was cancelled or moved, an action that was closed
or reassigned, a digest with nothing overdue: all are skipped, not sent.
"""

import hashlib
from datetime import date, datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from zoneinfo import ZoneInfo

from flask import render_template
from sqlalchemy.orm import selectinload
from sqlmodel import Session, col, select

from ..models import (
    Action,
    BoardPack,
    BoardPackStatus,
    Concern,
    SentNotification,
    User,
    Walkabout,
    WalkaboutStatus,
    Ward,
)
from ..reports.summary import summary_pdf
from ..services import NotFound
from ..services.action_queries import overdue_actions
from ..services.actions import OPEN_STATUSES
from ..services.calendar import build_calendar
from ..services.notification_plans import ESCALATION_OVERDUE_DAYS
from ..services.reports import follow_up
from ..timeutil import format_datetime as local_datetime
from .account_mail import BUILDERS as ACCOUNT_BUILDERS
from .skip import Skip, key_parts


def compose(
    session: Session, note: SentNotification, recipient: User, config: dict, now: datetime
) -> EmailMessage:
    builder = BUILDERS[note.kind]
    subject, template, context, attachments = builder(session, note, recipient, now, config)
    context.update(recipient=recipient, base_url=config["BASE_URL"], trust_name=config["TRUST_NAME"])
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = config["MAIL_FROM"]
    message["To"] = formataddr((recipient.name, recipient.email))
    message["Date"] = format_datetime(now)
    message["Message-ID"] = message_id(note)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(render_template(f"email/{template}.txt", **context))
    message.add_alternative(render_template(f"email/{template}.html", **context), subtype="html")
    for filename, mimetype, data in attachments:
        maintype, subtype = mimetype.split("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return message


def message_id(note: SentNotification) -> str:
    """The same Message-ID every time this queued row is sent: a resend after a crash between
    handing it over and recording it is recognisable (the outbox keeps one copy; mail clients dedupe).
    The row's creation time is in it, so a rebuilt database never reuses an earlier message's id."""
    seed = f"{note.dedupe_key}|{note.id}|{note.created_at.isoformat()}"
    return f"<{hashlib.sha256(seed.encode()).hexdigest()[:32]}.{note.id}@walkabout>"


def _walkabout(session: Session, walkabout_id: int) -> Walkabout:
    walkabout = session.exec(
        select(Walkabout)
        .where(Walkabout.id == walkabout_id)
        .options(
            selectinload(Walkabout.ward).selectinload(Ward.site),
            selectinload(Walkabout.lead),
            selectinload(Walkabout.attendees),
        )
    ).first()
    if walkabout is None:
        raise Skip("the walkabout no longer exists")
    return walkabout


def _open_ward_actions(session: Session, ward_id: int) -> list[Action]:
    return list(
        session.exec(
            select(Action)
            .join(Concern)
            .join(Walkabout)
            .where(
                Walkabout.ward_id == ward_id,
                col(Action.status).in_(OPEN_STATUSES),
                col(Action.deleted_at).is_(None),
            )
            .options(selectinload(Action.owner), selectinload(Action.concern))
            .order_by(Action.due_date)
        ).all()
    )


def _still_planned_at(walkabout: Walkabout, stamp: str, now: datetime) -> None:
    if walkabout.status != WalkaboutStatus.PLANNED:
        raise Skip(f"the walkabout is {walkabout.status.value.replace('_', ' ')}")
    if str(int(walkabout.scheduled_start.timestamp())) != stamp:
        raise Skip("the walkabout was moved; a new reminder is planned")
    if walkabout.scheduled_start <= now:
        raise Skip("the walkabout has already started")


def invitation(session, note, recipient, now, config):
    walkabout_id, _user, sequence = key_parts(note)
    walkabout = _walkabout(session, int(walkabout_id))
    if walkabout.calendar_sequence != int(sequence):
        raise Skip("superseded by a newer change")
    when = local_datetime(walkabout.scheduled_start)
    if walkabout.status == WalkaboutStatus.CANCELLED:
        subject, change = f"Cancelled: walkabout on {walkabout.ward.name}, {when}", "cancelled"
    elif walkabout.scheduled_start <= now:
        raise Skip("the walkabout has already started")
    elif int(sequence) > 0:
        subject, change = f"Changed: walkabout on {walkabout.ward.name}, {when}", "changed"
    else:
        subject, change = f"Walkabout on {walkabout.ward.name}, {when}", "new"
    attachments = [("walkabout.ics", "text/calendar", _walkabout_ics(walkabout, config))]
    return subject, "invitation", {"walkabout": walkabout, "change": change}, attachments


def _reminder(session, note, now, config, team: bool):
    """A week before (ward managers) or the day before (the team), with the ward's open actions."""
    walkabout_id, _user, stamp = key_parts(note)
    walkabout = _walkabout(session, int(walkabout_id))
    _still_planned_at(walkabout, stamp, now)
    today = now.astimezone(ZoneInfo(config["TIMEZONE"])).date()
    context = {
        "walkabout": walkabout,
        "open_actions": _open_ward_actions(session, walkabout.ward_id),
        "today": today,
        "team_reminder": team,
    }
    when = local_datetime(walkabout.scheduled_start)
    subject = (
        f"Tomorrow: walkabout on {walkabout.ward.name}, {when}"
        if team
        else f"Walkabout on {walkabout.ward.name} next week: {when}"
    )
    return subject, "reminder", context, []


def reminder_ward(session, note, recipient, now, config):
    return _reminder(session, note, now, config, team=False)


def reminder_team(session, note, recipient, now, config):
    return _reminder(session, note, now, config, team=True)


def summary(session, note, recipient, now, config):
    walkabout_id, _user = key_parts(note)
    walkabout = _walkabout(session, int(walkabout_id))
    if walkabout.status != WalkaboutStatus.COMPLETED:
        raise Skip("the walkabout is not completed")
    attachments = _summary_attachment(session, walkabout, recipient)
    subject = f"Follow-up from the walkabout on {walkabout.ward.name}"
    return subject, "summary", {"walkabout": walkabout}, attachments


def new_action(session, note, recipient, now, config):
    action_id, user_id = key_parts(note)
    action = session.exec(
        select(Action)
        .where(Action.id == int(action_id))
        .options(selectinload(Action.concern).selectinload(Concern.walkabout).selectinload(Walkabout.ward))
    ).first()
    if action is None or action.deleted_at is not None:
        raise Skip("the action no longer exists")
    if action.owner_id != int(user_id):
        raise Skip("the action has a new owner")
    if action.status not in OPEN_STATUSES:
        raise Skip("the action is already closed")
    subject = f"New action for you: {action.concern.walkabout.ward.name}, due {action.due_date:%d %b %Y}"
    return subject, "new_action", {"action": action}, []


def overdue_digest(session, note, recipient, now, config):
    _user, day = key_parts(note)
    today = date.fromisoformat(day)
    actions = overdue_actions(session, today, owner_id=recipient.id)
    if not actions:
        raise Skip("nothing is overdue any more")
    subject = f"{len(actions)} overdue action{'s' if len(actions) != 1 else ''} to update"
    return subject, "overdue_digest", {"actions": actions, "today": today}, []


def escalation(session, note, recipient, now, config):
    today = now.astimezone(ZoneInfo(config["TIMEZONE"])).date()
    days = ESCALATION_OVERDUE_DAYS
    actions = overdue_actions(session, today, lead_id=recipient.id, older_than_days=days)
    if not actions:
        raise Skip(f"no action is overdue by more than {days} days any more")
    plural = "s" if len(actions) != 1 else ""
    subject = f"Escalation: {len(actions)} action{plural} overdue by more than {days} days"
    return subject, "escalation", {"actions": actions, "today": today}, []


def board_pack(session, note, recipient, now, config):
    month, _user = key_parts(note)
    pack = _latest_pack(session, month)
    if pack is None:
        raise Skip(f"no board pack for {month} is ready")
    subject = f"Board pack for {datetime.strptime(month, '%Y-%m'):%B %Y}"
    return (
        subject,
        "board_pack",
        {"month": month, "pack": pack},
        [(f"walkabout-board-pack-{month}.pdf", "application/pdf", pack.pdf)],
    )


BUILDERS = {
    "invitation": invitation,
    "reminder_ward": reminder_ward,
    "reminder_team": reminder_team,
    "summary": summary,
    "new_action": new_action,
    "overdue_digest": overdue_digest,
    "escalation": escalation,
    "board_pack": board_pack,
}


def _latest_pack(session: Session, month: str):
    return session.exec(
        select(BoardPack)
        .where(BoardPack.month == month, BoardPack.status == BoardPackStatus.READY)
        .order_by(col(BoardPack.version).desc())
    ).first()


def _walkabout_ics(walkabout: Walkabout, config: dict) -> bytes:
    method = "CANCEL" if walkabout.status == WalkaboutStatus.CANCELLED else "REQUEST"
    return build_calendar(
        [walkabout],
        f"Walkabout: {walkabout.ward.name}",
        lambda w: f"{config['BASE_URL']}/walkabouts/{w.id}",
        method=method,
    )


def _summary_attachment(
    session: Session, walkabout: Walkabout, recipient: User
) -> list[tuple[str, str, bytes]]:
    """The follow-up summary PDF, as the recipient is allowed to see it."""
    try:
        document = follow_up(session, recipient, walkabout.id)
    except NotFound:
        raise Skip("the recipient no longer manages this ward") from None
    day = walkabout.scheduled_start.date().isoformat()
    return [
        (f"walkabout-summary-{walkabout.id}-{day}.pdf", "application/pdf", summary_pdf(session, document))
    ]


BUILDERS.update(ACCOUNT_BUILDERS)  # account security messages, kept in their own module
