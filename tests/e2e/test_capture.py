"""A walkabout run on a phone: start, log, photo, edit, read back, complete; offline; no JavaScript."""

import re

import pytest
from playwright.sync_api import expect
from sqlmodel import func, select

from walkabout.db import session_scope
from walkabout.db_types import utcnow
from walkabout.models import Concern, FeedbackDelivery, Photo, Role, Walkabout, WalkaboutStatus

from ..photo_samples import jpeg_with_gps
from .conftest import PHONE, SCREENSHOTS, assert_no_horizontal_scroll, screenshot, sign_in, wait_until

# True when this phone's offline queue (offline.js keeps it in IndexedDB) holds nothing.
QUEUES_EMPTY = "async () => (await idbKeyval.keys()).filter(k => String(k).startsWith('q:')).length === 0"


def noisy_jpeg() -> bytes:
    """A 2400x1800 camera-like JPEG too big to keep as is (noise does not compress)."""
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.effect_noise((2400, 1800), 80).convert("RGB").save(out, "JPEG", quality=90)
    assert out.tell() > 400 * 1024
    return out.getvalue()


def phone_shot(page, name):
    """What the phone's screen shows (the form is pinned to the bottom of the screen)."""
    screenshot(page, name)
    page.screenshot(path=str(SCREENSHOTS / f"{name}-screen.png"))


def concerns_in(app) -> list[Concern]:
    with session_scope(app) as session:
        return list(session.exec(select(Concern).order_by(Concern.id)).all())


def log_item(page, text, likelihood=None, consequence=None, good=False, photo=None):
    form = page.locator("#capture-form")
    if good:
        form.get_by_text("Good practice", exact=True).click()
    form.get_by_label("What was said").fill(text)
    if likelihood or photo:
        details = form.locator("details.more")
        if not details.evaluate("d => d.open"):
            form.get_by_text("Category, risk score, role, photo").click()
    if likelihood:
        form.locator(".category-pills .pill", has_text="Equipment").click()
        form.locator("[data-score=likelihood] .pill").nth(likelihood - 1).click()
        form.locator("[data-score=consequence] .pill").nth(consequence - 1).click()
        form.get_by_label("Raised by (role, never a name)").fill("Staff nurse")
    if photo:
        form.get_by_label("Photo").set_input_files(photo)
    form.get_by_role("button", name="Log it").click()


@pytest.mark.e2e
def test_executive_runs_a_scheduled_walkabout_on_a_phone(live_server, live_app, page, factory):
    executive = factory.user(Role.EXECUTIVE, name="Sarah Lead")
    walkabout = factory.walkabout(factory.ward(name="Beech Ward"), executive, start=utcnow())
    sign_in(page, live_server, executive.email)
    screenshot(page, "home-start-walkabout")
    page.get_by_role("button", name="Start", exact=True).click()
    page.wait_for_url(f"{live_server}/walkabouts/{walkabout.id}/capture")
    expect(page.get_by_role("heading", name="Beech Ward")).to_be_visible()
    page.get_by_text("Conversation script").click()
    expect(page.get_by_text("What could cause the next patient to be harmed here?")).to_be_visible()
    page.get_by_text("Conversation script").click()
    phone_shot(page, "capture-empty")

    log_item(page, "Hoist battery keeps failing on nights", likelihood=4, consequence=3)
    items = page.locator("#concern-list > li")
    expect(items).to_have_count(1)
    expect(items.first).to_contain_text("12 high")
    expect(items.first.locator(".sync")).to_have_text(re.compile("Saved"))
    expect(page.locator("#capture-form").get_by_label("What was said")).to_have_value("")

    form = page.locator("#capture-form")
    # Once opened, the details stay open from one item to the next, with the category and role kept.
    expect(form.locator("details.more")).to_have_attribute("open", "")
    expect(form.get_by_label("Raised by (role, never a name)")).to_have_value("Staff nurse")
    expect(form.get_by_label("Equipment")).to_be_checked()
    form.locator("[data-score=likelihood] .pill").nth(4).click()
    form.locator("[data-score=consequence] .pill").nth(4).click()
    expect(form.locator("[data-score-result]")).to_contain_text("25 extreme")
    form.locator("[data-score-result]").scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / "capture-risk-choice-screen.png"))
    photo = {"name": "IMG_0001.jpg", "mimeType": "image/jpeg", "buffer": jpeg_with_gps(1200, 900)}
    log_item(page, "Fire door wedged open by the linen cage", photo=photo)
    expect(items).to_have_count(2)
    expect(items.first.locator(".thumbs img")).to_be_visible()
    log_item(page, "Excellent safety huddle at every handover", good=True)
    expect(items).to_have_count(3)
    expect(page.locator("[data-count]")).to_have_text("3")
    expect(items.first).to_contain_text("Good practice")
    page.evaluate("window.scrollTo(0, 0)")
    assert_no_horizontal_scroll(page)
    phone_shot(page, "capture-three-items")

    items.nth(2).get_by_role("link", name="Edit").click()
    page.get_by_label("What was said").fill("Hoist battery fails on most night shifts")
    screenshot(page, "capture-edit")
    page.get_by_role("button", name="Save changes").click()
    page.wait_for_url(re.compile(r"/capture"))
    expect(page.locator("#concern-list")).to_contain_text("fails on most night shifts")

    page.get_by_role("link", name="Read back and finish").click()
    expect(page.get_by_role("heading", name=re.compile("What we heard"))).to_be_visible()
    expect(page.locator(".readback-list li")).to_have_count(3)
    page.get_by_label("Summary notes").fill("Open, honest conversation with the night team.")
    page.get_by_label("Staff nurse").fill("3")
    page.get_by_label("Healthcare assistant").fill("2")
    page.get_by_label("Yes", exact=True).check()
    screenshot(page, "capture-readback")
    page.get_by_role("button", name="Complete the walkabout").click()
    expect(page.get_by_text("Walkabout completed. Thank you.")).to_be_visible()
    assert_no_horizontal_scroll(page)

    saved = concerns_in(live_app)
    assert len(saved) == 3 and saved[0].text == "Hoist battery fails on most night shifts"
    assert [c.kind for c in saved] == ["concern", "concern", "good_practice"]
    with session_scope(live_app) as session:
        assert session.exec(select(func.count()).select_from(Photo)).one() == 1
        done = session.get(Walkabout, walkabout.id)
        assert done.status == WalkaboutStatus.COMPLETED
        assert session.exec(select(FeedbackDelivery).where(FeedbackDelivery.walkabout_id == done.id)).one()
        assert done.staff_participation == {"Staff nurse": 3, "Healthcare assistant": 2}


