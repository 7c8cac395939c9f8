"""Sign-in, sign-out, throttling and session invalidation."""

from sqlalchemy import delete
from sqlmodel import select

from walkabout.db import session_scope
from walkabout.models import AuditEvent, LoginThrottle, Role, User, UserSession

from .conftest import csrf_token, login, make_app, post_form
from .factories import Factory


def test_sign_in_shows_home_and_sign_out_ends_session(client, factory):
    user = factory.user(Role.EXECUTIVE, name="Sarah Okafor")
    response = login(client, user.email)
    assert response.status_code == 303
    assert response.headers["Location"] == "/"
    home = client.get("/")
    assert home.status_code == 200
    assert "Hello, Sarah" in home.get_data(as_text=True)

    response = post_form(client, "/logout", {}, token_from="/")
    assert response.status_code == 303
    assert client.get("/").status_code == 302  # back to sign-in


def test_email_is_case_and_space_insensitive(client, factory):
    user = factory.user(email="mixed@example.org")
    assert login(client, "  MIXED@Example.org ").status_code == 303
    assert client.get("/").status_code == 200
    assert user.email == "mixed@example.org"


def test_wrong_password_and_unknown_email_get_the_same_message(client, factory):
    user = factory.user()
    wrong = login(client, user.email, "not the password")
    unknown = login(client, "nobody@example.org", "whatever it is")
    assert wrong.status_code == unknown.status_code == 401
    message = "Email or password is not right."
    assert message in wrong.get_data(as_text=True)
    assert message in unknown.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_empty_form_is_refused_with_field_messages(client):
    response = post_form(client, "/login", {"email": "", "password": ""})
    assert response.status_code == 400
    assert "This field is required." in response.get_data(as_text=True)


def test_repeated_failures_slow_the_account_down(app, client, factory):
    user = factory.user()
    for _ in range(app.config["LOGIN_FREE_FAILURES_PER_ACCOUNT"]):
        assert login(client, user.email, "wrong password!").status_code == 401
    blocked = login(client, user.email, "wrong password!")
    assert blocked.status_code == 401  # this failure starts the block
    response = login(client, user.email)  # even the right password waits
    assert response.status_code == 429
    assert "Too many failed attempts" in response.get_data(as_text=True)
    with session_scope(app) as session:
        row = session.get(LoginThrottle, f"account:{user.email}")
        assert row.failures == 6 and row.blocked_until is not None


def test_block_ends_and_success_clears_the_count(app, client, factory):
    user = factory.user()
    for _ in range(6):
        login(client, user.email, "wrong password!")
    with session_scope(app) as session:
        row = session.get(LoginThrottle, f"account:{user.email}")
        row.blocked_until = None  # the block has run out
    assert login(client, user.email).status_code == 303
    with session_scope(app) as session:
        assert session.get(LoginThrottle, f"account:{user.email}") is None


def test_failures_per_address_block_every_account_from_it(app, client, factory):
    app.config["LOGIN_FREE_FAILURES_PER_ADDRESS"] = 3
    users = [factory.user() for _ in range(2)]
    for i in range(4):
        login(client, f"guess{i}@example.org", "wrong password!")
    assert login(client, users[0].email).status_code == 429


def test_deactivated_user_cannot_sign_in(client, factory):
    user = factory.user(active=False)
    response = login(client, user.email)
    assert response.status_code == 401
    assert "Email or password is not right." in response.get_data(as_text=True)


def test_password_change_signs_out_other_sessions_and_remember_me(app, factory):
    user = factory.user()
    phone, laptop = app.test_client(), app.test_client()
    login(phone, user.email, remember=True)
    login(laptop, user.email)
    assert phone.get_cookie("remember_token") is not None

    response = post_form(
        laptop,
        "/account/password",
        {
            "current_password": Factory.PASSWORD,
            "new_password": "a much longer new passphrase",
            "confirm_password": "a much longer new passphrase",
        },
    )
    assert response.status_code == 303
    assert laptop.get("/").status_code == 200  # the device that changed it stays in

    phone.delete_cookie("session")  # only the remember-me cookie is left
    assert phone.get("/").status_code == 302
    fresh = app.test_client()
    assert login(fresh, user.email).status_code == 401
    assert login(fresh, user.email, "a much longer new passphrase").status_code == 303
    with session_scope(app) as session:
        verbs = session.exec(select(AuditEvent.verb).where(AuditEvent.entity_id == user.id)).all()
        assert "password_changed" in verbs


def test_session_cookie_stops_working_once_its_record_is_gone(app, factory):
    user = factory.user()
    client = app.test_client()
    login(client, user.email)
    with session_scope(app) as session:
        session.execute(delete(UserSession).where(UserSession.user_id == user.id))
    assert client.get("/").status_code == 302


