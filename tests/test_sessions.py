"""Server-side sessions (issue 20): sign-out ends copied cookies, no fixation, the
device list, `__Host-` cookies, one query per request for the user and roles."""

import re
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import event
from sqlmodel import select

from walkabout.db import get_db, session_scope
from walkabout.models import AuditEvent, Role, UserSession

from .conftest import csrf_token, login, make_app, post_form
from .factories import Factory

PHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1"
)
LAPTOP = " ".join(
    [
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64)",
        "AppleWebKit/537.36 (KHTML, like Gecko)",
        "Chrome/131.0 Safari/537.36",
    ]
)


def copy_cookies(source, target, names=("session", "remember_token", "known_device")):
    for name in names:
        cookie = source.get_cookie(name)
        if cookie is not None:
            target.set_cookie(name, cookie.value)


def records(app, user):
    with session_scope(app) as session:
        return session.exec(select(UserSession).where(UserSession.user_id == user.id)).all()


def test_a_copied_session_cookie_stops_working_after_sign_out(app, factory):
    user = factory.user()
    owner, thief = app.test_client(), app.test_client()
    login(owner, user.email)
    copy_cookies(owner, thief, names=("session",))
    assert thief.get("/").status_code == 200  # the copy works while the owner is signed in
    assert post_form(owner, "/logout", {}, token_from="/").status_code == 303
    assert thief.get("/").status_code == 302
    assert records(app, user) == []


def test_a_copied_remember_me_cookie_stops_working_after_sign_out(app, factory):
    user = factory.user()
    owner, thief = app.test_client(), app.test_client()
    login(owner, user.email, remember=True)
    copy_cookies(owner, thief, names=("remember_token",))
    assert thief.get("/").status_code == 200  # a remember-me cookie alone signs in...
    thief.delete_cookie("session")
    assert post_form(owner, "/logout", {}, token_from="/").status_code == 303
    assert thief.get("/").status_code == 302  # ...until its session is signed out


def test_sign_in_starts_a_new_session_and_csrf_token(app, factory):
    """Fixation: a cookie planted before sign-in (and its CSRF token) is worth nothing after."""
    user = factory.user()
    client = app.test_client()
    planted = csrf_token(client)
    with client.session_transaction() as before:
        planted_raw = before["csrf_token"]
    assert (
        client.post(
            "/login", data={"email": user.email, "password": Factory.PASSWORD, "csrf_token": planted}
        ).status_code
        == 303
    )
    with client.session_transaction() as after:
        assert after.get("csrf_token") != planted_raw
        first_id = after["_user_id"]
    refused = client.post("/logout", data={"csrf_token": planted})
    assert refused.status_code == 400 and client.get("/").status_code == 200
    post_form(client, "/logout", {}, token_from="/")
    login(client, user.email)
    with client.session_transaction() as again:
        assert again["_user_id"] != first_id  # a new session id at every sign-in


def test_the_account_page_lists_devices_and_signs_one_out(app, factory):
    user = factory.user()
    phone, laptop = app.test_client(), app.test_client()
    phone.environ_base["HTTP_USER_AGENT"] = PHONE
    laptop.environ_base["HTTP_USER_AGENT"] = LAPTOP
    login(phone, user.email)
    login(laptop, user.email)
    page = laptop.get("/account/password").get_data(as_text=True)
    assert "Mobile Safari on iOS" in page and "Chrome on Windows" in page
    assert "this device" in page
    phone_id = next(r.id for r in records(app, user) if r.device.startswith("Mobile Safari"))
    response = post_form(
        laptop, "/account/sessions/end", {"session_id": phone_id}, token_from="/account/password"
    )
    assert response.status_code == 303
    assert phone.get("/").status_code == 302
    assert laptop.get("/").status_code == 200
    with session_scope(app) as session:
        verbs = session.exec(select(AuditEvent.verb).where(AuditEvent.entity_id == user.id)).all()
        assert "session_ended" in verbs


def test_nobody_can_sign_out_another_users_device(app, factory):
    owner, other = factory.user(), factory.user()
    owner_client, other_client = app.test_client(), app.test_client()
    login(owner_client, owner.email)
    login(other_client, other.email)
    owner_session = records(app, owner)[0].id
    for value in (owner_session, "abc", "", "99999999999", "²"):
        response = post_form(other_client, "/account/sessions/end", {"session_id": value}, token_from="/")
        assert response.status_code == 404
    assert owner_client.get("/").status_code == 200


def test_signing_out_this_device_from_the_list_signs_out(app, factory):
    user = factory.user()
    client = app.test_client()
    login(client, user.email)
    (record,) = records(app, user)
    response = post_form(client, "/account/sessions/end", {"session_id": record.id}, token_from="/")
    assert response.status_code == 303 and response.headers["Location"] == "/login"
    assert client.get("/").status_code == 302


def test_sign_out_everywhere_ends_every_session(app, factory):
    user = factory.user()
    clients = [app.test_client() for _ in range(3)]
    for client in clients:
        login(client, user.email, remember=True)
    response = post_form(clients[0], "/account/sessions/end-all", {}, token_from="/account/password")
    assert response.status_code == 303
    for client in clients:
        client.delete_cookie("session")  # the remember-me cookies are ended too
        assert client.get("/").status_code == 302
    assert records(app, user) == []


