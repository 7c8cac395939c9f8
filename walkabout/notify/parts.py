"""What every message builder shares: what it builds, the reason not to send, the
dedupe key's parts, and the walkabout a message is about."""

from dataclasses import dataclass, field

from sqlalchemy.orm import selectinload
from sqlmodel import Session, select

from ..models import SentNotification, Walkabout, Ward


class Skip(Exception):
    """The message should not be sent any more; the text says why."""


@dataclass
class Built:
    """What a builder makes: the subject, the template and its context, files, and an invitation."""

    subject: str
    template: str
    context: dict
    attachments: list[tuple[str, str, bytes]] = field(default_factory=list)
    calendar: tuple[str, bytes] | None = None  # (METHOD, file): sent inline and attached
    calendar_name: str = "invite.ics"


def key_parts(note: SentNotification) -> list[str]:
    """The parts after the kind in a dedupe key such as "reminder_team:12:7:1767340800"."""
    return note.dedupe_key.split(":")[1:]


def load_walkabout(session: Session, walkabout_id: int) -> Walkabout:
    """The walkabout with what every message about it shows, or Skip when it is gone."""
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
