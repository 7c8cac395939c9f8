"""Single sign-on against a real OpenID Provider (node-oidc-provider, see tests/oidc_provider.py)."""

from urllib.parse import parse_qs, urlsplit

import pytest
from sqlmodel import select

from walkabout.db import session_scope
from walkabout.models import AuditEvent, ExternalIdentity, PasswordReset, Role, User, UserSession

from .conftest import csrf_from, login, make_app, post_form
from .factories import Factory

BASE_URL = "http://walkabout.test"
TENANT = "riverside-tenant"


@pytest.fixture(scope="session")
def oidc_client(openid_provider):
    return openid_provider.register(BASE_URL)


def sso_app(database_url, provider, client, **overrides):
    config = {
        "OIDC_ISSUER": provider.issuer,
        "OIDC_CLIENT_ID": client.client_id,
        "OIDC_CLIENT_SECRET": client.client_secret,
        "OIDC_TENANT": TENANT,
        "BASE_URL": BASE_URL,
        "BASE_URL_SET": True,
    }
    config.update(overrides)
    return make_app(database_url, **config)


@pytest.fixture
def app(database_url, openid_provider, oidc_client):
    from walkabout.db import get_db

    app = sso_app(database_url, openid_provider, oidc_client)
    yield app
    get_db(app).engine.dispose()


def account(email, tid=TENANT, verified=True, name="Alice Ahmed"):
    return {"email": email, "email_verified": verified, "name": name, "tid": tid}


def to_provider(client, next_url=None) -> str:
    response = client.get("/login/sso", query_string={"next": next_url} if next_url else None)
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return response.headers["Location"]


def back_at(callback_url: str) -> str:
    assert callback_url.startswith(f"{BASE_URL}/login/sso/callback"), callback_url
    parts = urlsplit(callback_url)
    return f"{parts.path}?{parts.query}"


def sso_sign_in(client, provider, login_name: str, next_url=None):
    """The whole round trip: Walkabout -> provider login page -> Walkabout's callback."""
    callback = provider.sign_in(to_provider(client, next_url), login_name)
    return client.get(back_at(callback))


def text_of(response) -> str:
    return response.get_data(as_text=True)


def test_first_sign_in_links_by_verified_email_then_by_subject(app, client, factory, openid_provider):
    alice = factory.user(Role.EXECUTIVE, email="alice@example.org", name="Alice Ahmed")
    openid_provider.accounts({"alice-sub": account("Alice@Example.org")})
    authorize = to_provider(client, "/actions")
    query = parse_qs(urlsplit(authorize).query)
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"][0]
    assert query["nonce"][0] and query["state"][0] and "openid" in query["scope"][0]

    response = client.get(back_at(openid_provider.sign_in(authorize, "alice-sub")))
    assert response.status_code == 303 and response.headers["Location"] == "/actions"
    home = client.get("/")
    assert home.status_code == 200 and "Alice" in text_of(home)
    with session_scope(app) as session:
        identity = session.exec(select(ExternalIdentity)).one()
        assert (identity.user_id, identity.subject, identity.issuer) == (
            alice.id,
            "alice-sub",
            app.config["OIDC_ISSUER"],
        )
        assert session.exec(select(AuditEvent).where(AuditEvent.verb == "identity_linked")).one()
        assert len(session.exec(select(UserSession)).all()) == 1


def signed_in(client) -> bool:
    return client.get("/").status_code == 200


def test_sign_out_ends_the_session_and_offers_the_providers_end_session(
    app, client, factory, openid_provider
):
    import requests

    factory.user(Role.EXECUTIVE, email="alice@example.org")
    openid_provider.accounts({"alice-sub": account("alice@example.org")})
    at_provider = requests.Session()
    callback = openid_provider.sign_in(to_provider(client), "alice-sub", browser=at_provider)
    assert client.get(back_at(callback)).status_code == 303
    page = text_of(client.get("/"))
    response = client.post("/logout", data={"csrf_token": csrf_from(page)})
    assert response.status_code == 303 and response.headers["Location"] == "/login"
    with session_scope(app) as session:
        assert session.exec(select(UserSession)).all() == []
    login_page = text_of(client.get("/login"))
    assert "You are signed out." in login_page and "Sign out of the identity provider too" in login_page
    assert not signed_in(client)
    import html
    import re

    link = html.unescape(
        re.search(r'href="([^"]+)">Sign out of the identity provider too', login_page).group(1)
    )
    assert link.startswith(f"{openid_provider.issuer}/session/end?")
    query = parse_qs(urlsplit(link).query)
    assert query == {
        "client_id": [app.config["OIDC_CLIENT_ID"]],
        "post_logout_redirect_uri": [f"{BASE_URL}/login"],
    }
    # The provider accepts it and sends the browser back to Walkabout's sign-in page.
    back = openid_provider.confirm_sign_out(link, at_provider)
    assert back == f"{BASE_URL}/login"
    # The offer is made once, and not after a password sign-out.
    assert "Sign out of the identity provider too" not in text_of(client.get("/login"))


