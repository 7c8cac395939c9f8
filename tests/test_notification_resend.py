"""A scheduler killed after handing a message over but before recording it must not send it twice.

Found by bench/faults.py (the scheduler SIGKILLed mid-send on PostgreSQL wrote one
message twice): the resend now carries the same Message-ID and the outbox keeps one copy.
"""

from datetime import UTC, datetime
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest
from sqlmodel import select

from walkabout.db import session_scope
from walkabout.identity import mail_domain
from walkabout.models import NotificationStatus, Role, SentNotification, WalkaboutStatus
from walkabout.notify.backends import OutboxBackend
from walkabout.notify.dispatch import dispatch_due
from walkabout.services import notification_kinds as kinds
from walkabout.services.notifications import enqueue

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class Killed(BaseException):
    """Stands for SIGKILL: nothing after it runs, the open transaction is never committed."""


class DiesAfterSending(OutboxBackend):
    def send(self, message) -> None:
        super().send(message)
        raise Killed


@pytest.fixture(autouse=True)
def own_instance(app, tmp_path):
    app.instance_path = str(tmp_path / "instance")


def queue_new_actions(app, factory, count: int) -> None:
    lead, owner = factory.user(Role.EXECUTIVE), factory.user(Role.WARD_MANAGER)
    walkabout = factory.walkabout(factory.ward(managers=(owner,)), lead, status=WalkaboutStatus.COMPLETED)
    concern = factory.concern(walkabout)
    action_ids = [factory.action(concern, owner, description=f"Action {n}").id for n in range(count)]
    with session_scope(app) as session:
        for action_id in action_ids:
            enqueue(
                session,
                kind=kinds.NEW_ACTION,
                recipient_id=owner.id,
                due_at=NOW,
                dedupe_key=f"new_action:{action_id}:{owner.id}",
                subject_type="action",
                subject_id=action_id,
            )


def test_a_message_resent_after_a_crash_is_written_once(app, factory):
    queue_new_actions(app, factory, 1)
    folder = Path(app.instance_path) / "outbox"
    with pytest.raises(Killed):
        dispatch_due(app, DiesAfterSending(folder), NOW)
    with session_scope(app) as session:
        assert session.exec(select(SentNotification)).one().status == NotificationStatus.PENDING

    dispatch_due(app, OutboxBackend(folder), NOW)

    files = sorted(folder.glob("*"))
    assert len(files) == 1 and files[0].suffix == ".eml"
    with session_scope(app) as session:
        assert session.exec(select(SentNotification)).one().status == NotificationStatus.SENT
    message = BytesParser(policy=policy.default).parsebytes(files[0].read_bytes())
    assert message["Message-ID"].endswith(f"@{mail_domain(app.config)}>")


def test_different_messages_get_different_message_ids(app, factory):
    queue_new_actions(app, factory, 3)
    folder = Path(app.instance_path) / "outbox"
    dispatch_due(app, OutboxBackend(folder), NOW)
    ids = {
        BytesParser(policy=policy.default).parsebytes(p.read_bytes())["Message-ID"]
        for p in folder.glob("*.eml")
    }
    assert len(ids) == 3


def test_a_rebuilt_database_never_reuses_a_message_id():
    from datetime import timedelta

    from walkabout.notify.compose import message_id

    first = SentNotification(id=1, dedupe_key="new_action:1:2", kind="new_action", due_at=NOW, created_at=NOW)
    again = SentNotification(id=1, dedupe_key="new_action:1:2", kind="new_action", due_at=NOW, created_at=NOW)
    rebuilt = SentNotification(
        id=1, dedupe_key="new_action:1:2", kind="new_action", due_at=NOW, created_at=NOW + timedelta(days=1)
    )
    assert message_id(first) == message_id(again) != message_id(rebuilt)
