"""The notification queue: planned once, sent once, retried, skipped when stale."""

import threading
from datetime import UTC, date, datetime, timedelta
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest
from sqlmodel import select

from walkabout.db import session_scope
from walkabout.models import (
    ActionStatus,
    NotificationPreference,
    NotificationStatus,
    Role,
    SentNotification,
    Walkabout,
    WalkaboutAttendee,
    WalkaboutStatus,
)
from walkabout.notify.backends import OutboxBackend, SendError, SMTPBackend
from walkabout.notify.dispatch import dispatch_due
from walkabout.scheduler import daily_cycle, send_cycle
from walkabout.services import notification_kinds as kinds
from walkabout.services.notifications import enqueue

from .conftest import login

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday, 09:00 in London (GMT)


def outbox(app) -> OutboxBackend:
    return OutboxBackend(Path(app.instance_path) / "outbox")


def read_outbox(app) -> list:
    folder = Path(app.instance_path) / "outbox"
    return [
        BytesParser(policy=policy.default).parsebytes(p.read_bytes()) for p in sorted(folder.glob("*.eml"))
    ]


@pytest.fixture(autouse=True)
def own_instance(app, tmp_path):
    app.instance_path = str(tmp_path / "instance")


def rows(app, kind=None):
    with session_scope(app) as session:
        query = select(SentNotification)
        if kind:
            query = query.where(SentNotification.kind == kind)
        return session.exec(query.order_by(SentNotification.id)).all()


@pytest.fixture
def trust(factory):
    lead = factory.user(Role.EXECUTIVE, name="Lead Exec")
    colleague = factory.user(Role.EXECUTIVE, name="Other Exec")
    manager = factory.user(Role.WARD_MANAGER, name="Ward Boss")
    ward = factory.ward(name="Beech Ward", managers=(manager,))
    return lead, colleague, manager, ward


def add_attendee(app, walkabout, user):
    with session_scope(app) as session:
        session.add(WalkaboutAttendee(walkabout_id=walkabout.id, user_id=user.id))


def test_enqueue_twice_queues_once(app, factory):
    user = factory.user()
    with session_scope(app) as session:
        for _ in range(3):
            enqueue(session, kind=kinds.OVERDUE_DIGEST, recipient_id=user.id, dedupe_key="k:1", due_at=NOW)
    assert len(rows(app)) == 1


def test_reminders_go_a_week_before_to_managers_and_a_day_before_to_the_team(app, factory, trust):
    lead, colleague, manager, ward = trust
    start = NOW + timedelta(days=8)
    walkabout = factory.walkabout(ward, lead, start=start, updated_at=NOW - timedelta(days=30))
    add_attendee(app, walkabout, colleague)
    concern = factory.concern(walkabout)
    factory.action(
        concern,
        manager,
        due=date(2026, 2, 1),
        description="Fix the sluice lock",
        created_at=NOW - timedelta(days=40),
    )

    send_cycle(app, NOW)  # 8 days before: too early for anything
    assert read_outbox(app) == []
    send_cycle(app, start - timedelta(days=7) + timedelta(minutes=1))
    sent = read_outbox(app)
    assert [m["To"].addresses[0].display_name for m in sent] == ["Ward Boss"]
    assert "next week" in sent[0]["Subject"]
    body = sent[0].get_body(preferencelist=("plain",)).get_content()
    assert "Fix the sluice lock" in body and "OVERDUE" in body and f"/walkabouts/{walkabout.id}" in body

    send_cycle(app, start - timedelta(days=1) + timedelta(minutes=1))
    team = sorted(
        m["To"].addresses[0].display_name for m in read_outbox(app) if m["Subject"].startswith("Tomorrow")
    )
    assert team == ["Lead Exec", "Other Exec"]
    send_cycle(app, start - timedelta(hours=2))  # runs again: nothing new
    assert len(read_outbox(app)) == 3


