"""The second factor of local accounts: TOTP enrolment, codes, recovery codes, throttling, reset."""

import re
import time
from html import unescape

import pyotp
import pytest
import time_machine
from sqlmodel import select

from walkabout.db import get_db, session_scope
from walkabout.models import AuditEvent, RecoveryCode, Role, User, UserSession

from .conftest import csrf_from, login, make_app, post_form
from .factories import Factory

SECRET_SHOWN = re.compile(r'<code class="totp-key">([A-Z2-7 ]+)</code>')
RECOVERY = re.compile(r"<li><code>([0-9a-z-]{19})</code></li>")


@pytest.fixture
def app(database_url):
    """The shipped default: administrators must use a second factor with a password."""
    app = make_app(database_url, TWO_FACTOR_REQUIRED="admins")
    yield app
    get_db(app).engine.dispose()


def text_of(response) -> str:
    return response.get_data(as_text=True)


def signed_in(client) -> bool:
    return client.get("/").status_code == 200


def enrol(client, path="/login/two-factor/setup") -> tuple[str, list[str]]:
    """Scan the QR code (read the key beside it), confirm with a code; the secret and recovery codes."""
    page = text_of(client.get(path))
    assert 'src="data:image/svg+xml' in page and "QR code" in page
    secret = SECRET_SHOWN.search(page).group(1).replace(" ", "")
    response = post_form(client, path, {"code": pyotp.TOTP(secret).now()})
    assert response.status_code == 200, text_of(response)[:2000]
    codes = RECOVERY.findall(text_of(response))
    return secret, codes


def next_step_code(secret: str) -> str:
    """A code of a later time step (the current one is used up once accepted)."""
    return pyotp.TOTP(secret).at(time.time() + 30)


def test_an_administrator_sets_up_the_app_at_the_first_sign_in(app, client, factory):
    admin = factory.user(Role.ADMIN)
    response = login(client, admin.email)
    assert response.status_code == 303 and response.headers["Location"] == "/login/two-factor/setup"
    assert not signed_in(client)  # the password alone signs no one in
    page = text_of(client.get("/login/two-factor/setup"))
    secret = SECRET_SHOWN.search(page).group(1).replace(" ", "")

    wrong = post_form(client, "/login/two-factor/setup", {"code": "000000"})
    assert wrong.status_code == 401 and "That code is not right" in text_of(wrong)
    assert not signed_in(client)

    ok = post_form(client, "/login/two-factor/setup", {"code": pyotp.TOTP(secret).now()})
    assert ok.status_code == 200
    codes = RECOVERY.findall(text_of(ok))
    assert len(codes) == 10 and len(set(codes)) == 10
    assert signed_in(client) and client.get("/admin/users").status_code == 200
    with session_scope(app) as session:
        stored = session.exec(select(RecoveryCode.code_hash)).all()
        assert len(stored) == 10 and not {code.replace("-", "") for code in codes} & set(stored)
        user = session.get(User, admin.id)
        assert user.totp_secret == secret and user.totp_confirmed_at is not None
        assert session.exec(select(AuditEvent).where(AuditEvent.verb == "two_factor_enabled")).one()


def test_the_next_sign_in_asks_for_a_code_once_and_refuses_it_again(app, factory):
    admin = factory.user(Role.ADMIN)
    client = app.test_client()
    login(client, admin.email)
    secret, _codes = enrol(client)

    with time_machine.travel(time.time() + 60, tick=True):
        second = app.test_client()
        response = login(second, admin.email)
        assert response.headers["Location"] == "/login/two-factor"
        assert not signed_in(second)
        wrong = post_form(second, "/login/two-factor", {"code": "123456"})
        assert wrong.status_code == 401 and not signed_in(second)
        code = pyotp.TOTP(secret).now()
        assert post_form(second, "/login/two-factor", {"code": code}).status_code == 303
        assert signed_in(second)

        # The same code on another device a moment later: refused (it was used).
        third = app.test_client()
        login(third, admin.email)
        reused = post_form(third, "/login/two-factor", {"code": code})
        assert reused.status_code == 401 and not signed_in(third)
        # An older code of the same window too.
        previous = pyotp.TOTP(secret).at(time.time() - 30)
        assert post_form(third, "/login/two-factor", {"code": previous}).status_code == 401


