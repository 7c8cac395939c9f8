"""Nothing false after an outage, nothing twice, fewer messages, one-click unsubscribe, and the
installation's identity (issue 16)."""

from datetime import UTC, date, datetime, time, timedelta
from email import policy
from email.parser import BytesParser
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlmodel import select

from walkabout import create_app
from walkabout.config import ConfigError, build_config
from walkabout.db import session_scope
from walkabout.models import NotificationPreference, NotificationStatus, Role, SentNotification, User
from walkabout.scheduler import daily_cycle, send_cycle
from walkabout.services import walkabouts as programme
from walkabout.services.notifications import DIGEST_CHOICE
from walkabout.services.walkabouts import WalkaboutDetails

from .conftest import login
from .mailcheck import BASE_URL, check_message, read_outbox, to, use_identity

LONDON = ZoneInfo("Europe/London")
DAY = date(2026, 12, 10)  # a Thursday


def at(day: date, clock: time) -> datetime:
    return datetime.combine(day, clock, tzinfo=LONDON).astimezone(UTC)


@pytest.fixture(autouse=True)
def setting(app, tmp_path):
    app.instance_path = str(tmp_path / "instance")
    use_identity(app)
    with time_machine.travel(at(DAY - timedelta(days=9), time(9, 0)), tick=False) as traveller:
        yield traveller


def subjects(app) -> list[str]:
    return [str(m["Subject"]).strip() for m in read_outbox(app)]


def rows(app, kind):
    with session_scope(app) as session:
        return list(session.exec(select(SentNotification).where(SentNotification.kind == kind)).all())


def schedule(app, lead, ward, start, attendee_ids=()) -> int:
    with app.app_context(), session_scope(app) as session:
        details = WalkaboutDetails(
            ward_id=ward.id, lead_id=lead.id, start=start, attendee_ids=list(attendee_ids)
        )
        return programme.schedule_walkabout(
            session, session.get(User, lead.id), details, confirm_clashes=True
        ).id


def test_no_reminder_says_something_false_after_a_two_day_outage(app, factory, setting):
    lead = factory.user(Role.EXECUTIVE, name="Lead Exec")
    manager = factory.user(Role.WARD_MANAGER, name="Ward Boss")
    ward = factory.ward(factory.site("Riverside"), "Beech Ward", managers=(manager,))
    other_ward = factory.ward(factory.site("Hilltop"), "Oak Ward", managers=(manager,))
    today = schedule(app, lead, ward, at(DAY, time(14, 30)))  # the team's "Tomorrow" falls in the outage
    early = schedule(app, lead, other_ward, at(DAY, time(10, 0)))  # less than 2 hours after the restart
    later = schedule(
        app, lead, ward, at(DAY + timedelta(days=6), time(11, 0))
    )  # its week-before: in the outage
    send_cycle(app)  # the invitations; 9 days ahead, no reminder yet
    assert len(read_outbox(app)) == 3

    setting.move_to(at(DAY - timedelta(days=7), time(15, 0)))
    send_cycle(app)  # a week before: the ward managers
    assert sorted(subjects(app)[3:]) == [
        "Walkabout on Beech Ward next week, on Thursday 10 Dec at 14:30",
        "Walkabout on Oak Ward next week, on Thursday 10 Dec at 10:00",
    ]

    setting.move_to(at(DAY - timedelta(days=2), time(8, 0)))
    send_cycle(app)  # the last run before the scheduler stops for two days
    before = len(read_outbox(app))
    setting.move_to(at(DAY, time(8, 30)))  # it comes back on the day itself
    send_cycle(app)
    fresh = read_outbox(app)[before:]
    said = sorted((to(m), str(m["Subject"]).strip()) for m in fresh)
    assert said == [
        ("Lead Exec", "Today at 14:30: walkabout on Beech Ward"),
        ("Ward Boss", "Walkabout on Beech Ward on Wednesday 16 Dec at 11:00"),
    ]
    body = next(m for m in fresh if to(m) == "Lead Exec").get_body(preferencelist=("plain",)).get_content()
    assert "today at 14:30" in body and "omorrow" not in body and "next week" not in body
    for message in fresh:
        check_message(message)
    skipped = {r.subject_id: r.last_error for r in rows(app, "reminder_team") if r.status == "skipped"}
    assert skipped == {early: "too late for a reminder: the walkabout starts within 2 hours"}
    assert {today, later} <= {r.subject_id for r in rows(app, "reminder_team")}


