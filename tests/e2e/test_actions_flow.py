"""On a phone: the ward manager works and completes an action with a photo, the
executive verifies it, and the ward's "you said, we did" page shows it."""

import io
from datetime import timedelta

from PIL import Image
from playwright.sync_api import expect

from walkabout.db import session_scope
from walkabout.models import Role, Ward
from walkabout.timeutil import local_today

from .conftest import assert_no_horizontal_scroll, screenshot, sign_in, wait_until


def small_jpeg(path) -> None:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (30, 120, 200)).save(out, "JPEG")
    path.write_bytes(out.getvalue())


def test_action_from_assignment_to_you_said_we_did(live_server, live_app, page, factory, tmp_path):
    executive = factory.user(Role.EXECUTIVE, email="exec@example.org", name="Sarah Exec")
    manager = factory.user(Role.WARD_MANAGER, email="manager@example.org", name="Mo Manager")
    ward = factory.ward(name="Beech Ward", managers=(manager,))
    walkabout = factory.walkabout(ward, executive, status="completed")
    concern = factory.concern(
        walkabout, text="The hoist sling is frayed and nobody knows who to tell", likelihood=4, consequence=4
    )
    with live_app.app_context():
        today = local_today()
    factory.action(
        concern, manager, description="Replace the frayed hoist sling", due=today - timedelta(days=1)
    )
    factory.action(
        concern, manager, description="Add sling checks to the daily list", due=today + timedelta(days=5)
    )

    sign_in(page, live_server, manager.email)
    expect(page.get_by_text("1 overdue").first).to_be_visible()
    page.get_by_role("link", name="All my actions").click()
    page.wait_for_url(f"{live_server}/actions?mine=1")
    expect(page.get_by_role("heading", name="My actions")).to_be_visible()
    assert page.locator(".list-item.is-overdue").count() == 1
    assert_no_horizontal_scroll(page)
    screenshot(page, "actions-my-actions")

    page.get_by_role("link", name="Replace the frayed hoist sling").click()
    page.get_by_label("Progress update").fill("New sling ordered from stores.")
    page.get_by_role("button", name="Post update").click()
    expect(page.get_by_text("Update posted.")).to_be_visible()
    expect(page.locator(".timeline").get_by_text("New sling ordered from stores.")).to_be_visible()

    photo = tmp_path / "evidence.jpg"
    small_jpeg(photo)
    page.get_by_label("Closure note: what was done").fill("New sling fitted and the old one destroyed.")
    page.get_by_label("Evidence photo (optional)").set_input_files(str(photo))
    page.get_by_role("button", name="Mark completed").click()
    expect(page.get_by_text("Marked completed.")).to_be_visible()
    assert page.locator(".timeline img").count() == 1
    page.locator(".timeline img").first.scroll_into_view_if_needed()
    wait_until(page, "document.querySelector('.timeline img').naturalWidth > 0")
    assert_no_horizontal_scroll(page)
    screenshot(page, "actions-completed-by-manager")
    page.locator(".nav-more summary").click()  # the menu keeps Sign out under "More"
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/login")  # sign-out first checks the phone for waiting items (offline.js)

    sign_in(page, live_server, executive.email)
    page.goto(f"{live_server}/actions?status=completed")
    page.get_by_role("link", name="Replace the frayed hoist sling").click()
    page.get_by_label("Note (optional)").fill("Seen on the ward.")
    page.get_by_role("button", name="Verify and close").click()
    expect(page.get_by_text("Verified and closed.")).to_be_visible()
    screenshot(page, "actions-verified")

    # The list filters update in place (htmx) and the URL can be bookmarked.
    page.goto(f"{live_server}/actions")
    page.get_by_text("Filter and sort").click()
    page.get_by_label("Status").select_option("verified")
    page.wait_for_url("**/actions?*status=verified*")
    assert page.locator(".action-list .what").all_inner_texts() == ["Replace the frayed hoist sling"]
    screenshot(page, "actions-list-filtered")

    page.goto(f"{live_server}/wards/{ward.id}/feedback")
    page.get_by_role("button", name="Share the ward's page").click()
    expect(page.get_by_alt_text("QR code of the ward's page")).to_be_visible()
    wait_until(page, "document.querySelector('img.qr').naturalWidth > 0")
    page.get_by_label("How").select_option("Staff huddle")
    page.get_by_role("button", name="Record feedback given").click()
    expect(page.get_by_text("Recorded: feedback given to Beech Ward.")).to_be_visible()
    assert_no_horizontal_scroll(page)
    screenshot(page, "feedback-ward-share")
    with session_scope(live_app) as session:
        token = session.get(Ward, ward.id).public_token

    staff = page.context.browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    public = staff.new_page()
    public.goto(f"{live_server}/you-said-we-did/{token}")
    expect(public.get_by_role("heading", name="You said, we did")).to_be_visible()
    expect(public.get_by_text("The hoist sling is frayed")).to_be_visible()
    expect(public.get_by_text("New sling fitted and the old one destroyed.")).to_be_visible()
    assert (
        public.get_by_text("Mo Manager").count() == 0 and public.get_by_text("Seen on the ward.").count() == 0
    )
    assert_no_horizontal_scroll(public)
    screenshot(public, "you-said-we-did-public")
    staff.close()


SMALL_TARGETS = """() => [...document.querySelectorAll('a, button, input, select, textarea, summary')]
    .filter(el => el.offsetParent !== null && el.type !== 'hidden' && !el.closest('.skip-link'))
    .filter(el => { const r = el.getBoundingClientRect(); return r.height < 24 && el.type !== 'checkbox'; })
    .map(el => el.outerHTML.slice(0, 80))"""


def test_action_pages_fit_a_phone_with_big_enough_targets(live_server, live_app, page, factory):
    executive = factory.user(Role.EXECUTIVE, email="exec@example.org")
    manager = factory.user(Role.WARD_MANAGER)
    ward = factory.ward(managers=(manager,))
    concern = factory.concern(factory.walkabout(ward, executive), text="W" * 300, ward_can_fix=True)
    action = factory.action(concern, manager, description="Long " * 60)
    sign_in(page, live_server, executive.email)
    page.goto(f"{live_server}/wards/{ward.id}/feedback")
    page.get_by_role("button", name="Share the ward's page").click()
    with session_scope(live_app) as session:
        token = session.get(Ward, ward.id).public_token
    for path in (
        "/actions",
        "/actions?mine=1",
        f"/actions/{action.id}",
        f"/concerns/{concern.id}/actions/new",
        "/feedback",
        f"/wards/{ward.id}/feedback",
        f"/you-said-we-did/{token}",
    ):
        page.goto(f"{live_server}{path}")
        for fold in page.locator("details").all():
            fold.evaluate("el => el.open = true")
        assert_no_horizontal_scroll(page)
        assert not page.evaluate(SMALL_TARGETS), f"tap targets too small on {path}"
    page.goto(f"{live_server}/concerns/{concern.id}/actions/new")
    screenshot(page, "actions-assign")