def test_sign_out_everywhere_needs_a_sign_in(app, factory):
    client = app.test_client()
    token = csrf_token(client)
    for path in ("/account/sessions/end-all", "/account/sessions/end"):
        response = client.post(path, data={"csrf_token": token})
        assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_deactivation_and_password_reset_remove_the_records(app, factory):
    admin, user = factory.user(Role.ADMIN), factory.user()
    admin_client = app.test_client()
    login(admin_client, admin.email)
    login(app.test_client(), user.email)
    form = f"/admin/users/{user.id}"
    post_form(admin_client, f"{form}/password", {"password": "lantern orbit cabbage violin"}, token_from=form)
    assert records(app, user) == []
    login(app.test_client(), user.email, "lantern orbit cabbage violin")
    post_form(admin_client, f"{form}/active", {"active": "0"}, token_from=form)
    assert records(app, user) == []


def test_cookies_carry_the_host_prefix_over_https(database_url, factory):
    secure_app = make_app(database_url, create_tables=False, HTTPS=True)
    user = factory.user()
    client = secure_app.test_client()
    page = client.get("/login", base_url="https://localhost").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post(
        "/login",
        base_url="https://localhost",
        headers={"Referer": "https://localhost/login"},
        data={"email": user.email, "password": Factory.PASSWORD, "csrf_token": token, "remember": "y"},
    )
    assert response.status_code == 303
    cookies = response.headers.getlist("Set-Cookie")
    names = {cookie.split("=", 1)[0] for cookie in cookies}
    assert names == {"__Host-session", "__Host-remember_token", "__Host-known_device"}
    for cookie in cookies:  # what browsers require of a __Host- cookie
        assert "Secure" in cookie and "Path=/" in cookie and "Domain" not in cookie
    assert client.get("/", base_url="https://localhost").status_code == 200


@contextmanager
def statements(app):
    seen: list[str] = []

    def on_execute(conn, cursor, statement, *args):
        if not statement.startswith(("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")):
            seen.append(statement)

    engine = get_db(app).engine
    event.listen(engine, "before_cursor_execute", on_execute)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)


def test_one_query_loads_the_user_and_roles(app, factory):
    user = factory.user(Role.EXECUTIVE, Role.ADMIN)
    client = app.test_client()
    login(client, user.email)
    client.get("/account/calendar")
    with statements(app) as seen:
        response = client.get("/account/calendar")  # a page about the signed-in user alone
    assert response.status_code == 200
    about_people = [
        s for s in seen if re.search(r'\b(user_session|user_role|"?user"?)\b', s.split("WHERE")[0])
    ]
    assert len(about_people) == 1, seen
    assert "user_session" in about_people[0] and "user_role" in about_people[0]
    assert "sent_notification" in about_people[0]  # the unread-messages badge, in the same query
    assert "trust_branding" in about_people[0]  # and the trust's name and logo in the header
    assert len(seen) == 2, seen  # and the alarm choice
    assert sum("trust_branding" in s for s in seen) == 1, seen
    assert response.headers.getlist("Set-Cookie") == []  # nothing is re-signed on every request


def test_last_seen_is_written_at_most_every_five_minutes(app, factory):
    user = factory.user()
    client = app.test_client()
    login(client, user.email)
    (record,) = records(app, user)
    for _ in range(3):
        client.get("/account/calendar")
    assert records(app, user)[0].last_seen_at == record.last_seen_at
    with session_scope(app) as session:
        stored = session.get(UserSession, record.id)
        stored.last_seen_at -= timedelta(minutes=6)
    with statements(app) as seen:
        client.get("/account/calendar")
    writes = [s for s in seen if s.startswith("UPDATE")]
    assert len(writes) == 1 and "user_session" in writes[0]  # one UPDATE of "last seen"
    assert records(app, user)[0].last_seen_at > record.last_seen_at - timedelta(minutes=1)


def test_htmx_posts_keep_the_session_alive(app, factory):
    """Last seen is also written by write requests (in their own transaction)."""
    user = factory.user()
    client = app.test_client()
    login(client, user.email)
    with session_scope(app) as session:
        stored = session.exec(select(UserSession).where(UserSession.user_id == user.id)).one()
        stored.last_seen_at -= timedelta(minutes=6)
        stale = stored.last_seen_at
    post_form(client, "/notifications/read", {}, token_from="/")
    assert records(app, user)[0].last_seen_at > stale


def test_the_workers_update_check_cannot_undo_the_sign_in_page(app, factory):
    """After an idle sign-out the browser checks /sw.js with the cookie it held before the
    sign-in page was answered; that answer must not replace the page's CSRF token."""
    user = factory.user()
    client, worker = app.test_client(), app.test_client()
    login(client, user.email)
    with session_scope(app) as session:
        stored = session.exec(select(UserSession).where(UserSession.user_id == user.id)).one()
        stored.last_seen_at -= timedelta(hours=2)
    assert client.get("/").status_code == 302  # idle: signed out, sent to sign in
    copy_cookies(client, worker, names=("session",))  # what the worker's fetch carries
    token = csrf_token(client, "/login?next=/")
    for background in ("/sw.js", "/manifest.webmanifest"):
        answer = worker.get(background)
        assert answer.status_code == 200 and "Set-Cookie" not in answer.headers
    signed_in = client.post(
        "/login?next=/", data={"csrf_token": token, "email": user.email, "password": Factory.PASSWORD}
    )
    assert signed_in.status_code == 303 and signed_in.headers["Location"] == "/"
