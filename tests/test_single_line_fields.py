"""Single-line fields (names, titles, focus, guests, roles) refuse control characters,
and the migration cleans rows stored before, so invitations and calendar files work."""

from datetime import UTC, datetime, timedelta
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest
import time_machine
from icalendar import Calendar
from sqlalchemy import text
from sqlmodel import func, select

from walkabout import migrate
from walkabout.db import get_db, session_scope
from walkabout.models import AuditEvent, Role, Site, User, Walkabout, WalkaboutAttendee, WalkaboutStatus, Ward
from walkabout.scheduler import send_cycle
from walkabout.services import invitations

from .conftest import login, make_app, post_form
from .factories import Factory

HOSTILE = ["Beech\r\nWard", "Beech\nBcc: all@trust.nhs.uk", "Beech\tWard", "Beech\x07Ward", "Beech\u2028Ward"]


@pytest.mark.parametrize("name", HOSTILE)
def test_a_ward_name_with_a_control_character_is_refused(app, client, factory, name):
    site = factory.site("North Site")
    login(client, factory.user(Role.ADMIN).email)
    response = post_form(
        client,
        "/admin/wards/new",
        {"name": name, "site_id": site.id, "active": "y"},
        token_from="/admin/wards",
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "on one line" in body and "control characters" in body
    with session_scope(app) as session:
        assert session.exec(select(func.count()).select_from(Ward)).one() == 0


def test_every_single_line_form_field_refuses_a_line_break(app, client, factory):
    admin = factory.user(Role.ADMIN, Role.EXECUTIVE)
    ward = factory.ward(factory.site("North Site"), "Beech Ward")
    login(client, admin.email)
    day = (datetime.now(UTC) + timedelta(days=9)).date().isoformat()
    schedule = {"ward_id": ward.id, "lead_id": admin.id, "day": day, "at": "10:00", "duration_minutes": "60"}
    cases = [
        ("/admin/sites/new", {"name": "Hill\r\nside", "active": "y"}, "/admin/sites"),
        (
            "/admin/wards/new",
            {"name": "Oak", "specialty": "Care\nof the elderly", "site_id": ward.site_id},
            None,
        ),
        (
            "/admin/users/new",
            {"name": "Ann\r\nOther", "email": "ann@example.org", "password": "a long enough password 1"},
            None,
        ),
        ("/walkabouts/new", {**schedule, "repeat": "none", "focus": "Falls\r\nX-Injected: 1"}, None),
        ("/walkabouts/new", {**schedule, "repeat": "none", "guests": "Pat\nRep"}, None),
    ]
    for path, data, token_from in cases:
        response = post_form(client, path, data, token_from=token_from or path)
        body = response.get_data(as_text=True)
        assert response.status_code == 400, path
        assert "on one line" in body, path
    with session_scope(app) as session:
        assert session.exec(select(func.count()).select_from(Walkabout)).one() == 0
        assert session.exec(select(func.count()).select_from(Site)).one() == 1


def test_a_concerns_raised_by_role_refuses_a_line_break(app, client, factory):
    lead = factory.user(Role.EXECUTIVE)
    walkabout = factory.walkabout(factory.ward(), lead, status=WalkaboutStatus.IN_PROGRESS)
    login(client, lead.email)
    response = post_form(
        client,
        f"/walkabouts/{walkabout.id}/concerns",
        {"text": "Hoist sling frayed", "kind": "concern", "raised_by_role": "Staff\r\nnurse"},
        token_from=f"/walkabouts/{walkabout.id}/capture",
        content_type="multipart/form-data",
    )
    assert response.status_code == 400 and "on one line" in response.get_data(as_text=True)


# --- the migration ---------------------------------------------------------------------

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
BEFORE_CLEANING = "0003_sessions"  # the revision the cleaning migration (0004) follows


def back_to_before_cleaning(app) -> None:
    """Rows were written with today's models at head; go back to just before the cleaning."""
    migrate.downgrade(app, BEFORE_CLEANING)


def test_the_migration_cleans_stored_rows_so_invitations_and_calendar_files_work(database_url, tmp_path):
    app = make_app(database_url, create_tables=False)
    app.instance_path = str(tmp_path / "instance")
    migrate.upgrade(app)
    factory = Factory(app)
    lead = factory.user(Role.EXECUTIVE, name="Lead\r\nExec")
    ward = factory.ward(factory.site("North\tSite"), "Beech\r\nWard")
    walkabout = factory.walkabout(
        ward,
        lead,
        start=NOW + timedelta(days=20),
        updated_at=NOW,
        focus="Falls \x07\x1b review",
        guests="Pat\nRep",
    )
    with session_scope(app) as session:
        session.add(WalkaboutAttendee(walkabout_id=walkabout.id, user_id=lead.id))

    back_to_before_cleaning(app)
    migrate.upgrade(app)

    with session_scope(app) as session:
        assert session.get(Ward, ward.id).name == "Beech Ward"
        assert session.get(Site, ward.site_id).name == "North Site"
        assert session.get(User, lead.id).name == "Lead Exec"
        cleaned = session.get(Walkabout, walkabout.id)
        assert (cleaned.focus, cleaned.guests, cleaned.version) == ("Falls review", "Pat Rep", 2)
        audited = session.exec(select(AuditEvent).where(AuditEvent.entity_type == "walkabout")).one()
        assert audited.changes["focus"] == ["Falls \x07\x1b review", "Falls review"]
    client = app.test_client()
    login(client, lead.email)
    ics = client.get(f"/walkabouts/{walkabout.id}.ics")
    assert ics.status_code == 200
    assert "Beech Ward" in str(Calendar.from_ical(ics.data).walk("VEVENT")[0]["summary"])
    with time_machine.travel(NOW, tick=False):
        with session_scope(app) as session:  # invitations are planned by the change that needs them
            invitations.plan_walkabout(session, session.get(Walkabout, walkabout.id))
        assert send_cycle(app, NOW)["sent"] and send_cycle(app, NOW)["failed"] == 0
    folder = Path(app.instance_path) / "outbox"
    sent = [BytesParser(policy=policy.default).parsebytes(p.read_bytes()) for p in folder.glob("*.eml")]
    assert [message["Subject"] for message in sent] and sent[0]["Subject"].startswith(
        "Walkabout on Beech Ward"
    )
    get_db(app).engine.dispose()


def test_the_migration_keeps_names_unique(database_url):
    app = make_app(database_url, create_tables=False)
    migrate.upgrade(app)
    factory = Factory(app)
    site = factory.site("North Site")
    factory.ward(site, "Beech Ward")
    dirty = factory.ward(site, "Beech\nWard")
    back_to_before_cleaning(app)
    migrate.upgrade(app)
    with get_db(app).engine.connect() as connection:
        names = connection.execute(text("SELECT name FROM ward ORDER BY id")).scalars().all()
    assert names == ["Beech Ward", "Beech Ward (2)"] and dirty.id
    get_db(app).engine.dispose()