def test_recovery_codes_work_once_each(app, factory):
    admin = factory.user(Role.ADMIN)
    client = app.test_client()
    login(client, admin.email)
    _secret, codes = enrol(client)
    phone_lost = app.test_client()
    login(phone_lost, admin.email)
    # Typed as people do: upper case, spaces instead of dashes.
    typed = codes[3].upper().replace("-", " ")
    assert post_form(phone_lost, "/login/two-factor", {"code": typed}).status_code == 303
    assert signed_in(phone_lost)
    assert "9 of 10 recovery codes left" in text_of(phone_lost.get("/account/two-factor"))

    again = app.test_client()
    login(again, admin.email)
    assert post_form(again, "/login/two-factor", {"code": codes[3]}).status_code == 401
    assert not signed_in(again)
    with session_scope(app) as session:
        assert session.exec(select(AuditEvent).where(AuditEvent.verb == "recovery_code_used")).one()


def test_new_recovery_codes_replace_the_old_ones(app, factory):
    admin = factory.user(Role.ADMIN)
    client = app.test_client()
    login(client, admin.email)
    secret, old = enrol(client)
    refused = post_form(
        client, "/account/two-factor/recovery-codes", {"code": "000000"}, token_from="/account/two-factor"
    )
    assert refused.status_code == 401
    response = post_form(
        client,
        "/account/two-factor/recovery-codes",
        {"code": next_step_code(secret)},
        token_from="/account/two-factor",
    )
    new = RECOVERY.findall(text_of(response))
    assert response.status_code == 200 and len(new) == 10 and not set(new) & set(old)
    other = app.test_client()
    login(other, admin.email)
    assert post_form(other, "/login/two-factor", {"code": old[0]}).status_code == 401
    assert post_form(other, "/login/two-factor", {"code": new[0]}).status_code == 303


def test_wrong_codes_are_throttled_like_passwords(app, factory):
    admin = factory.user(Role.ADMIN)
    client = app.test_client()
    login(client, admin.email)
    secret, _codes = enrol(client)
    attacker = app.test_client()  # knows the password, not the phone
    login(attacker, admin.email)
    for _ in range(app.config["TWO_FACTOR_FREE_FAILURES"] + 1):
        assert post_form(attacker, "/login/two-factor", {"code": "000000"}).status_code == 401
    blocked = post_form(attacker, "/login/two-factor", {"code": next_step_code(secret)})
    assert blocked.status_code == 429 and "Too many failed attempts" in text_of(blocked)
    assert not signed_in(attacker)
    # After the block, the right code works and clears the count.
    with time_machine.travel(time.time() + 60, tick=True):
        owner = app.test_client()
        login(owner, admin.email)
        assert post_form(owner, "/login/two-factor", {"code": pyotp.TOTP(secret).now()}).status_code == 303


@pytest.mark.parametrize(
    "code",
    [
        "",
        "²²²²²²",
        "\uff11\uff12\uff13\uff14\uff15\uff16",
        "<script>alert(1)</script>",
        "1" * 70000,
        "12345\r\n6",
        "\x7f" * 6,
    ],
)
def test_hostile_codes_are_refused_not_500(app, factory, code):
    admin = factory.user(Role.ADMIN)
    client = app.test_client()
    login(client, admin.email)
    response = post_form(client, "/login/two-factor/setup", {"code": code})
    assert response.status_code in (400, 401, 413), response.status_code
    assert "<script>alert(1)" not in text_of(response)
    assert not signed_in(client)


def test_the_second_step_expires(app, factory):
    admin = factory.user(Role.ADMIN)
    client = app.test_client()
    login(client, admin.email)
    with time_machine.travel(time.time() + 11 * 60, tick=True):
        response = client.get("/login/two-factor/setup")
        assert response.status_code == 303 and response.headers["Location"] == "/login"
        assert "Sign in again" in text_of(client.get("/login"))


def test_the_second_step_without_a_password_goes_to_sign_in(client):
    for path in ("/login/two-factor", "/login/two-factor/setup"):
        response = client.get(path)
        assert response.status_code == 303 and response.headers["Location"] == "/login"
    token = csrf_from(text_of(client.get("/login")))
    assert client.post("/login/two-factor", data={"code": "123456", "csrf_token": token}).status_code == 303


def test_others_may_choose_a_second_factor(app, client, factory):
    executive = factory.user(Role.EXECUTIVE)
    assert login(client, executive.email).headers["Location"] == "/"  # optional: not asked
    assert "Second factor" in text_of(client.get("/account/password"))
    secret, codes = enrol(client, "/account/two-factor")
    assert len(codes) == 10
    later = app.test_client()
    assert login(later, executive.email).headers["Location"] == "/login/two-factor"
    assert post_form(later, "/login/two-factor", {"code": next_step_code(secret)}).status_code == 303


def test_a_setting_requires_it_for_everyone(database_url):
    app = make_app(database_url, TWO_FACTOR_REQUIRED="everyone")
    secretary = Factory(app).user(Role.BOARD_SECRETARY)
    response = login(app.test_client(), secretary.email)
    assert response.headers["Location"] == "/login/two-factor/setup"
    get_db(app).engine.dispose()


