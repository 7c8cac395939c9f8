"""No lockout by strangers (issue 20): known devices, counting before the hash
check, the password-change check, and ways out of a block."""

import threading
from pathlib import Path

import pytest
from sqlmodel import select

from walkabout.db import get_db, session_scope
from walkabout.models import AuditEvent, LoginThrottle, Role, SentNotification
from walkabout.notify.backends import OutboxBackend
from walkabout.notify.dispatch import dispatch_due

from .conftest import csrf_token, login, make_app, post_form
from .factories import Factory

WRONG = "not the password at all"
NEW_PASSWORD = "lantern orbit cabbage violin"


@pytest.fixture
def proxied(database_url, app):
    """The same database behind one trusted proxy: X-Forwarded-For is the client's address."""
    proxied = make_app(database_url, create_tables=False, PROXY_FIX_HOPS=1)
    yield proxied
    get_db(proxied).engine.dispose()


def sign_in_from(client, address: str, email: str, password: str = Factory.PASSWORD):
    headers = {"X-Forwarded-For": address}
    token = csrf_token(client)
    return client.post(
        "/login", data={"email": email, "password": password, "csrf_token": token}, headers=headers
    )


def known_device(app, email: str, address: str = "198.51.100.7"):
    """A browser the owner signed in on (and out of) before."""
    client = app.test_client()
    assert sign_in_from(client, address, email).status_code == 303
    post_form(client, "/logout", {}, token_from="/")
    return client


def test_a_strangers_failures_from_many_addresses_do_not_lock_the_owner_out(proxied, factory):
    owner = factory.user()
    phone = known_device(proxied, owner.email)
    stranger = proxied.test_client()
    answers = [sign_in_from(stranger, f"203.0.113.{i}", owner.email, WRONG).status_code for i in range(40)]
    assert answers[:6] == [401] * 6 and set(answers[6:]) == {429}

    assert sign_in_from(phone, "198.51.100.7", owner.email).status_code == 303
    # A device the owner never used is still slowed, even with the right password.
    assert sign_in_from(proxied.test_client(), "198.51.100.8", owner.email).status_code == 429
    assert sign_in_from(stranger, "203.0.113.99", owner.email).status_code == 429


def test_a_shared_address_full_of_failures_does_not_block_known_devices(proxied, factory):
    owner, colleague = factory.user(), factory.user()
    phone = known_device(proxied, owner.email, "192.0.2.1")
    ward_pc = proxied.test_client()
    for i in range(proxied.config["LOGIN_FREE_FAILURES_PER_ADDRESS"] + 1):
        sign_in_from(ward_pc, "192.0.2.1", f"guess{i}@example.org", WRONG)
    assert sign_in_from(proxied.test_client(), "192.0.2.1", colleague.email).status_code == 429
    assert sign_in_from(phone, "192.0.2.1", owner.email).status_code == 303


def test_failures_on_a_known_device_block_only_that_device(app, factory):
    owner = factory.user()
    phone = known_device(app, owner.email)
    for _ in range(6):
        assert login(phone, owner.email, WRONG).status_code == 401
    assert login(phone, owner.email).status_code == 429
    assert login(app.test_client(), owner.email).status_code == 303  # the account is not blocked


