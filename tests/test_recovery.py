"""Account recovery (issue 20): password reset by email, administrator-set passwords
changed at the next sign-in, calendar addresses retired, seed-demo kept out of production."""

import re
import traceback
from datetime import timedelta
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest
from sqlmodel import select

from walkabout.db import get_db, session_scope
from walkabout.db_types import utcnow
from walkabout.models import AuditEvent, PasswordReset, Role, SentNotification, User
from walkabout.notify.backends import OutboxBackend
from walkabout.notify.dispatch import dispatch_due

from .conftest import csrf_from, login, make_app, post_form
from .factories import Factory

NEW_PASSWORD = "lantern orbit cabbage violin"


@pytest.fixture(autouse=True)
def own_outbox(app, tmp_path):
    app.instance_path = str(tmp_path / "instance")


def send_mail(app) -> list:
    folder = Path(app.instance_path) / "outbox"
    dispatch_due(app, OutboxBackend(folder), utcnow())
    return [
        BytesParser(policy=policy.default).parsebytes(p.read_bytes()) for p in sorted(folder.glob("*.eml"))
    ]


def ask_for_link(client, email: str):
    return post_form(client, "/password-reset", {"email": email})


def reset_link(app, client, email: str) -> str:
    assert ask_for_link(client, email).status_code == 303
    (message,) = [m for m in send_mail(app) if m["Subject"] == "Choose a new Walkabout password"]
    text = message.get_body(preferencelist=("plain",)).get_content()
    return re.search(r"http://127\.0\.0\.1:5000(/password-reset/\S+)", text).group(1)


def choose(client, link: str, password: str = NEW_PASSWORD):
    return post_form(client, link, {"new_password": password, "confirm_password": password})


def test_the_answer_is_the_same_whether_or_not_the_email_exists(app, factory):
    user = factory.user()
    known, unknown = app.test_client(), app.test_client()
    answers = [ask_for_link(known, user.email), ask_for_link(unknown, "nobody@example.org")]
    assert {(r.status_code, r.headers["Location"]) for r in answers} == {(303, "/login")}
    pages = [known.get("/login").get_data(as_text=True), unknown.get("/login").get_data(as_text=True)]
    assert "If an account uses that email address" in pages[0]
    # Each page's own token (a token fetched by another request may be signed a second later).
    assert pages[0] == pages[1].replace(csrf_from(pages[1]), csrf_from(pages[0]))  # nothing else differs
    with session_scope(app) as session:
        assert len(session.exec(select(PasswordReset)).all()) == 1


def test_a_reset_link_sets_the_password_once_and_ends_every_session(app, factory):
    user = factory.user()
    phone = app.test_client()
    login(phone, user.email, remember=True)
    client = app.test_client()
    link = reset_link(app, client, user.email)
    page = client.get(link)
    assert page.status_code == 200 and user.email in page.get_data(as_text=True)
    response = choose(client, link)
    assert response.status_code == 303 and response.headers["Location"] == "/login"
    phone.delete_cookie("session")
    assert phone.get("/").status_code == 302  # every session ended, remember-me included
    assert login(app.test_client(), user.email).status_code == 401
    assert login(app.test_client(), user.email, NEW_PASSWORD).status_code == 303

    again = choose(app.test_client(), link, "another long passphrase here")
    assert again.status_code == 400 and "expired or has already been used" in again.get_data(as_text=True)
    assert login(app.test_client(), user.email, NEW_PASSWORD).status_code == 303
    with session_scope(app) as session:
        verbs = session.exec(select(AuditEvent.verb).where(AuditEvent.entity_id == user.id)).all()
        assert "password_reset_by_email" in verbs


def test_a_late_link_is_refused(app, factory):
    user = factory.user()
    client = app.test_client()
    link = reset_link(app, client, user.email)
    with session_scope(app) as session:
        reset = session.exec(select(PasswordReset)).one()
        reset.created_at -= timedelta(minutes=31)
    assert client.get(link).status_code == 400
    refused = choose(client, link)
    assert refused.status_code == 400 and "Ask for a new one" in refused.get_data(as_text=True)
    assert login(app.test_client(), user.email, NEW_PASSWORD).status_code == 401


def test_forged_and_altered_links_are_refused(app, factory):
    user = factory.user()
    client = app.test_client()
    link = reset_link(app, client, user.email)
    for bad in (
        link[:-3] + "abc",
        "/password-reset/1",
        "/password-reset/" + "A" * 300,
        "/password-reset/%00",
    ):
        assert client.get(bad).status_code in (400, 404)
    assert client.get(link).status_code == 200  # still good


def test_a_weak_new_password_keeps_the_link_usable(app, factory):
    user = factory.user()
    client = app.test_client()
    link = reset_link(app, client, user.email)
    weak = choose(client, link, "password1234")
    assert weak.status_code == 400
    assert choose(client, link).status_code == 303


