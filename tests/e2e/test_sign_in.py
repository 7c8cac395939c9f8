"""An executive signs in on a phone and sees the home page."""

from playwright.sync_api import expect

from walkabout.models import Role

from ..factories import Factory
from .conftest import assert_no_horizontal_scroll, screenshot, sign_in


def test_executive_signs_in_on_a_phone(live_server, live_app, page):
    live_app.test_cli_runner().invoke(args=["seed-demo", "--password", Factory.PASSWORD])
    page.goto(f"{live_server}/")
    assert page.url.startswith(f"{live_server}/login")
    screenshot(page, "sign-in")

    page.get_by_label("Email").fill("executive@example.org")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("Email or password is not right.")).to_be_visible()

    page.get_by_label("Password").fill(Factory.PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server}/")
    expect(page.get_by_role("heading", name="Hello, Sarah")).to_be_visible()
    expect(page.get_by_role("heading", name="Today's walkabouts")).to_be_visible()
    expect(page.get_by_text("Beech Ward").first).to_be_visible()
    assert_no_horizontal_scroll(page)
    assert page.evaluate("typeof htmx") == "object", "htmx did not load"
    screenshot(page, "home-executive")

    page.locator(".nav-more summary").click()  # the menu keeps Sign out under "More"
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You are signed out.")).to_be_visible()


def test_pages_fit_a_small_phone_with_big_enough_targets(live_server, live_app, page, factory):
    admin = factory.user(Role.ADMIN, email="admin@example.org")
    page.set_viewport_size({"width": 360, "height": 740})
    sign_in(page, live_server, admin.email)
    for path in ("/", "/admin/users", "/admin/users/new", "/account/password"):
        page.goto(f"{live_server}{path}")
        assert_no_horizontal_scroll(page)
        small = page.evaluate("""() => [...document.querySelectorAll('a, button, input, select, textarea')]
            .filter(el => el.offsetParent !== null && el.type !== 'hidden' && !el.closest('.skip-link'))
            .filter(el => { const r = el.getBoundingClientRect();
                return r.height < 24 && el.type !== 'checkbox'; })
            .map(el => el.outerHTML.slice(0, 80))""")
        assert not small, f"tap targets too small on {path}: {small}"
        font = page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
        assert font >= 16
    screenshot(page, "admin-new-user-360")
