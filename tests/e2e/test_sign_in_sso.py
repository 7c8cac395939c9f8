"""On a phone: single sign-on through a real OpenID Provider, and the second factor of a password sign-in."""

import re
import socket
import threading

import pyotp
import pytest
from playwright.sync_api import expect
from werkzeug.serving import make_server

from walkabout.db import get_db
from walkabout.models import Role

from ..conftest import make_app
from ..factories import Factory
from .conftest import assert_no_horizontal_scroll, screenshot
from .test_accessibility import BLOCKING, RUN_AXE, TAGS, axe_source


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def sso_server(database_url, openid_provider):
    """Walkabout with single sign-on on a port chosen first (the provider must know its address)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    client = openid_provider.register(base)
    app = make_app(
        database_url,
        OIDC_ISSUER=openid_provider.issuer,
        OIDC_CLIENT_ID=client.client_id,
        OIDC_CLIENT_SECRET=client.client_secret,
        OIDC_TENANT="riverside",
        OIDC_BUTTON_LABEL="Sign in with NHSmail",
        BASE_URL=base,
        TWO_FACTOR_REQUIRED="admins",
    )
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield app, base
    server.shutdown()
    thread.join(timeout=5)
    get_db(app).engine.dispose()


def check_axe(page) -> None:
    result = page.evaluate(RUN_AXE, [TAGS, False])
    serious = [v["id"] for v in result["violations"] if v["impact"] in BLOCKING]
    assert result["passes"] > 0 and not serious, f"{page.url}: {serious}"


def test_single_sign_on_and_sign_out_on_a_phone(sso_server, openid_provider, page):
    app, base = sso_server
    Factory(app).user(Role.EXECUTIVE, email="alice@example.org", name="Alice Ahmed")
    openid_provider.accounts(
        {
            "alice-sub": {
                "email": "alice@example.org",
                "email_verified": True,
                "name": "Alice",
                "tid": "riverside",
            }
        }
    )
    page.goto(f"{base}/")
    expect(page.get_by_role("link", name="Sign in with NHSmail")).to_be_visible()
    assert_no_horizontal_scroll(page)
    screenshot(page, "sso-sign-in-phone")
    page.get_by_role("link", name="Sign in with NHSmail").click()
    page.wait_for_url(re.compile(re.escape(openid_provider.issuer) + "/interaction/.*"))
    page.locator("input[name=login]").fill("alice-sub")
    page.locator("input[name=password]").fill("anything")
    page.get_by_role("button", name="Sign-in").click()
    page.wait_for_url(f"{base}/")
    expect(page.get_by_role("heading", name="Hello, Alice")).to_be_visible()
    screenshot(page, "sso-home-phone")

    page.locator(".nav-more summary").click()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You are signed out.")).to_be_visible()
    offer = page.get_by_role("link", name="Sign out of the identity provider too")
    expect(offer).to_be_visible()
    assert_no_horizontal_scroll(page)
    screenshot(page, "sso-signed-out-phone")
    offer.click()
    page.get_by_role("button", name="Yes, sign me out").click()
    page.wait_for_url(f"{base}/login")
    expect(page.get_by_role("link", name="Sign in with NHSmail")).to_be_visible()
    # Signed out at the provider too: signing in again asks for the login once more.
    page.get_by_role("link", name="Sign in with NHSmail").click()
    page.wait_for_url(re.compile(re.escape(openid_provider.issuer) + "/interaction/.*"))
    expect(page.locator("input[name=login]")).to_be_visible()


def test_an_administrator_sets_up_and_uses_the_second_factor_on_a_phone(sso_server, page):
    app, base = sso_server
    Factory(app).user(Role.ADMIN, email="ada@example.org", name="Ada Admin")
    page.context.add_init_script(path=str(axe_source()))
    page.goto(f"{base}/login")
    page.get_by_label("Email").fill("ada@example.org")
    page.get_by_label("Password").fill(Factory.PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url(f"{base}/login/two-factor/setup")
    expect(page.get_by_role("img", name="QR code to add Walkabout to your authenticator app")).to_be_visible()
    assert_no_horizontal_scroll(page)
    check_axe(page)
    screenshot(page, "two-factor-setup-phone")

    secret = page.locator(".totp-key").inner_text().replace(" ", "")
    page.get_by_label("Code").fill("000000")
    page.get_by_role("button", name="Turn on").click()
    expect(page.get_by_text("That code is not right").first).to_be_visible()
    page.get_by_label("Code").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Turn on").click()
    expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    codes = page.locator(".recovery-codes code").all_inner_texts()
    assert len(codes) == 10
    assert_no_horizontal_scroll(page)
    check_axe(page)
    screenshot(page, "two-factor-recovery-codes-phone")
    page.get_by_role("link", name="I have saved them: continue").click()
    page.wait_for_url(f"{base}/")

    page.locator(".nav-more summary").click()
    page.get_by_role("button", name="Sign out").click()
    page.get_by_label("Email").fill("ada@example.org")
    page.get_by_label("Password").fill(Factory.PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url(f"{base}/login/two-factor")
    assert_no_horizontal_scroll(page)
    check_axe(page)
    screenshot(page, "two-factor-code-phone")
    page.get_by_label("Code").fill(codes[0])  # no phone to hand: a recovery code
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(f"{base}/")
    expect(page.get_by_role("heading", name="Hello, Ada")).to_be_visible()
