"""The admin screens of issue 17 in real Chromium, at phone (390x844) and desktop width:
an administrator edits the lists, uploads a logo and reads the audit log; screenshots of
each screen are kept in test-artifacts/screenshots/ for people to look at."""

import io

import pytest
from PIL import Image
from playwright.sync_api import expect

from walkabout.models import Role

from .conftest import assert_no_horizontal_scroll, screenshot, sign_in

DESKTOP = {"width": 1280, "height": 900}
SCREENS = {
    "lists": "/admin/lists",
    "categories": "/admin/lists/categories",
    "script": "/admin/lists/script",
    "staff-roles": "/admin/lists/staff-roles",
    "pulse-statements": "/admin/lists/pulse-statements",
    "trust": "/admin/trust",
    "audit": "/admin/audit",
}


@pytest.fixture
def admin(factory):
    return factory.user(Role.ADMIN, email="admin@example.org", name="Ada Admin")


def logo_file(path) -> None:
    image = Image.new("RGB", (480, 160), (0, 94, 184))
    for x in range(40, 140):
        for y in range(40, 120):
            image.putpixel((x, y), (255, 255, 255))
    out = io.BytesIO()
    image.save(out, "PNG")
    path.write_bytes(out.getvalue())


def test_an_administrator_edits_the_lists_and_the_logo_on_a_phone(live_server, page, admin, tmp_path):
    sign_in(page, live_server, admin.email)
    page.goto(f"{live_server}/admin/lists")
    page.get_by_role("link", name="Categories").click()
    page.get_by_label("Add a category").fill("Estates")
    page.get_by_role("button", name="Add").click()
    expect(page.get_by_text("Added Estates.")).to_be_visible()
    page.get_by_role("button", name="Up: move Estates up").click()
    expect(page.get_by_text("Moved Estates.")).to_be_visible()
    entries = page.locator("#categories ol .entry-text").all_inner_texts()
    assert entries[-2:] == ["Estates", "Other"]
    page.get_by_role("button", name="Retire Estates").click()
    expect(page.get_by_text("retired (kept on the records that use it)")).to_be_visible()
    expect(page.locator("#categories .is-inactive").get_by_text("Estates")).to_be_visible()
    # Renaming to a name in use: refused beside the field, what was typed kept.
    page.locator("#categories li", has_text="Staffing").locator("summary").click()
    page.locator("#categories details[open] input[name=text]").fill("equipment")
    page.locator("#categories details[open]").get_by_role("button", name="Save").click()
    expect(page.get_by_text("There is already a category called Equipment.").first).to_be_visible()
    assert page.locator("#categories details[open] input[name=text]").input_value() == "equipment"
    assert_no_horizontal_scroll(page)
    screenshot(page, "admin-categories-refused-phone")

    page.goto(f"{live_server}/admin/trust")
    logo = tmp_path / "logo.png"
    logo_file(logo)
    page.get_by_label("Upload a logo").set_input_files(str(logo))
    page.get_by_role("button", name="Upload logo").click()
    expect(page.get_by_text("Saved the logo")).to_be_visible()
    header_logo = page.locator("header img.app-header__trust-logo")
    expect(header_logo).to_be_visible()
    assert header_logo.evaluate("img => img.naturalWidth") == 480
    page.goto(f"{live_server}/admin/audit")
    expect(page.get_by_text("logo uploaded trust branding")).to_be_visible()
    expect(page.get_by_text("retired category").first).to_be_visible()


@pytest.mark.parametrize("width", ["phone", "desktop"])
def test_screenshots_of_every_admin_screen(live_server, browser, page, admin, tmp_path, width):
    target = page
    if width == "desktop":
        context = browser.new_context(viewport=DESKTOP)
        target = context.new_page()
    sign_in(target, live_server, admin.email)
    # A few changes first, so the screens (and the audit log) show retired entries and a logo.
    target.goto(f"{live_server}/admin/lists/categories")
    target.get_by_label("Add a category").fill("Estates and facilities")
    target.get_by_role("button", name="Add").click()
    target.get_by_role("button", name="Retire Training").click()
    expect(target.get_by_text("Training: retired")).to_be_visible()
    target.goto(f"{live_server}/admin/trust")
    logo = tmp_path / "logo.png"
    logo_file(logo)
    target.get_by_label("Upload a logo").set_input_files(str(logo))
    target.get_by_role("button", name="Upload logo").click()
    expect(target.get_by_text("Saved the logo")).to_be_visible()
    for name, path in SCREENS.items():
        response = target.goto(f"{live_server}{path}")
        assert response.status == 200, path
        expect(target.locator("h1")).to_be_visible()
        assert_no_horizontal_scroll(target)
        screenshot(target, f"admin-{name}-{width}")
    target.goto(f"{live_server}/admin/audit?type=category")
    expect(target.get_by_text("2 entries")).to_be_visible()
    assert_no_horizontal_scroll(target)
    screenshot(target, f"admin-audit-filtered-{width}")
    if width == "desktop":
        target.context.close()
