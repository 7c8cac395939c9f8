"""Turn a queued notification into an email (plain text and HTML), or Skip it.

Each kind checks that its subject still warrants the message at send time: a
reminder for a walkabout that was cancelled or moved, an action that was closed
or reassigned, a digest with nothing overdue: all are skipped, not sent.

Every message is multipart/alternative text and HTML (walkabout/notify/mime.py);
invitations add the calendar inline, as iMIP asks.
"""

import hashlib
from datetime import date, datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from zoneinfo import ZoneInfo

from flask import render_template
from sqlalchemy.orm import selectinload
from sqlmodel import Session, col, select

from ..identity import mail_domain
from ..models import (
    Action,
    BoardPack,
    BoardPackStatus,
    Concern,
    Role,
    SentNotification,
    User,
    Walkabout,
    WalkaboutStatus,
)
from ..reports.summary import summary_pdf
from ..services import NotFound, branding, staff_voice
from ..services import follow_up as concern_follow_up
from ..services import notification_kinds as kinds
from ..services.action_queries import overdue_actions
from ..services.actions import OPEN_STATUSES
from ..services.notification_plans import ESCALATION_OVERDUE_DAYS
from ..services.notifications import FOLDED, folded_new_actions, folds_new_actions
from ..services.reports import follow_up
from . import unsubscribe
from .account_mail import BUILDERS as ACCOUNT_BUILDERS
from .invites import build_invitation
from .mime import add_body
from .parts import Built, Skip, key_parts, load_walkabout

REMINDER_MIN_NOTICE = timedelta(hours=2)  # a reminder this close to the start is skipped, not sent late


def compose(
    session: Session, note: SentNotification, recipient: User, config: dict, now: datetime
) -> EmailMessage:
    built = BUILDERS[note.kind](session, note, recipient, now, config)
    if isinstance(built, tuple):
        built = Built(*built)
    brand = branding.brand(session, config["TRUST_NAME"])
    logo_url = f"{config['BASE_URL']}/trust-logo?v={brand.logo_version}" if brand.has_logo else None
    built.context.update(
        recipient=recipient,
        base_url=config["BASE_URL"],
        trust_name=brand.name,
        trust_logo_url=logo_url,
        now=now,
    )
    message = EmailMessage(policy=policy.default)
    message["Subject"] = built.subject
    message["From"] = config["MAIL_FROM"]
    message["To"] = formataddr((recipient.name, recipient.email))
    message["Date"] = format_datetime(now)
    message["Message-ID"] = message_id(note, mail_domain(config))
    message["MIME-Version"] = "1.0"
    message["Auto-Submitted"] = "auto-generated"
    for name, value in unsubscribe.headers(config, recipient.id, kinds.BY_KEY[note.kind]).items():
        message[name] = value
    text = render_template(f"email/{built.template}.txt", **built.context)
    html = render_template(f"email/{built.template}.html", **built.context)
    add_body(message, text, html, built.attachments, built.calendar, built.calendar_name)
    return message


def message_id(note: SentNotification, domain: str = "localhost") -> str:
    """The same Message-ID every time this queued row is sent: a resend after a crash between
    handing it over and recording it is recognisable (the outbox keeps one copy; mail clients dedupe).
    The row's creation time is in it, so a rebuilt database never reuses an earlier message's id;
    the installation's domain ends it, so two installations never share one."""
    seed = f"{note.dedupe_key}|{note.id}|{note.created_at.isoformat()}"
    return f"<{hashlib.sha256(seed.encode()).hexdigest()[:32]}.{note.id}@{domain}>"


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


def relative_when(start: datetime, now: datetime, zone: ZoneInfo) -> str:
    """When a walkabout is, said from the moment the message is sent: "today at 14:30",
    "tomorrow at 14:30", "on Thursday 5 Mar at 14:30", and "next week, on Monday 9 Mar at 14:30"
    only when it falls in next week (a week-before reminder sent on time)."""
    local, today = start.astimezone(zone), now.astimezone(zone).date()
    days = (local.date() - today).days
    at = f"{local:%H:%M}"
    if days <= 0:
        return f"today at {at}"
    if days == 1:
        return f"tomorrow at {at}"
    on = f"on {local:%A} {local.day} {local:%b} at {at}"
    next_monday = today + timedelta(days=7 - today.weekday())
    return f"next week, {on}" if days >= 7 and local.date() < next_monday + timedelta(days=7) else on


def _reminder(session, note, now, config, team: bool):
    """A week before (ward managers) or the day before (the team), with the ward's open actions.

    Worded from the moment it is sent, so a reminder sent late (the scheduler was down) is still
    true; one that would reach people less than REMINDER_MIN_NOTICE before the start is skipped.
    """
    walkabout_id, _user, stamp = key_parts(note)
    walkabout = load_walkabout(session, int(walkabout_id))
    _still_planned_at(walkabout, stamp, now)
    if walkabout.scheduled_start - now < REMINDER_MIN_NOTICE:
        raise Skip("too late for a reminder: the walkabout starts within 2 hours")
    zone = ZoneInfo(config["TIMEZONE"])
    when = relative_when(walkabout.scheduled_start, now, zone)
    context = {
        "walkabout": walkabout,
        "open_actions": _open_ward_actions(session, walkabout.ward_id),
        "today": now.astimezone(zone).date(),
        "team_reminder": team,
        "when": when,
    }
    if team:
        subject = f"{when[0].upper()}{when[1:]}: walkabout on {walkabout.ward.name}"
    else:
        subject = f"Walkabout on {walkabout.ward.name} {when}"
    return subject, "reminder", context, []