def test_password_sign_out_does_not_offer_the_provider(client, factory):
    user = factory.user(Role.EXECUTIVE)
    assert login(client, user.email).status_code == 303
    client.post("/logout", data={"csrf_token": csrf_from(text_of(client.get("/")))})
    assert "Sign out of the identity provider too" not in text_of(client.get("/login"))


@pytest.mark.parametrize(
    ("tamper", "why"),
    [
        ("audience", "a token for another application"),
        ("expired", "an expired token"),
        ("nonce", "a nonce this sign-in did not send"),
        ("issuer", "another issuer"),
        ("signature", "claims changed after signing"),
        ("foreign-key", "signed with a key the provider does not publish"),
    ],
)
def test_an_id_token_that_fails_verification_signs_no_one_in(
    app, client, factory, openid_provider, tamper, why
):
    factory.user(Role.EXECUTIVE, email="alice@example.org")
    openid_provider.accounts({"alice-sub": account("alice@example.org")})
    callback = openid_provider.sign_in(to_provider(client), "alice-sub")
    openid_provider.tamper_next_token(tamper)
    response = client.get(back_at(callback))
    assert response.status_code == 400, why
    assert "could not be verified" in text_of(response)
    assert not signed_in(client)
    with session_scope(app) as session:
        assert session.exec(select(ExternalIdentity)).all() == []
        assert session.exec(select(UserSession)).all() == []


@pytest.mark.parametrize(("skew", "expected"), [(60, 303), (0, 400)])
def test_a_token_within_the_clock_skew_is_accepted_and_beyond_it_refused(
    database_url,
    openid_provider,
    oidc_client,
    skew,
    expected,
):
    """The provider's ID tokens live 300 s: Walkabout's clock 330 s ahead is within a 60 s skew, not 0."""
    import time

    import time_machine

    from walkabout.db import get_db

    app = sso_app(database_url, openid_provider, oidc_client, OIDC_CLOCK_SKEW_SECONDS=skew)
    client = app.test_client()
    Factory(app).user(Role.EXECUTIVE, email="skew@example.org")
    openid_provider.accounts({"skew-sub": account("skew@example.org")})
    callback = openid_provider.sign_in(to_provider(client), "skew-sub")
    with time_machine.travel(time.time() + 330, tick=True):
        assert client.get(back_at(callback)).status_code == expected
    get_db(app).engine.dispose()


def test_a_replayed_state_is_refused(app, client, factory, openid_provider):
    factory.user(Role.EXECUTIVE, email="alice@example.org")
    openid_provider.accounts({"alice-sub": account("alice@example.org")})
    callback = back_at(openid_provider.sign_in(to_provider(client), "alice-sub"))
    assert client.get(callback).status_code == 303
    # The same answer again, in the same browser and in another one (a stolen URL).
    again = client.get(callback)
    assert again.status_code == 400 and "already used or has expired" in text_of(again)
    stranger = app.test_client()
    assert stranger.get(callback).status_code == 400
    assert not signed_in(stranger)


def test_a_callback_this_browser_did_not_start_is_refused(client, factory, openid_provider):
    """Login CSRF: an attacker's own code and state, sent to the victim's browser."""
    factory.user(Role.EXECUTIVE, email="mallory@example.org")
    openid_provider.accounts({"mallory-sub": account("mallory@example.org")})
    attacker = client.application.test_client()
    callback = back_at(openid_provider.sign_in(to_provider(attacker), "mallory-sub"))
    victim = client
    response = victim.get(callback)
    assert response.status_code == 400
    assert not signed_in(victim)


def test_a_user_of_another_tenant_is_refused(app, client, factory, openid_provider):
    factory.user(Role.EXECUTIVE, email="alice@example.org")
    openid_provider.accounts({"outsider": account("alice@example.org", tid="another-trust")})
    response = sso_sign_in(client, openid_provider, "outsider")
    assert response.status_code == 403
    assert "belongs to another organisation" in text_of(response)
    assert not signed_in(client)
    with session_scope(app) as session:
        assert session.exec(select(ExternalIdentity)).all() == []