def parallel_posts(clients, path: str, data: list[dict]) -> list[int]:
    """POST from every client at the same moment (threads released by one barrier)."""
    barrier = threading.Barrier(len(clients))
    statuses: list[int] = [0] * len(clients)

    def post(i):
        barrier.wait()
        statuses[i] = clients[i].post(path, data=data[i]).status_code

    threads = [threading.Thread(target=post, args=(i,)) for i in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def test_sixteen_parallel_guesses_get_no_more_checks_than_allowed(app, factory):
    owner = factory.user()
    clients = [app.test_client() for _ in range(16)]
    data = [
        {"email": owner.email, "password": f"{WRONG} {i}", "csrf_token": csrf_token(c)}
        for i, c in enumerate(clients)
    ]
    statuses = parallel_posts(clients, "/login", data)
    allowed = app.config["LOGIN_FREE_FAILURES_PER_ACCOUNT"] + 1
    assert statuses.count(401) == allowed and statuses.count(429) == 16 - allowed
    with session_scope(app) as session:
        assert session.get(LoginThrottle, f"account:{owner.email}").failures == allowed


def test_wrong_current_passwords_on_the_password_page_count(app, factory):
    owner = factory.user()
    client = app.test_client()
    login(client, owner.email)

    def change(current):
        return post_form(
            client,
            "/account/password",
            {"current_password": current, "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD},
        )

    for _ in range(6):
        assert change(WRONG).status_code == 400
    blocked = change(Factory.PASSWORD)
    assert blocked.status_code == 429 and "Too many failed attempts" in blocked.get_data(as_text=True)
    assert login(app.test_client(), owner.email, NEW_PASSWORD).status_code == 401  # not changed


def test_sixteen_parallel_current_password_guesses_get_six_checks(app, factory):
    owner = factory.user()
    first = app.test_client()
    login(first, owner.email)
    clients = [first] + [app.test_client() for _ in range(15)]
    token = csrf_token(first, "/account/password")
    for client in clients[1:]:  # one stolen session, sixteen connections
        for name in ("session", "known_device"):
            client.set_cookie(name, first.get_cookie(name).value)
    data = [
        {
            "current_password": f"{WRONG} {i}",
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
            "csrf_token": token,
        }
        for i in range(16)
    ]
    statuses = parallel_posts(clients, "/account/password", data)
    assert statuses.count(400) == 6 and statuses.count(429) == 10


def block(app, email: str) -> None:
    client = app.test_client()
    for _ in range(6):
        login(client, email, WRONG)
    assert login(app.test_client(), email).status_code == 429


def test_an_administrator_can_clear_a_block(app, factory):
    admin, owner = factory.user(Role.ADMIN), factory.user(Role.WARD_MANAGER)
    block(app, owner.email)
    admin_client = app.test_client()
    login(admin_client, admin.email)
    page = admin_client.get(f"/admin/users/{owner.id}").get_data(as_text=True)
    assert "6 failed sign-in attempts" in page and "Clear the block" in page
    response = post_form(
        admin_client, f"/admin/users/{owner.id}/unblock", {}, token_from=f"/admin/users/{owner.id}"
    )
    assert response.status_code == 303
    assert login(app.test_client(), owner.email).status_code == 303
    with session_scope(app) as session:
        verbs = session.exec(select(AuditEvent.verb).where(AuditEvent.entity_id == owner.id)).all()
        assert "sign_in_block_cleared" in verbs


def test_a_password_reset_by_an_administrator_clears_the_block(app, factory):
    admin, owner = factory.user(Role.ADMIN), factory.user()
    block(app, owner.email)
    admin_client = app.test_client()
    login(admin_client, admin.email)
    form = f"/admin/users/{owner.id}"
    post_form(admin_client, f"{form}/password", {"password": NEW_PASSWORD}, token_from=form)
    assert login(app.test_client(), owner.email, NEW_PASSWORD).status_code == 303


def test_the_owner_is_emailed_about_repeated_failures_once_a_day(app, factory, tmp_path):
    owner = factory.user(name="Olu Owner")
    stranger = app.test_client()
    for _ in range(12):
        login(stranger, owner.email, WRONG)
    with session_scope(app) as session:
        notes = session.exec(
            select(SentNotification).where(SentNotification.kind == "sign_in_failures")
        ).all()
        assert len(notes) == 1 and notes[0].recipient_id == owner.id
    app.instance_path = str(tmp_path / "instance")
    from walkabout.db_types import utcnow

    dispatch_due(app, OutboxBackend(Path(app.instance_path) / "outbox"), utcnow())
    (message,) = list((Path(app.instance_path) / "outbox").glob("*.eml"))
    text = message.read_text()
    assert owner.email in text and "Failed attempts to sign in" in text
    assert "6 failed attempts" in text and "not affected" in text


def test_unknown_emails_are_throttled_alike(app):
    client = app.test_client()
    answers = [login(client, "nobody@example.org", WRONG).status_code for _ in range(7)]
    assert answers == [401] * 6 + [429]