def reminder_ward(session, note, recipient, now, config):
    return _reminder(session, note, now, config, team=False)


def reminder_team(session, note, recipient, now, config):
    return _reminder(session, note, now, config, team=True)


def summary(session, note, recipient, now, config):
    walkabout_id, _user = key_parts(note)
    walkabout = load_walkabout(session, int(walkabout_id))
    if walkabout.status != WalkaboutStatus.COMPLETED:
        raise Skip("the walkabout is not completed")
    attachments = _summary_attachment(session, walkabout, recipient)
    subject = f"Follow-up from the walkabout on {walkabout.ward.name}"
    return subject, "summary", {"walkabout": walkabout}, attachments


def new_action(session, note, recipient, now, config):

    action_id, user_id = key_parts(note)
    if folds_new_actions(session, recipient):
        raise Skip(FOLDED)  # the digest of the next morning lists it
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
    """The day's digest: overdue actions, and new ones for people who chose to get them here."""

    _user, day = key_parts(note)
    digest_day = date.fromisoformat(day)
    zone = ZoneInfo(config["TIMEZONE"])
    if digest_day != now.astimezone(zone).date():
        raise Skip("a digest for a later day replaces it")  # never two digests on one day
    actions = overdue_actions(session, digest_day, owner_id=recipient.id)
    new = folded_new_actions(session, recipient, digest_day, zone)
    waiting, late = _follow_up_lists(session, recipient, digest_day, zone)
    if not actions and not new and not waiting and not late:
        raise Skip("nothing is overdue or new any more")
    parts = []
    if new:
        parts.append(f"{len(new)} new action{'s' if len(new) != 1 else ''}")
    if actions:
        parts.append(f"{len(actions)} overdue action{'s' if len(actions) != 1 else ''}")
    subject = f"{' and '.join(parts)} to update" if parts else "follow-up of your walkabouts"
    if waiting or late:
        subject += f" ({len(waiting)} concern{'s' if len(waiting) != 1 else ''} with no action"
        subject += f", {len(late)} feedback overdue)" if late else ")"
    subject = subject[0].upper() + subject[1:]
    context = {
        "actions": actions,
        "new_actions": new,
        "today": digest_day,
        "without_action": waiting,
        "feedback_overdue": late,
    }
    return subject, "overdue_digest", context, []


def _follow_up_lists(session, recipient: User, day: date, zone) -> tuple[list[Concern], list[Concern]]:
    """An executive's concerns with no action after 2 working days, and feedback overdue."""
    if not recipient.has_role(Role.EXECUTIVE):
        return [], []
    cutoff = concern_follow_up.working_days_cutoff(day, zone)
    return (
        concern_follow_up.without_action(session, recipient.id, completed_before=cutoff),
        concern_follow_up.feedback_overdue(session, day, user_id=recipient.id),
    )


def escalation(session, note, recipient, now, config):
    _user, week = key_parts(note)
    today = now.astimezone(ZoneInfo(config["TIMEZONE"])).date()
    year, number, _ = today.isocalendar()
    if week != f"{year}-W{number:02d}":
        raise Skip("this week's escalation replaces it")
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


def fix_not_yet(session, note, recipient, now, config):
    """Ward staff answered "Not yet" on a concern whose action this executive verified."""
    action_id, _day = key_parts(note)
    action = session.exec(
        select(Action)
        .where(Action.id == int(action_id))
        .options(selectinload(Action.concern).selectinload(Concern.walkabout).selectinload(Walkabout.ward))
    ).first()
    if action is None or action.deleted_at is not None:
        raise Skip("the action no longer exists")
    if action.verified_by_id != recipient.id:
        raise Skip("someone else verified the action since")
    answers = staff_voice.counts(session, [action.concern_id]).get(action.concern_id, staff_voice.FixCounts())
    if not answers.not_yet:
        raise Skip("staff changed their answers to Yes")
    subject = f"Staff on {action.concern.walkabout.ward.name} say this is not fixed yet"
    return subject, "fix_not_yet", {"action": action, "answers": answers}, []


BUILDERS = {
    "invitation": build_invitation,  # walkabout/notify/invites.py
    "reminder_ward": reminder_ward,
    "reminder_team": reminder_team,
    "summary": summary,
    "new_action": new_action,
    "overdue_digest": overdue_digest,
    "escalation": escalation,
    "board_pack": board_pack,
    "fix_not_yet": fix_not_yet,
}


def _latest_pack(session: Session, month: str):
    return session.exec(
        select(BoardPack)
        .where(BoardPack.month == month, BoardPack.status == BoardPackStatus.READY)
        .order_by(col(BoardPack.version).desc())
    ).first()


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