def test_an_unverified_email_links_nothing(app, client, factory, openid_provider):
    factory.user(Role.EXECUTIVE, email="alice@example.org")
    openid_provider.accounts({"unverified": account("alice@example.org", verified=False)})
    response = sso_sign_in(client, openid_provider, "unverified")
    assert response.status_code == 403 and "verified email" in text_of(response)
    assert not signed_in(client)


def test_an_email_change_at_the_provider_neither_breaks_the_link_nor_takes_over(
    app, client, factory, openid_provider
):
    alice = factory.user(Role.EXECUTIVE, email="alice@example.org", name="Alice Ahmed")
    factory.user(Role.ADMIN, email="bob@example.org", name="Bob Brown")
    openid_provider.accounts({"alice-sub": account("alice@example.org")})
    assert sso_sign_in(client, openid_provider, "alice-sub").status_code == 303
    client.post("/logout", data={"csrf_token": csrf_from(text_of(client.get("/")))})

    # Alice's provider account now carries Bob's email: she is still Alice, never Bob.
    openid_provider.accounts({"alice-sub": account("bob@example.org", name="Alice Ahmed")})
    fresh = app.test_client()
    assert sso_sign_in(fresh, openid_provider, "alice-sub").status_code == 303
    home = text_of(fresh.get("/"))
    assert "Alice" in home and "Bob" not in home
    assert fresh.get("/admin/users").status_code == 403  # Bob's administrator role did not come along

    # A new provider account with Alice's email cannot take her over either.
    openid_provider.accounts({"new-sub": account("alice@example.org")})
    third = app.test_client()
    response = sso_sign_in(third, openid_provider, "new-sub")
    assert response.status_code == 403 and "linked to a different account" in text_of(response)
    with session_scope(app) as session:
        links = session.exec(select(ExternalIdentity)).all()
        assert [(link.subject, link.user_id) for link in links] == [("alice-sub", alice.id)]
        assert session.get(User, alice.id).email == "alice@example.org"


def test_an_unknown_user_is_refused_with_a_message(app, client, openid_provider):
    openid_provider.accounts({"newcomer": account("newcomer@example.org")})
    response = sso_sign_in(client, openid_provider, "newcomer")
    assert response.status_code == 403
    assert "no Walkabout account for newcomer@example.org" in text_of(response)
    with session_scope(app) as session:
        assert session.exec(select(User)).all() == []


def test_an_unknown_user_is_created_without_roles_when_allowed(
    database_url,
    openid_provider,
    oidc_client,
):
    from walkabout.db import get_db

    app = sso_app(database_url, openid_provider, oidc_client, OIDC_CREATE_USERS=True)
    client = app.test_client()
    openid_provider.accounts({"newcomer": account("Newcomer@example.org", name="Nia Newcomer")})
    assert sso_sign_in(client, openid_provider, "newcomer").status_code == 303
    home = client.get("/")
    assert home.status_code == 200 and "Nia" in text_of(home)
    assert client.get("/actions").status_code in (200, 403)
    with session_scope(app) as session:
        user = session.exec(select(User).where(User.email == "newcomer@example.org")).one()
        assert user.roles == frozenset() and user.name == "Nia Newcomer"
        assert session.exec(select(AuditEvent).where(AuditEvent.verb == "created_at_sign_in")).one()
    # Nobody can sign in to it with a password.
    assert login(app.test_client(), "newcomer@example.org", "!single-sign-on").status_code == 401
    get_db(app).engine.dispose()


def test_a_deactivated_user_is_refused(app, client, factory, openid_provider):
    factory.user(Role.EXECUTIVE, email="gone@example.org", active=False)
    openid_provider.accounts({"gone-sub": account("gone@example.org")})
    response = sso_sign_in(client, openid_provider, "gone-sub")
    assert response.status_code == 403 and "deactivated" in text_of(response)


def test_cancelling_at_the_provider_and_hostile_callbacks_are_4xx(app, client):
    to_provider(client)
    for query in (
        "error=access_denied&error_description=<script>alert(1)</script>",
        "code=x&state=y",
        "code=&state=",
        "state=" + "a" * 5000,
        "code=%C2%B2&state=%C2%B2",
        "",
    ):
        response = client.get(f"/login/sso/callback?{query}")
        assert 400 <= response.status_code < 500, (query, response.status_code)
        assert "<script>alert(1)" not in text_of(response)
    assert not signed_in(client)