def test_an_administrator_resets_a_second_factor_and_it_is_audited(app, factory):
    admin = factory.user(Role.ADMIN, name="Ada Admin")
    other = factory.user(Role.ADMIN, name="Oscar Other")
    owner = app.test_client()
    login(owner, other.email)
    enrol(owner)
    admin_client = app.test_client()
    login(admin_client, admin.email)
    enrol(admin_client)
    page = text_of(admin_client.get(f"/admin/users/{other.id}"))
    assert "Reset the second factor" in page
    response = post_form(
        admin_client, f"/admin/users/{other.id}/two-factor/reset", {}, token_from=f"/admin/users/{other.id}"
    )
    assert response.status_code == 303
    assert "second factor is removed" in unescape(text_of(admin_client.get(response.headers["Location"])))
    with session_scope(app) as session:
        user = session.get(User, other.id)
        assert user.totp_secret is None and user.totp_confirmed_at is None
        assert session.exec(select(RecoveryCode).where(RecoveryCode.user_id == other.id)).all() == []
        event = session.exec(select(AuditEvent).where(AuditEvent.verb == "two_factor_reset")).one()
        assert (event.actor_id, event.entity_id) == (admin.id, other.id)
    # At the next sign-in they set it up again.
    assert login(app.test_client(), other.email).headers["Location"] == "/login/two-factor/setup"


def test_only_administrators_may_reset(app, factory):
    executive = factory.user(Role.EXECUTIVE)
    target = factory.user(Role.EXECUTIVE)
    client = app.test_client()
    login(client, executive.email)
    token = csrf_from(text_of(client.get("/")))
    assert (
        client.post(f"/admin/users/{target.id}/two-factor/reset", data={"csrf_token": token}).status_code
        == 403
    )


def test_sign_in_with_a_second_factor_starts_one_session_record(app, factory):
    admin = factory.user(Role.ADMIN)
    client = app.test_client()
    login(client, admin.email)
    with session_scope(app) as session:
        assert session.exec(select(UserSession)).all() == []
    enrol(client)
    with session_scope(app) as session:
        assert len(session.exec(select(UserSession)).all()) == 1


def test_a_user_turns_an_optional_second_factor_off_with_a_current_code(app, client, factory):
    executive = factory.user(Role.EXECUTIVE)
    login(client, executive.email)
    secret, _ = enrol(client, "/account/two-factor")
    page = text_of(client.get("/account/two-factor"))
    assert "Turn off the second factor" in page and 'id="off-code"' in page and page.count('id="code"') == 1
    wrong = post_form(
        client, "/account/two-factor/turn-off", {"off-code": "000000"}, token_from="/account/two-factor"
    )
    assert wrong.status_code == 401 and "That code is not right" in text_of(wrong)
    hostile = post_form(
        client,
        "/account/two-factor/turn-off",
        {"off-code": "<b>¹²³</b>\x00"},
        token_from="/account/two-factor",
    )
    assert hostile.status_code in (400, 401) and "<b>¹²³" not in text_of(hostile)
    done = post_form(
        client,
        "/account/two-factor/turn-off",
        {"off-code": next_step_code(secret)},
        token_from="/account/two-factor",
    )
    assert done.status_code == 303 and done.headers["Location"] == "/account/two-factor"
    assert "Second factor turned off" in text_of(client.get("/account/two-factor"))
    again = post_form(  # the same form sent twice (Back, or a double tap): nothing left to turn off
        client,
        "/account/two-factor/turn-off",
        {"off-code": next_step_code(secret)},
        token_from="/account/password",
    )
    assert again.status_code == 303 and "no second factor to turn off" in text_of(
        client.get("/account/two-factor")
    )
    with session_scope(app) as session:
        user = session.get(User, executive.id)
        assert user.totp_secret is None and not session.exec(select(RecoveryCode)).all()
        assert session.exec(select(AuditEvent).where(AuditEvent.verb == "two_factor_turned_off")).one()
    assert login(app.test_client(), executive.email).headers["Location"] == "/"  # password only again


def test_a_required_second_factor_cannot_be_turned_off(app, factory):
    admin = factory.user(Role.ADMIN)
    client = app.test_client()
    login(client, admin.email)
    secret, _ = enrol(client)
    page = text_of(client.get("/account/two-factor"))
    assert "Turn off the second factor" not in page and "requires a second factor" in page
    refused = post_form(
        client,
        "/account/two-factor/turn-off",
        {"off-code": next_step_code(secret)},
        token_from="/account/two-factor",
    )
    assert refused.status_code == 303
    assert "cannot be turned off" in text_of(client.get("/account/two-factor"))
    with session_scope(app) as session:
        assert session.get(User, admin.id).totp_secret == secret
