"""Staff voice on a phone (issue 18): priorities marked at read-back come first after
completion; signed out, ward staff answer "Did this fix it?" and the pulse from five phones;
the executive sees the Not yet on the action; the pulse shows only from the fifth response."""

import re

import pytest
from playwright.sync_api import expect
from sqlmodel import select

from walkabout.db import session_scope
from walkabout.models import Action, ActionStatus, Concern, Role, WalkaboutStatus, Ward

from .conftest import PHONE, assert_no_horizontal_scroll, screenshot, sign_in

TOKEN = "e2e" + "s" * 29


@pytest.mark.e2e
def test_priorities_fix_answers_and_the_pulse_on_a_phone(live_server, live_app, page, browser, factory):
    lead = factory.user(Role.EXECUTIVE, name="Eve Lead", email="lead@example.org")
    manager = factory.user(Role.WARD_MANAGER, name="Mo Manager")
    ward = factory.ward(name="Beech Ward", managers=(manager,))
    walkabout = factory.walkabout(ward, lead, status=WalkaboutStatus.IN_PROGRESS)
    hoist = factory.concern(walkabout, text="Hoist battery fails at night", likelihood=1, consequence=2)
    sluice = factory.concern(walkabout, text="Sluice door sticks", likelihood=1, consequence=1)
    factory.concern(walkabout, text="Noisy bins at 6am", likelihood=5, consequence=4)

    # Read-back: mark two priorities, then complete.
    sign_in(page, live_server, lead.email)
    page.goto(f"{live_server}/walkabouts/{walkabout.id}/readback")
    for concern in (hoist, sluice):
        page.locator(f"#readback-{concern.id}").get_by_role(
            "button", name=re.compile("Mark as a priority")
        ).click()
        expect(page.locator(f"#readback-{concern.id} .priority-tag")).to_be_visible()
    expect(page.get_by_text("(2 of 3 chosen)")).to_be_visible()
    assert_no_horizontal_scroll(page)
    screenshot(page, "staff-voice-1-readback-priorities")
    page.get_by_label("Yes", exact=True).check()
    page.get_by_label("What was fed back").fill("Read back at the huddle")
    page.get_by_role("button", name="Complete the walkabout").click()
    page.wait_for_url(re.compile(rf"/walkabouts/{walkabout.id}#follow-up$"))
    items = page.locator(".follow-up-item .what")
    expect(items.first).to_contain_text("Hoist battery")  # priorities first, the high-risk bins last
    expect(items.nth(2)).to_contain_text("Noisy bins")
    expect(page.locator(".priority-rate")).to_contain_text("0 of 2 fixed")
    screenshot(page, "staff-voice-2-follow-up-priorities-first")

    # Followed up: the hoist's action is verified; final feedback to staff.
    action = factory.action(factory.get(Concern, hoist.id), manager, description="New hoist batteries")
    with session_scope(live_app) as session:
        row = session.get(Action, action.id)
        row.status, row.verified_by_id = ActionStatus.VERIFIED, lead.id
        session.get(Ward, ward.id).public_token = TOKEN
    page.goto(f"{live_server}/concerns/{hoist.id}/feedback")
    page.get_by_label("Final: what was done, or why nothing will change").check()
    page.get_by_label("What you tell the staff").fill("Two spare batteries and a charger are on the ward.")
    page.get_by_role("button", name="Publish to the ward's page").click()
    expect(page.get_by_text("Saved and published")).to_be_visible()

    # Signed out, five phones: one answers Not yet; all five answer the pulse.
    public = f"{live_server}/you-said-we-did/{TOKEN}"
    phones = [browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True) for _ in range(5)]
    try:
        for number, context in enumerate(phones, start=1):
            phone = context.new_page()
            phone.goto(public)
            expect(phone.locator(".said-item").first).to_contain_text("Staff priority")
            if number == 1:
                phone.locator(f"#item-{hoist.id}").get_by_role("button", name="Not yet").click()
                expect(phone.locator(f"#item-{hoist.id}")).to_contain_text("Your answer: Not yet")
                screenshot(phone, "staff-voice-3-public-not-yet")
            expect(phone.locator(".pulse-suppressed")).to_be_visible()
            for fieldset in phone.locator(".pulse-statement").all():
                fieldset.get_by_label("Agree", exact=True).check()
            phone.get_by_role("button", name="Send my answers").click()
            expect(phone.get_by_text("this device has answered this quarter's pulse")).to_be_visible()
            if number < 5:
                expect(phone.locator(".pulse-results")).to_have_count(0)
            else:
                expect(phone.locator(".pulse-results")).to_contain_text("5 responses")
                expect(phone.locator(".pulse-results")).to_contain_text("100%")
                assert_no_horizontal_scroll(phone)
                screenshot(phone, "staff-voice-4-public-pulse-after-five")
    finally:
        for context in phones:
            context.close()

    # The executive sees the Not yet on the action.
    page.goto(f"{live_server}/actions/{action.id}")
    expect(page.locator("#staff-answers")).to_contain_text("1 answered Not yet")
    expect(page.locator("#staff-answers")).to_contain_text("Consider reopening this action.")
    expect(page.locator("#timeline")).to_contain_text("Did this fix it? 0 Yes, 1 Not yet")
    assert_no_horizontal_scroll(page)
    screenshot(page, "staff-voice-5-action-not-yet")
    with session_scope(live_app) as session:
        assert session.exec(select(Concern.priority).where(Concern.id == sluice.id)).one()