def test_the_digest_and_the_escalation_never_go_twice_after_a_restart(app, factory, setting):
    lead = factory.user(Role.EXECUTIVE, name="Lead Exec")
    owner = factory.user(Role.EXECUTIVE, name="Action Owner")
    ward = factory.ward(name="Beech Ward")
    walkabout = factory.walkabout(ward, lead, start=at(date(2026, 10, 1), time(10, 0)))
    concern = factory.concern(walkabout)
    factory.action(concern, owner, due=date(2026, 10, 20), description="Fix the sluice lock")
    monday = date(2026, 12, 7)
    setting.move_to(at(monday, time(8, 5)))
    daily_cycle(app)  # planned, then the scheduler stops before it sends
    setting.move_to(at(monday + timedelta(days=7), time(9, 0)))  # back a week later, on a Monday
    for _ in range(2):  # and restarted again
        daily_cycle(app)
        send_cycle(app)
    digests = [s for s in subjects(app) if "overdue" in s and not s.startswith("Escalation")]
    escalations = [s for s in subjects(app) if s.startswith("Escalation")]
    assert digests == ["1 overdue action to update"] and len(escalations) == 1
    stale = {r.dedupe_key: r.last_error for r in rows(app, "overdue_digest") if r.status == "skipped"}
    assert stale == {f"overdue_digest:{owner.id}:{monday}": "a digest for a later day replaces it"}
    assert [r.last_error for r in rows(app, "escalation") if r.status == "skipped"] == [
        "this week's escalation replaces it"
    ]


def test_new_actions_wait_for_the_digest_when_the_owner_chooses(app, client, factory, setting):
    lead = factory.user(Role.EXECUTIVE, name="Lead Exec")
    busy = factory.user(Role.WARD_MANAGER, name="Busy Manager")  # 10 open actions: the digest by default
    quiet = factory.user(Role.WARD_MANAGER, name="Quiet Manager")
    ward = factory.ward(name="Beech Ward", managers=(busy, quiet))
    walkabout = factory.walkabout(ward, lead, start=at(DAY - timedelta(days=12), time(10, 0)))
    concern = factory.concern(walkabout)
    long_ago = at(DAY - timedelta(days=30), time(9, 0))
    for n in range(10):
        factory.action(
            concern, busy, due=DAY + timedelta(days=30), description=f"Old {n}", created_at=long_ago
        )
    factory.action(concern, busy, due=DAY + timedelta(days=20), description="Replace the hoist battery")
    factory.action(concern, quiet, due=DAY + timedelta(days=20), description="Order more gloves")
    send_cycle(app)
    assert subjects(app) == ["New action for you: Beech Ward, due 30 Dec 2026"]
    assert to(read_outbox(app)[0]) == "Quiet Manager"

    setting.move_to(at(DAY - timedelta(days=8), time(8, 10)))
    daily_cycle(app)
    send_cycle(app)
    digest = read_outbox(app)[1]
    assert to(digest) == "Busy Manager" and str(digest["Subject"]).strip() == "1 new action to update"
    assert "Replace the hoist battery" in digest.get_body(preferencelist=("plain",)).get_content()

    # Quiet Manager chooses the digest too, on the email choices page.
    login(client, quiet.email)
    page = client.get("/account/notifications").get_data(as_text=True)
    assert 'id="new-actions-each" name="new_actions" value="each" checked' in page
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    keep = ["reminder_ward", "reminder_team", "summary", "new_action", "overdue_digest", "escalation"]
    client.post("/account/notifications", data={"csrf_token": token, "kinds": keep, "new_actions": "digest"})
    with session_scope(app) as session:
        assert session.get(NotificationPreference, (quiet.id, DIGEST_CHOICE)).enabled is True
    factory.action(concern, quiet, due=DAY + timedelta(days=20), description="Label the sharps bins")
    send_cycle(app)
    assert len(read_outbox(app)) == 2  # waits for tomorrow's digest