def test_a_moved_or_cancelled_walkabout_gets_no_stale_reminder(app, factory, trust):
    lead, _colleague, _manager, ward = trust
    start = NOW + timedelta(days=3)
    walkabout = factory.walkabout(ward, lead, start=start, updated_at=NOW - timedelta(days=30))
    with session_scope(app) as session:
        from walkabout.services.notification_plans import plan_reminders

        plan_reminders(session, NOW)
    with session_scope(app) as session:
        moved = session.get(Walkabout, walkabout.id)
        moved.scheduled_start = start + timedelta(days=14)  # moved before the reminder went out
    dispatch_due(app, outbox(app), NOW + timedelta(minutes=1))
    assert read_outbox(app) == []
    assert {r.status for r in rows(app, "reminder_ward")} == {NotificationStatus.SKIPPED}
    assert "moved" in rows(app, "reminder_ward")[0].last_error

    other = factory.walkabout(ward, lead, start=start, updated_at=NOW - timedelta(days=30))
    with session_scope(app) as session:
        plan_reminders(session, NOW)
        session.get(Walkabout, other.id).status = WalkaboutStatus.CANCELLED
    dispatch_due(app, outbox(app), NOW + timedelta(minutes=1))
    assert read_outbox(app) == []


def test_new_action_notice_goes_to_the_owner_once(app, factory, trust):
    lead, _colleague, manager, ward = trust
    walkabout = factory.walkabout(
        ward,
        lead,
        start=NOW - timedelta(days=1),
        status=WalkaboutStatus.COMPLETED,
        updated_at=NOW - timedelta(days=30),
    )
    action = factory.action(
        factory.concern(walkabout, text="Hand gel <empty>"),
        manager,
        description="Refill <b>gel</b>",
        created_at=NOW - timedelta(hours=1),
    )
    send_cycle(app, NOW)
    send_cycle(app, NOW + timedelta(minutes=1))
    sent = read_outbox(app)
    assert len(sent) == 1 and sent[0]["To"].addresses[0].username == manager.email.split("@")[0]
    html = sent[0].get_body(preferencelist=("html",)).get_content()
    assert "Refill &lt;b&gt;gel&lt;/b&gt;" in html and "<b>gel</b>" not in html  # user text escaped
    assert f"/actions/{action.id}" in html


def test_opt_out_is_respected(app, factory, trust):
    lead, _colleague, manager, ward = trust
    walkabout = factory.walkabout(
        ward, lead, start=NOW - timedelta(days=1), updated_at=NOW - timedelta(days=30)
    )
    factory.action(factory.concern(walkabout), manager, created_at=NOW - timedelta(hours=1))
    with session_scope(app) as session:
        session.add(NotificationPreference(user_id=manager.id, kind="new_action", enabled=False))
    send_cycle(app, NOW)
    assert read_outbox(app) == []
    assert rows(app, "new_action")[0].last_error == "recipient opted out"


def test_daily_digest_only_when_overdue_from_0800_london_across_dst(app, factory, trust):
    lead, _colleague, manager, ward = trust
    walkabout = factory.walkabout(
        ward, lead, start=NOW - timedelta(days=40), updated_at=NOW - timedelta(days=40)
    )
    factory.action(
        factory.concern(walkabout), manager, due=date(2026, 3, 20), created_at=NOW - timedelta(days=40)
    )
    # 30 March 2026 is the first day of British Summer Time: 08:00 in London is 07:00 UTC.
    before = datetime(2026, 3, 30, 6, 59, tzinfo=UTC)
    after = datetime(2026, 3, 30, 7, 0, tzinfo=UTC)
    daily_cycle(app, before)
    assert rows(app, "overdue_digest") == []
    daily_cycle(app, after)
    daily_cycle(app, after + timedelta(minutes=10))
    send_cycle(app, after + timedelta(minutes=11))
    digests = [m for m in read_outbox(app) if "overdue action" in m["Subject"]]
    assert len(digests) == 1 and digests[0]["Subject"] == "1 overdue action to update"
    assert "10 days overdue" in digests[0].get_body(preferencelist=("plain",)).get_content()

    nobody_overdue = factory.user(Role.WARD_MANAGER)
    assert all(r.recipient_id != nobody_overdue.id for r in rows(app))