def test_a_reset_clears_the_sign_in_block_and_calendar_address(app, factory):
    user = factory.user()
    with session_scope(app) as session:
        session.get(User, user.id).calendar_token = "old-feed-token"
    for _ in range(6):
        login(app.test_client(), user.email, "wrong password!!")
    assert login(app.test_client(), user.email).status_code == 429
    client = app.test_client()
    choose(client, reset_link(app, client, user.email))
    assert login(app.test_client(), user.email, NEW_PASSWORD).status_code == 303
    assert app.test_client().get("/calendar/old-feed-token.ics").status_code == 404


def test_one_email_per_five_minutes_however_often_asked(app, factory):
    user = factory.user()
    client = app.test_client()
    for _ in range(4):
        ask_for_link(client, user.email)
    with session_scope(app) as session:
        assert (
            len(session.exec(select(SentNotification).where(SentNotification.kind == "password_reset")).all())
            == 1
        )


def test_deactivated_users_get_no_link(app, factory):
    user = factory.user(active=False)
    assert ask_for_link(app.test_client(), user.email).status_code == 303
    assert send_mail(app) == []


def test_an_administrator_set_password_must_be_changed_at_next_sign_in(app, factory):
    admin = factory.user(Role.ADMIN)
    admin_client = app.test_client()
    login(admin_client, admin.email)
    post_form(
        admin_client,
        "/admin/users/new",
        {
            "email": "new.nurse@example.org",
            "name": "New Nurse",
            "roles": ["ward_manager"],
            "password": NEW_PASSWORD,
        },
    )
    client = app.test_client()
    assert login(client, "new.nurse@example.org", NEW_PASSWORD).status_code == 303
    for path in ("/", "/actions", "/walkabouts"):
        response = client.get(path)
        assert response.status_code == 302 and response.headers["Location"] == "/account/password"
    page = client.get("/account/password").get_data(as_text=True)
    assert "Choose your own to continue" in page
    changed = post_form(
        client,
        "/account/password",
        {
            "current_password": NEW_PASSWORD,
            "new_password": "my very own passphrase",
            "confirm_password": "my very own passphrase",
        },
    )
    assert changed.status_code == 303
    assert client.get("/").status_code == 200

    with session_scope(app) as session:
        nurse_id = session.exec(select(User.id).where(User.email == "new.nurse@example.org")).one()
    form = f"/admin/users/{nurse_id}"
    post_form(admin_client, f"{form}/password", {"password": "an admin chosen passphrase"}, token_from=form)
    login(client, "new.nurse@example.org", "an admin chosen passphrase")
    assert client.get("/").headers["Location"] == "/account/password"


def test_the_calendar_address_changes_on_deactivation(app, factory):
    admin, user = factory.user(Role.ADMIN), factory.user()
    client = app.test_client()
    login(client, user.email)
    post_form(client, "/account/calendar", {})
    with session_scope(app) as session:
        token = session.get(User, user.id).calendar_token
    feed = f"/calendar/{token}.ics"
    assert app.test_client().get(feed).status_code == 200
    admin_client = app.test_client()
    login(admin_client, admin.email)
    form = f"/admin/users/{user.id}"
    post_form(admin_client, f"{form}/active", {"active": "0"}, token_from=form)
    post_form(admin_client, f"{form}/active", {"active": "1"}, token_from=form)
    assert app.test_client().get(feed).status_code == 404
    with session_scope(app) as session:
        assert session.get(User, user.id).calendar_token not in (None, token)


def test_seed_demo_refuses_production_without_force(app, database_url, monkeypatch):
    monkeypatch.setenv("WALKABOUT_BASE_URL", "https://walkabout.trust.test")
    monkeypatch.setenv("WALKABOUT_MAIL_FROM", "Walkabout <walkabout@trust.test>")
    production = make_app(database_url, create_tables=False, ENV="production")
    runner = production.test_cli_runner()
    refused = runner.invoke(args=["seed-demo", "--password", Factory.PASSWORD])
    assert refused.exit_code != 0 and "does not run in production" in refused.output
    with session_scope(production) as session:
        assert session.exec(select(User)).all() == []
    forced = runner.invoke(args=["seed-demo", "--password", Factory.PASSWORD, "--force"])
    assert forced.exit_code == 0, forced.output + "".join(traceback.format_exception(*forced.exc_info))
    get_db(production).engine.dispose()


def test_commands_are_wrapped_once_however_many_apps_are_built(database_url):
    """Building an app must not wrap the shared command objects again: a test worker builds hundreds."""
    from walkabout import cli

    before = cli.seed_demo.callback
    for _ in range(3):
        make_app(database_url, create_tables=False)
    assert cli.seed_demo.callback is before