def test_provider_down_is_a_clear_502(database_url, oidc_client):
    from walkabout.db import get_db

    class Down:
        issuer = "http://127.0.0.1:9"  # the discard port: nothing listens

    app = sso_app(database_url, Down, oidc_client)
    response = app.test_client().get("/login/sso")
    assert response.status_code == 502 and "cannot be reached" in text_of(response)
    get_db(app).engine.dispose()


def test_local_passwords_off_leaves_the_break_glass_administrator(
    database_url,
    openid_provider,
    oidc_client,
):
    from walkabout.db import get_db

    app = sso_app(
        database_url,
        openid_provider,
        oidc_client,
        LOCAL_PASSWORDS=False,
        BREAK_GLASS_ADMIN="breakglass@example.org",
        TWO_FACTOR_REQUIRED="admins",
    )
    factory = Factory(app)
    staff = factory.user(Role.EXECUTIVE, email="staff@example.org")
    factory.user(Role.ADMIN, email="breakglass@example.org")
    client = app.test_client()
    page = text_of(client.get("/login"))
    assert app.config["OIDC_BUTTON_LABEL"] in page and 'name="password"' not in page
    assert "Break-glass administrator sign-in" in page
    assert 'name="password"' in text_of(client.get("/login?local=1"))

    # The right password of anyone else is refused exactly like a wrong one.
    def password_sign_in(email):
        data = {"email": email, "password": Factory.PASSWORD}
        return post_form(client, "/login", data, token_from="/login?local=1")

    refused = password_sign_in(staff.email)
    assert refused.status_code == 401 and "Email or password is not right." in text_of(refused)
    assert not signed_in(client)
    # The break-glass administrator gets in, with a second factor.
    response = password_sign_in("breakglass@example.org")
    assert response.status_code == 303 and response.headers["Location"] == "/login/two-factor/setup"
    assert not signed_in(client)

    # A reset link is sent to the break-glass account only: nobody else has a password to reset,
    # and the answer on screen is the same for both.
    def ask_for_reset(email):
        return post_form(client, "/password-reset", {"email": email}, token_from="/password-reset")

    answers = [text_of(ask_for_reset(email)) for email in (staff.email, "breakglass@example.org")]
    assert answers[0] == answers[1]
    with session_scope(app) as session:
        resets = session.exec(select(PasswordReset)).all()
        assert [reset.user_id for reset in resets] == [
            session.exec(select(User.id).where(User.email == "breakglass@example.org")).one()
        ]
    get_db(app).engine.dispose()


def test_config_refuses_incomplete_single_sign_on(monkeypatch, tmp_path):
    from walkabout.config import ConfigError, build_config

    monkeypatch.setenv("WALKABOUT_OIDC_ISSUER", "https://login.microsoftonline.com/tenant/v2.0")
    with pytest.raises(ConfigError, match="WALKABOUT_OIDC_CLIENT_ID"):
        build_config(tmp_path, {"ENV": "test"})
    monkeypatch.setenv("WALKABOUT_OIDC_ISSUER", "http://login.example.org")
    with pytest.raises(ConfigError, match="https://"):
        build_config(tmp_path, {"ENV": "test"})
    monkeypatch.delenv("WALKABOUT_OIDC_ISSUER")
    monkeypatch.setenv("WALKABOUT_LOCAL_PASSWORDS", "off")
    with pytest.raises(ConfigError, match="no way to sign in"):
        build_config(tmp_path, {"ENV": "test"})
    monkeypatch.delenv("WALKABOUT_LOCAL_PASSWORDS")
    monkeypatch.setenv("WALKABOUT_2FA_REQUIRED", "nobody")
    with pytest.raises(ConfigError, match="WALKABOUT_2FA_REQUIRED"):
        build_config(tmp_path, {"ENV": "test"})


def test_hostile_query_strings_on_the_sign_in_routes_never_500(app, openid_provider):
    """Generated values (huge, Unicode, control characters, HTML) in every argument the routes read."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from .hostile import hostile_scalar

    names = ["code", "state", "error", "error_description", "iss", "session_state", "next"]

    @settings(
        max_examples=25,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.function_scoped_fixture,
        ],
    )
    @given(query=st.dictionaries(st.sampled_from(names), hostile_scalar(["1", "2"])), started=st.booleans())
    def hostile(query, started):
        client = app.test_client()
        if started:
            to_provider(client)  # a real state waits in this browser's session
        start = client.get("/login/sso", query_string=query)
        assert start.status_code in (302, 400), start.status_code
        response = client.get("/login/sso/callback", query_string=query)
        assert 400 <= response.status_code < 500, (query, response.status_code)
        assert client.get("/").status_code == 302  # nobody signed in

    hostile()
