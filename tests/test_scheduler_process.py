"""The real scheduler process, for a few seconds, against a temporary database."""

import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

from sqlmodel import select

from walkabout.db import session_scope
from walkabout.db_types import utcnow
from walkabout.models import NotificationStatus, Role, SentNotification

from .conftest import TEST_SECRET


def test_scheduler_process_sends_a_due_message_to_the_outbox(app, factory, database_url, tmp_path):
    lead = factory.user(Role.EXECUTIVE)
    manager = factory.user(Role.WARD_MANAGER, name="Ward Boss")
    ward = factory.ward(managers=(manager,))
    walkabout = factory.walkabout(ward, lead, start=utcnow() - timedelta(days=1))
    factory.action(factory.concern(walkabout), manager, due=factory.today() + timedelta(days=7))

    instance = tmp_path / "scheduler-instance"
    env = dict(
        os.environ,
        WALKABOUT_ENV="test",
        SECRET_KEY=TEST_SECRET,
        DATABASE_URL=database_url,
        WALKABOUT_INSTANCE_PATH=str(instance),
    )
    flask = Path(sys.executable).with_name("flask")
    process = subprocess.Popen(
        [str(flask), "--app", "walkabout", "scheduler"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not sent(app):
            assert process.poll() is None, process.stdout.read()
            time.sleep(0.2)
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=30)
    messages = list((instance / "outbox").glob("*.eml"))
    assert len(messages) == 1, output
    text = messages[0].read_text()
    assert "New action for you" in text and "Ward Boss" in text
    assert "scheduler started" in output
    assert sent(app) == ["new_action"]


def sent(app) -> list[str]:
    """Kinds of the notifications marked sent in the database."""
    with session_scope(app, write=False) as session:
        return list(
            session.exec(
                select(SentNotification.kind).where(SentNotification.status == NotificationStatus.SENT)
            ).all()
        )