def test_password_change_refuses_wrong_current_and_short_new(client, factory):
    user = factory.user()
    login(client, user.email)
    wrong = post_form(
        client,
        "/account/password",
        {
            "current_password": "not it",
            "new_password": "long enough password",
            "confirm_password": "long enough password",
        },
    )
    assert wrong.status_code == 400
    assert "Your current password is not right." in wrong.get_data(as_text=True)
    short = post_form(
        client,
        "/account/password",
        {
            "current_password": Factory.PASSWORD,
            "new_password": "short",
            "confirm_password": "short",
        },
    )
    assert short.status_code == 400
    assert "at least 12 characters" in short.get_data(as_text=True)
    mismatch = post_form(
        client,
        "/account/password",
        {
            "current_password": Factory.PASSWORD,
            "new_password": "long enough password",
            "confirm_password": "other",
        },
    )
    assert "The two new passwords differ." in mismatch.get_data(as_text=True)
    assert login(client.application.test_client(), user.email).status_code == 303


def test_deactivation_signs_the_user_out_at_once(app, factory):
    admin = factory.user(Role.ADMIN)
    victim = factory.user(Role.WARD_MANAGER)
    admin_client, victim_client = app.test_client(), app.test_client()
    login(admin_client, admin.email)
    login(victim_client, victim.email, remember=True)
    assert victim_client.get("/").status_code == 200

    response = post_form(
        admin_client,
        f"/admin/users/{victim.id}/active",
        {"active": "0"},
        token_from=f"/admin/users/{victim.id}",
    )
    assert response.status_code == 303
    assert victim_client.get("/").status_code == 302
    victim_client.delete_cookie("session")
    assert victim_client.get("/").status_code == 302


def test_next_parameter_never_leaves_the_site(client, factory):
    user = factory.user()
    token = csrf_token(client)
    for target, expected in [
        ("/account/password", "/account/password"),
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
        ("/\\evil.example", "/"),
    ]:
        client.get("/")  # signed out again below
        response = client.post(
            f"/login?next={target}",
            data={
                "email": user.email,
                "password": Factory.PASSWORD,
                "csrf_token": token,
            },
        )
        assert response.headers["Location"] == expected
        post_form(client, "/logout", {}, token_from="/")
        token = csrf_token(client)


def test_cookies_are_httponly_and_samesite(client, factory):
    user = factory.user()
    response = login(client, user.email, remember=True)
    cookies = response.headers.getlist("Set-Cookie")
    for name in ("session", "remember_token"):
        cookie = next(c for c in cookies if c.startswith(name + "="))
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_cookies_are_secure_over_https(database_url, factory):
    secure_app = make_app(database_url, create_tables=False, HTTPS=True)
    user = factory.user()
    client = secure_app.test_client()
    page = client.get("/login", base_url="https://localhost")
    token = page.get_data(as_text=True).split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    response = client.post(
        "/login",
        base_url="https://localhost",
        headers={"Referer": "https://localhost/login"},
        data={"email": user.email, "password": Factory.PASSWORD, "csrf_token": token},
    )
    assert response.status_code == 303
    assert all("Secure" in c for c in response.headers.getlist("Set-Cookie"))


def test_a_hash_made_with_other_argon2_parameters_signs_in_and_is_rehashed(app, client, factory):
    """Hashes carry their parameters: changing them never locks anyone out, and sign-in upgrades."""
    from argon2 import PasswordHasher, extract_parameters, profiles

    user = factory.user()
    with session_scope(app) as session:
        session.get(User, user.id).password_hash = PasswordHasher().hash(Factory.PASSWORD)
    assert login(client, user.email).status_code == 303
    rehashed = factory.get(User, user.id).password_hash
    assert extract_parameters(rehashed) == profiles.CHEAPEST  # the test configuration's parameters
    assert post_form(client, "/logout", {}, token_from="/").status_code == 303
    assert login(client, user.email).status_code == 303
    assert factory.get(User, user.id).password_hash == rehashed  # not rehashed again


def test_outside_tests_passwords_get_the_librarys_recommended_parameters(database_url, tmp_path, monkeypatch):
    from argon2 import PasswordHasher, extract_parameters

    from walkabout.config import build_config
    from walkabout.services.accounts import hash_password, verify_password

    monkeypatch.setenv("WALKABOUT_BASE_URL", "https://walkabout.trust.test")
    monkeypatch.setenv("WALKABOUT_MAIL_FROM", "Walkabout <walkabout@trust.test>")
    for env in ("production", "development"):
        assert build_config(tmp_path, {"ENV": env, "SECRET_KEY": "s" * 48})["PASSWORD_HASH_PROFILE"] is None
    recommended = extract_parameters(PasswordHasher().hash("x"))
    with make_app(database_url, create_tables=False, PASSWORD_HASH_PROFILE=None).app_context():
        stored = hash_password("a long enough passphrase 42")
        assert extract_parameters(stored) == recommended
        assert verify_password(stored, "a long enough passphrase 42")
        assert not verify_password(stored, "a long enough passphrase 43")