@pytest.mark.e2e
def test_offline_concern_waits_survives_a_reload_and_is_saved_once(live_server, live_app, page, factory):
    executive = factory.user(Role.EXECUTIVE)
    walkabout = factory.walkabout(factory.ward(), executive, status=WalkaboutStatus.IN_PROGRESS)
    sign_in(page, live_server, executive.email)
    capture_url = f"{live_server}/walkabouts/{walkabout.id}/capture"
    page.set_viewport_size({"width": 360, "height": 740})
    page.goto(capture_url)
    page.get_by_text("Category, risk score, role, photo").click()
    assert_no_horizontal_scroll(page)
    small = page.evaluate("""() => [
        ...document.querySelectorAll('a, button, input, select, textarea, summary')]
        .filter(el => el.offsetParent !== null && el.type !== 'hidden' && !el.closest('.skip-link'))
        .filter(el => { const r = el.getBoundingClientRect();
            return r.height < 40 && el.type !== 'checkbox'; })
        .map(el => el.outerHTML.slice(0, 80))""")
    assert not small, f"tap targets too small: {small}"
    page.get_by_text("Category, risk score, role, photo").click()

    page.get_by_label("What was said").fill("Half-typed draft about the sluice")
    page.reload()
    expect(page.get_by_label("What was said")).to_have_value("Half-typed draft about the sluice")
    expect(page.get_by_text("Draft restored from this phone")).to_be_visible()

    page.context.set_offline(True)
    page.get_by_label("What was said").fill("Sluice room door lock broken")
    page.get_by_text("Category, risk score, role, photo").click()
    page.get_by_label("Photo").set_input_files(
        {"name": "IMG_2.jpg", "mimeType": "image/jpeg", "buffer": noisy_jpeg()}
    )
    page.get_by_role("button", name="Log it").click()
    pending = page.locator("#concern-list > li.is-pending")
    expect(pending).to_have_count(1)
    expect(pending.locator(".sync")).to_have_text("Waiting to send")
    expect(pending).to_contain_text("Photo kept on this phone")
    expect(page.get_by_text("No network: kept on this phone")).to_be_visible()
    expect(page.get_by_label("What was said")).to_have_value("")
    phone_shot(page, "capture-offline-waiting")
    assert concerns_in(live_app) == []

    # The network comes back but the ward Wi-Fi still drops the request; the tab is reloaded.
    page.route("**/concerns", lambda route: route.abort())
    page.context.set_offline(False)
    page.reload()
    expect(page.locator("#concern-list > li.is-pending .sync")).to_have_text("Waiting to send")
    assert concerns_in(live_app) == []

    page.unroute("**/concerns")
    page.context.set_offline(True)
    page.context.set_offline(False)  # the browser fires `online`: the queue is sent
    saved = page.locator("#concern-list > li")
    expect(saved.locator(".sync")).to_have_text(re.compile("Saved"))
    expect(saved).to_have_count(1)
    expect(page.locator("[data-count]")).to_have_text("1")
    page.reload()
    expect(page.locator("#concern-list > li")).to_have_count(1)
    # Nothing is left on the phone that the reloaded page could send again.
    wait_until(page, QUEUES_EMPTY)
    assert [c.text for c in concerns_in(live_app)] == ["Sluice room door lock broken"]
    expect(page.locator("#concern-list .thumbs img")).to_have_count(1)
    with session_scope(live_app) as session:
        photo = session.exec(select(Photo)).one()
        assert max(photo.width, photo.height) == 1600  # reduced on the phone while it waited
    assert page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('walkabout:queue'))") == []


