"""seed-demo, create-user, db-upgrade and /healthz."""

from sqlmodel import select

from walkabout.db import session_scope
from walkabout.models import (
    Action,
    ActionStatus,
    Concern,
    ConcernKind,
    Role,
    User,
    Walkabout,
    WalkaboutStatus,
)

from .conftest import login


def test_seed_demo_creates_a_realistic_trust_with_working_logins(app, runner):
    result = runner.invoke(args=["seed-demo", "--password", "demo-password-123"])
    assert result.exit_code == 0, result.output
    for email in (
        "executive@example.org",
        "manager@example.org",
        "secretary@example.org",
        "admin@example.org",
    ):
        assert email in result.output
        assert login(app.test_client(), email, "demo-password-123").status_code == 303
    with session_scope(app) as session:
        statuses = set(session.exec(select(Action.status).distinct()).all())
        assert statuses == set(ActionStatus)
        walkabout_statuses = set(session.exec(select(Walkabout.status).distinct()).all())
        assert {
            WalkaboutStatus.PLANNED,
            WalkaboutStatus.COMPLETED,
            WalkaboutStatus.CANCELLED,
        } <= walkabout_statuses
        kinds = set(session.exec(select(Concern.kind).distinct()).all())
        assert kinds == set(ConcernKind)
        executive = session.exec(select(User).where(User.email == "executive@example.org")).one()
        assert executive.roles == {Role.EXECUTIVE}
        completed = session.exec(
            select(Walkabout.completed_at).where(Walkabout.completed_at.is_not(None))
        ).all()
        assert len({(when.year, when.month) for when in completed}) >= 5  # months of history


def test_seed_demo_refuses_a_database_with_users_unless_if_empty(runner, factory):
    factory.user()
    refused = runner.invoke(args=["seed-demo"])
    assert refused.exit_code != 0 and "already has users" in refused.output
    skipped = runner.invoke(args=["seed-demo", "--if-empty"])
    assert skipped.exit_code == 0 and "not added" in skipped.output


def test_demo_home_page_shows_todays_walkabout_and_actions(app, runner):
    runner.invoke(args=["seed-demo"])
    client = app.test_client()
    login(client, "executive@example.org", "walkabout-demo")
    page = client.get("/").get_data(as_text=True)
    assert "Beech Ward" in page  # today's walkabout
    manager = app.test_client()
    login(manager, "manager@example.org", "walkabout-demo")
    assert "open" in manager.get("/").get_data(as_text=True)


def test_create_user_generates_a_password_when_not_interactive(app, runner):
    result = runner.invoke(
        args=[
            "create-user",
            "--email",
            "Lead@Example.org",
            "--name",
            "Lead Nurse",
            "--role",
            "executive",
            "--role",
            "ward_manager",
        ]
    )
    assert result.exit_code == 0, result.output
    password = result.output.split("Password: ")[1].strip()
    assert login(app.test_client(), "lead@example.org", password).status_code == 303
    with session_scope(app) as session:
        user = session.exec(select(User).where(User.email == "lead@example.org")).one()
        assert user.roles == {Role.EXECUTIVE, Role.WARD_MANAGER}


def test_create_user_refuses_duplicates_bad_roles_and_bad_emails(runner, factory):
    existing = factory.user()
    duplicate = runner.invoke(
        args=["create-user", "--email", existing.email, "--name", "X", "--role", "admin"]
    )
    assert duplicate.exit_code != 0 and "already exists" in duplicate.output
    bad_role = runner.invoke(
        args=["create-user", "--email", "y@example.org", "--name", "Y", "--role", "king"]
    )
    assert bad_role.exit_code != 0
    bad_email = runner.invoke(
        args=["create-user", "--email", "not an email", "--name", "Z", "--role", "admin"]
    )
    assert bad_email.exit_code != 0 and "email" in bad_email.output.lower()


def test_healthz_checks_the_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_healthz_reports_an_unreachable_database(tmp_path):
    from .conftest import make_app

    broken = make_app(f"sqlite:///{tmp_path}/missing/dir/db.sqlite", create_tables=False)
    response = broken.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["database"] == "unreachable"


def test_board_secretary_home_leads_to_the_reports(app, runner):
    runner.invoke(args=["seed-demo"])
    client = app.test_client()
    login(client, "secretary@example.org", "walkabout-demo")
    page = client.get("/").get_data(as_text=True)
    assert "Board reporting" in page and 'href="/reports"' in page and 'href="/dashboard"' in page