def test_one_click_unsubscribe(app, factory, setting):
    lead = factory.user(Role.EXECUTIVE, name="Lead Exec")
    manager = factory.user(Role.WARD_MANAGER, name="Ward Boss")
    ward = factory.ward(name="Beech Ward", managers=(manager,))
    schedule(app, lead, ward, at(DAY, time(14, 30)))
    setting.move_to(at(DAY - timedelta(days=7), time(15, 0)))
    send_cycle(app)
    invitation, reminder = sorted(read_outbox(app), key=lambda m: "next week" in str(m["Subject"]))
    assert "List-Unsubscribe" not in invitation  # invitations cannot be turned off this way
    assert reminder["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = reminder["List-Unsubscribe"].strip("<>")
    assert url.startswith(f"{BASE_URL}/unsubscribe/")
    path = urlsplit(url).path

    anonymous = app.test_client()  # a mail client: no session, no CSRF token
    page = anonymous.get(path)
    assert page.status_code == 200 and "Reminder to ward managers a week before" in page.get_data(
        as_text=True
    )
    with session_scope(app) as session:  # opening the link (a link scanner) changes nothing
        assert session.get(NotificationPreference, (manager.id, "reminder_ward")) is None
    response = anonymous.post(path, data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200 and "no longer get emails" in response.get_data(as_text=True)
    with session_scope(app) as session:
        assert session.get(NotificationPreference, (manager.id, "reminder_ward")).enabled is False
        assert session.get(NotificationPreference, (manager.id, "reminder_team")) is None
    assert anonymous.post(path).status_code == 200  # twice: still fine

    assert anonymous.post(path[:-3] + "abc").status_code == 404
    from walkabout.notify.unsubscribe import make_token
    from walkabout.services import notification_kinds as kinds

    for kind in (kinds.INVITATION, kinds.ESCALATION):
        forged = make_token(app.config, manager.id, kind)
        assert anonymous.post(f"/unsubscribe/{forged}").status_code == 404

    # The next week-before reminder is not sent to them.
    schedule(app, lead, ward, at(DAY + timedelta(days=7), time(14, 30)))
    setting.move_to(at(DAY, time(15, 0)))
    send_cycle(app)
    skipped = [r for r in rows(app, "reminder_ward") if r.status == NotificationStatus.SKIPPED]
    assert [r.last_error for r in skipped] == ["recipient opted out"]


def test_production_needs_the_base_url_and_a_real_mailbox(tmp_path, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "s" * 48)
    monkeypatch.setenv("WALKABOUT_ENV", "production")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/x.db")
    monkeypatch.delenv("WALKABOUT_BASE_URL", raising=False)
    monkeypatch.setenv("WALKABOUT_MAIL_FROM", "Walkabout <walkabout@riverside.nhs.uk>")
    with pytest.raises(ConfigError, match="WALKABOUT_BASE_URL"):
        create_app()
    monkeypatch.setenv("WALKABOUT_BASE_URL", "https://walkabout.riverside.nhs.uk/")
    for placeholder in ("", "Walkabout <walkabout@localhost>", "walkabout@example.org", "nobody"):
        monkeypatch.setenv("WALKABOUT_MAIL_FROM", placeholder)
        with pytest.raises(ConfigError, match="WALKABOUT_MAIL_FROM"):
            create_app()
    monkeypatch.setenv("WALKABOUT_MAIL_FROM", "Walkabout <walkabout@riverside.nhs.uk>")
    app = create_app()
    assert app.config["BASE_URL"] == "https://walkabout.riverside.nhs.uk"


def test_the_base_url_follows_port_when_it_is_not_set(tmp_path, monkeypatch):
    monkeypatch.delenv("WALKABOUT_BASE_URL", raising=False)
    monkeypatch.setenv("PORT", "5123")
    assert (
        build_config(tmp_path, {"ENV": "test", "SECRET_KEY": "x" * 40})["BASE_URL"] == "http://127.0.0.1:5123"
    )
    makefile = (Path(__file__).parent.parent / "Makefile").read_text()
    assert 'WALKABOUT_BASE_URL="$${WALKABOUT_BASE_URL:-http://127.0.0.1:$(PORT)}"' in makefile


def test_emails_parse_cleanly_with_the_configured_identity(app, factory, setting):
    """Every kind sent in this module is checked by check_message; here the raw bytes too."""
    lead = factory.user(Role.EXECUTIVE, name="Lead Exec")
    ward = factory.ward(name="Beech Ward")
    schedule(app, lead, ward, at(DAY, time(14, 30)))
    send_cycle(app)
    (raw,) = (Path(app.instance_path) / "outbox").glob("*.eml")
    message = BytesParser(policy=policy.default).parsebytes(raw.read_bytes())
    check_message(message)
    assert message["From"] == "Walkabout <walkabout@riverside.nhs.uk>"


def test_reminder_wording_says_next_week_only_for_next_week():
    from walkabout.notify.compose import relative_when

    sunday = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
    assert relative_when(at(date(2026, 12, 6), time(15, 0)), sunday, LONDON) == "today at 15:00"
    assert relative_when(at(date(2026, 12, 7), time(9, 0)), sunday, LONDON) == "tomorrow at 09:00"
    assert relative_when(at(date(2026, 12, 11), time(9, 0)), sunday, LONDON) == "on Friday 11 Dec at 09:00"
    assert (
        relative_when(at(date(2026, 12, 13), time(9, 0)), sunday, LONDON)
        == "next week, on Sunday 13 Dec at 09:00"
    )
    assert relative_when(at(date(2026, 12, 14), time(9, 0)), sunday, LONDON) == "on Monday 14 Dec at 09:00"