@pytest.fixture
def page_without_js(browser):
    """A phone-sized page with JavaScript turned off."""
    context = browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, java_script_enabled=False
    )
    page = context.new_page()
    failed = []
    page.on(
        "response",
        lambda r: (
            failed.append(f"{r.status} {r.url}")
            if r.status >= 400 and r.request.resource_type != "document"
            else None
        ),
    )
    yield page
    context.close()
    assert not failed, failed


@pytest.mark.e2e
def test_capture_works_without_javascript(live_server, live_app, page_without_js, factory):
    page = page_without_js
    executive = factory.user(Role.EXECUTIVE)
    factory.walkabout(factory.ward(name="Cedar Ward"), executive, start=utcnow())
    sign_in(page, live_server, executive.email)
    page.get_by_role("button", name="Start", exact=True).click()
    page.wait_for_url(re.compile(r"/capture$"))

    page.get_by_role("button", name="Log it").click()
    expect(page.get_by_text("Write what was said.").first).to_be_visible()
    page.get_by_label("What was said").fill("Call bells out of reach in bay 2")
    page.get_by_text("Category, risk score, role, photo").click()
    page.locator("[data-score=likelihood] .pill").nth(2).click()
    page.get_by_role("button", name="Log it").click()
    expect(page.get_by_text("Choose a consequence too").first).to_be_visible()
    expect(page.get_by_label("What was said")).to_have_value("Call bells out of reach in bay 2")
    page.locator("[data-score=consequence] .pill").nth(2).click()
    page.get_by_role("button", name="Log it").click()
    expect(page.locator("#concern-list > li")).to_have_count(1)
    expect(page.locator("#concern-list")).to_contain_text("9 high")
    phone_shot(page, "capture-no-js")

    page.get_by_role("button", name="Delete").click()
    expect(page.locator("#concern-list > li")).to_have_count(0)
    page.get_by_role("button", name="Undo").click()
    expect(page.locator("#concern-list > li")).to_have_count(1)

    page.get_by_role("link", name="Read back and finish").click()
    page.get_by_label("No", exact=True).check()
    page.get_by_role("button", name="Complete the walkabout").click()
    expect(page.get_by_text("Walkabout completed. Thank you.")).to_be_visible()
    assert len(concerns_in(live_app)) == 1


@pytest.mark.e2e
def test_a_queued_item_the_server_refuses_is_shown_and_can_be_put_back(
    live_server, live_app, browser, factory
):
    """The walkabout is completed by a colleague while this phone is offline with an item queued."""
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    executive = factory.user(Role.EXECUTIVE)
    walkabout = factory.walkabout(factory.ward(), executive, status=WalkaboutStatus.IN_PROGRESS)
    sign_in(page, live_server, executive.email)
    page.goto(f"{live_server}/walkabouts/{walkabout.id}/capture")
    context.set_offline(True)
    page.get_by_label("What was said").fill("Oxygen cylinder not secured")
    page.get_by_role("button", name="Log it").click()
    expect(page.locator("li.is-pending .sync")).to_have_text("Waiting to send")
    with session_scope(live_app) as session:
        session.get(Walkabout, walkabout.id).status = WalkaboutStatus.COMPLETED
    context.set_offline(False)
    failed = page.locator("li.is-failed")
    expect(failed.locator(".sync")).to_have_text("Not saved")
    expect(failed).to_contain_text("This walkabout is completed")
    failed.get_by_role("button", name="Put back in the form").click()
    expect(page.get_by_label("What was said")).to_have_value("Oxygen cylinder not secured")
    expect(page.locator("li.is-failed")).to_have_count(0)
    assert concerns_in(live_app) == [] and not errors
    context.close()