def test_weekly_escalation_to_the_lead_once_a_week(app, factory, trust):
    lead, _colleague, manager, ward = trust
    walkabout = factory.walkabout(
        ward, lead, start=NOW - timedelta(days=60), updated_at=NOW - timedelta(days=60)
    )
    factory.action(factory.concern(walkabout), manager, due=NOW.date() - timedelta(days=20))
    factory.action(factory.concern(walkabout), manager, due=NOW.date() - timedelta(days=3))  # not yet 14 days
    for hours in (0, 24, 48):  # Monday, Tuesday, Wednesday
        daily_cycle(app, NOW + timedelta(hours=hours))
        send_cycle(app, NOW + timedelta(hours=hours, minutes=1))
    escalations = [m for m in read_outbox(app) if m["Subject"].startswith("Escalation")]
    assert len(escalations) == 1 and escalations[0]["To"].addresses[0].display_name == "Lead Exec"
    assert "1 action overdue by more than 14 days" in escalations[0]["Subject"]
    daily_cycle(app, NOW + timedelta(days=7))  # next Monday: a new one
    assert len(rows(app, "escalation")) == 2


class FailingBackend:
    def __init__(self):
        self.calls = 0

    def send(self, message):
        self.calls += 1
        raise SendError("ConnectionRefusedError: SMTP server down")


def test_smtp_failures_are_retried_with_backoff_then_marked_failed(app, client, factory, trust):
    lead, _colleague, _manager, ward = trust
    user = factory.user(Role.ADMIN)
    walkabout = factory.walkabout(
        ward, lead, start=NOW - timedelta(days=40), updated_at=NOW - timedelta(days=40)
    )
    factory.action(
        factory.concern(walkabout), user, due=date(2026, 2, 1), created_at=NOW - timedelta(days=40)
    )
    with session_scope(app) as session:
        enqueue(
            session,
            kind=kinds.OVERDUE_DIGEST,
            recipient_id=user.id,
            dedupe_key=f"overdue_digest:{user.id}:2026-03-02",
            due_at=NOW,
        )
    backend = FailingBackend()
    moment = NOW
    for attempt in range(1, 6):
        dispatch_due(app, backend, moment)
        note = rows(app)[0]
        assert note.attempts == attempt
        moment = (note.next_attempt_at or moment) + timedelta(seconds=1)
        dispatch_due(app, backend, moment - timedelta(seconds=30))  # before the backoff: not tried
    assert backend.calls == 5
    assert rows(app)[0].status == NotificationStatus.FAILED
    login(client, user.email)
    page = client.get("/admin/outbox").get_data(as_text=True)
    assert "failed after 5 attempts" in page and "SMTP server down" in page


def test_smtp_backend_turns_connection_errors_into_send_errors(monkeypatch):
    import smtplib

    def refused(*args, **kwargs):
        raise ConnectionRefusedError("connection refused")

    monkeypatch.setattr(smtplib, "SMTP", refused)
    with pytest.raises(SendError, match="ConnectionRefusedError"):
        SMTPBackend("mail.invalid", 587, "starttls", None, None).send(None)


def test_invalid_recipient_email_is_not_sent(app, factory):
    user = factory.user(email="broken-address")
    with session_scope(app) as session:
        enqueue(
            session, kind=kinds.INVITATION, recipient_id=user.id, dedupe_key="invitation:1:1:0", due_at=NOW
        )
    dispatch_due(app, outbox(app), NOW)
    assert read_outbox(app) == [] and "not valid" in rows(app)[0].last_error


