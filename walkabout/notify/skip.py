"""What every message builder shares: the reason not to send, and the dedupe key's parts."""

from ..models import SentNotification


class Skip(Exception):
    """The message should not be sent any more; the text says why."""


def key_parts(note: SentNotification) -> list[str]:
    """The parts after the kind in a dedupe key such as "reminder_team:12:7:1767340800"."""
    return note.dedupe_key.split(":")[1:]