def test_two_dispatchers_at_once_send_each_message_once(app, factory, trust):
    lead, _colleague, manager, ward = trust
    walkabout = factory.walkabout(
        ward, lead, start=NOW - timedelta(days=2), updated_at=NOW - timedelta(days=30)
    )
    concern = factory.concern(walkabout)
    for i in range(12):
        factory.action(concern, manager, description=f"Action {i}", created_at=NOW - timedelta(hours=1))
    with session_scope(app) as session:
        from walkabout.services.notification_plans import plan_events
        from walkabout.services.notifications import DIGEST_CHOICE

        # 12 open actions would fold them into the digest by default: this manager chose each at once.
        session.add(NotificationPreference(user_id=manager.id, kind=DIGEST_CHOICE, enabled=False))

        plan_events(session, NOW)
    barrier = threading.Barrier(2)

    def dispatcher():
        barrier.wait()
        dispatch_due(app, outbox(app), NOW)

    threads = [threading.Thread(target=dispatcher) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [r.last_error for r in rows(app)] == [None] * 12
    assert len(read_outbox(app)) == 12
    assert {r.status for r in rows(app)} == {NotificationStatus.SENT}


def test_inbox_shows_sent_messages_and_marks_them_read(app, client, factory, trust):
    lead, _colleague, manager, ward = trust
    walkabout = factory.walkabout(
        ward, lead, start=NOW - timedelta(days=1), updated_at=NOW - timedelta(days=30)
    )
    factory.action(factory.concern(walkabout), manager, created_at=NOW - timedelta(hours=1))
    send_cycle(app, NOW)
    login(client, manager.email)
    home = client.get("/").get_data(as_text=True)
    assert "Messages (1)" in home
    page = client.get("/notifications").get_data(as_text=True)
    assert "New action for you" in page
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    assert client.post("/notifications/read", data={"csrf_token": token}).status_code == 303
    assert "Messages (1)" not in client.get("/").get_data(as_text=True)


def test_preferences_page_saves_choices(app, client, factory):
    user = factory.user(Role.WARD_MANAGER)
    login(client, user.email)
    page = client.get("/account/notifications").get_data(as_text=True)
    assert "Always sent: Walkabout invitations and changes." in page
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    keep = [k.key for k in kinds.OPTIONAL if k.key != "overdue_digest"]
    response = client.post(
        "/account/notifications", data={"csrf_token": token, "kinds": [*keep, "invitation", "bogus"]}
    )
    assert response.status_code == 303
    with session_scope(app) as session:
        saved = session.exec(
            select(NotificationPreference).where(NotificationPreference.user_id == user.id)
        ).all()
        assert [(p.kind, p.enabled) for p in saved] == [("overdue_digest", False)]


def test_outbox_page_is_for_admins_and_shows_messages(app, client, factory):
    admin = factory.user(Role.ADMIN)
    manager = factory.user(Role.WARD_MANAGER)
    with session_scope(app) as session:
        enqueue(session, kind=kinds.OVERDUE_DIGEST, recipient_id=manager.id, dedupe_key="x", due_at=NOW)
    login(client, manager.email)
    assert client.get("/admin/outbox").status_code == 403
    login(app.test_client(), admin.email)
    admin_client = app.test_client()
    login(admin_client, admin.email)
    assert "Nothing has been sent yet." in admin_client.get("/admin/outbox").get_data(as_text=True)
    outbox(app).send(_simple_message())
    page = admin_client.get("/admin/outbox").get_data(as_text=True)
    assert "Hello &lt;there&gt;" in page
    name = outbox(app).list()[0]["name"]
    message_page = admin_client.get(f"/admin/outbox/{name}").get_data(as_text=True)
    assert "Body text" in message_page
    assert admin_client.get("/admin/outbox/..%2Fsecret_key").status_code == 404
    assert admin_client.get("/admin/outbox/nope.eml").status_code == 404


def _simple_message():
    from email.message import EmailMessage

    message = EmailMessage()
    message["Subject"], message["To"], message["From"] = "Hello <there>", "a@example.org", "w@example.org"
    message["Date"] = "Mon, 02 Mar 2026 09:00:00 +0000"
    message.set_content("Body text")
    return message


def test_action_closed_before_sending_is_skipped(app, factory, trust):
    lead, _colleague, manager, ward = trust
    walkabout = factory.walkabout(
        ward, lead, start=NOW - timedelta(days=1), updated_at=NOW - timedelta(days=30)
    )
    factory.action(
        factory.concern(walkabout),
        manager,
        created_at=NOW - timedelta(hours=1),
        status=ActionStatus.COMPLETED,
    )
    send_cycle(app, NOW)
    assert read_outbox(app) == []


def test_completed_walkabout_sends_the_summary_pdf_to_the_ward_managers(app, factory, trust):
    lead, _colleague, _manager, ward = trust
    walkabout = factory.walkabout(
        ward,
        lead,
        start=NOW - timedelta(hours=2),
        status=WalkaboutStatus.COMPLETED,
        completed_at=NOW - timedelta(hours=1),
        updated_at=NOW - timedelta(days=3),
    )
    factory.concern(walkabout, text="Broken <script>alert(1)</script> hoist")
    send_cycle(app, NOW)
    summaries = [m for m in read_outbox(app) if m["Subject"].startswith("Follow-up")]
    assert len(summaries) == 1 and summaries[0]["To"].addresses[0].display_name == "Ward Boss"
    pdf = next(summaries[0].iter_attachments())
    assert pdf.get_content_type() == "application/pdf" and pdf.get_content().startswith(b"%PDF")
    send_cycle(app, NOW + timedelta(minutes=1))
    assert len([m for m in read_outbox(app) if m["Subject"].startswith("Follow-up")]) == 1


def test_monthly_board_pack_is_built_once_and_sent_to_board_secretaries(app, factory, trust):
    from walkabout.models import BoardPack, BoardPackStatus

    lead, _colleague, _manager, ward = trust
    secretary = factory.user(Role.BOARD_SECRETARY, name="Board Sec")
    factory.walkabout(
        ward,
        lead,
        start=datetime(2026, 3, 10, 14, 0, tzinfo=UTC),
        status=WalkaboutStatus.COMPLETED,
        updated_at=NOW - timedelta(days=30),
    )
    # 1 April 2026 is in British Summer Time: 07:00 in London is 06:00 UTC.
    daily_cycle(app, datetime(2026, 4, 1, 5, 59, tzinfo=UTC))
    with session_scope(app) as session:
        assert session.exec(select(BoardPack)).all() == []
    first_run = datetime(2026, 4, 1, 6, 0, tzinfo=UTC)
    daily_cycle(app, first_run)
    daily_cycle(app, first_run + timedelta(minutes=10))  # runs again: nothing new
    send_cycle(app, first_run + timedelta(minutes=11))
    with session_scope(app) as session:
        packs = session.exec(select(BoardPack)).all()
        assert [(p.month, p.status, p.requested_by_id) for p in packs] == [
            ("2026-03", BoardPackStatus.READY, None)
        ]
    sent = [m for m in read_outbox(app) if m["Subject"] == "Board pack for March 2026"]
    assert len(sent) == 1 and sent[0]["To"].addresses[0].display_name == "Board Sec"
    attachment = next(sent[0].iter_attachments())
    assert attachment.get_filename() == "walkabout-board-pack-2026-03.pdf"
    assert attachment.get_content().startswith(b"%PDF")
    assert secretary.id == rows(app, "board_pack")[0].recipient_id


def test_a_board_pack_left_running_by_a_killed_scheduler_is_built_again(app, factory, trust):
    from walkabout.db_types import utcnow
    from walkabout.models import BoardPack, BoardPackStatus

    factory.user(Role.BOARD_SECRETARY)
    with session_scope(app) as session:
        session.add(
            BoardPack(
                month="2026-03",
                version=1,
                status=BoardPackStatus.RUNNING,
                requested_at=utcnow() - timedelta(hours=1),
            )
        )
    daily_cycle(app, datetime(2026, 4, 1, 6, 0, tzinfo=UTC))
    with session_scope(app) as session:
        packs = session.exec(select(BoardPack).order_by(BoardPack.version)).all()
        assert [(p.version, p.status) for p in packs] == [
            (1, BoardPackStatus.FAILED),
            (2, BoardPackStatus.READY),
        ]
    assert len(rows(app, "board_pack")) == 1
