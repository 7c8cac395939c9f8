"""Staff voice on a phone (issue 18): priorities marked at read-back come first after
completion; signed out, ward staff answer "Did this fix it?" and the pulse from five phones;
the executive sees the Not yet on the action; the pulse shows only from the fifth response;
the executive's own answers at completion appear beside staff's on the dashboard."""

import re

import pytest
from playwright.sync_api import expect
from sqlmodel import select

from walkabout.db import session_scope
from walkabout.db_types import utcnow
from walkabout.models import (
    Action,
    ActionStatus,
    Concern,
    LeaderPulseAnswer,
    PulseStatement,
    Role,
    WalkaboutStatus,
    Ward,
)
from walkabout.services.pulse import quarter_of
from walkabout.timeutil import local_today

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
    # The leaders' view, on the completion step: as the executive believes the staff would answer.
    statements = page.locator(".leader-pulse .pulse-statement")
    expect(statements).to_have_count(3)
    for number, fieldset in enumerate(statements.all()):
        fieldset.get_by_label("Agree" if number == 0 else "Disagree", exact=True).check()
    assert_no_horizontal_scroll(page)
    screenshot(page, "staff-voice-1b-completion-leaders-view")
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

    # Four more leaders' answer sets for Beech Ward this quarter (other executives' visits), so
    # with the executive's own the leaders' side reaches the minimum of five.
    seed_other_leaders(live_app, factory, ward)

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
            if number == 4:
                page.goto(f"{live_server}/dashboard")
                expect(beech_on_dashboard(page).locator("td").first).to_have_text("fewer than 5")
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

    # The dashboard: the executive's own answers beside staff's, once both sides have five.
    page.goto(f"{live_server}/dashboard")
    beech = beech_on_dashboard(page).locator("td")
    expect(beech.nth(0)).to_have_text("100% (5)")  # staff
    expect(beech.nth(1)).to_have_text("87% (5)")  # leaders: 5 + 4 + 4 of 15 agree
    expect(beech.nth(2)).to_have_text("-13")  # the gap in points
    # Each statement, over all wards shown (Beech alone here).
    rows = page.locator("table.pulse-gap tbody tr")
    expect(rows).to_have_count(3)
    for number, leaders in enumerate(("100%", "80%", "80%")):  # the executive alone disagreed
        cells = rows.nth(number).locator("td")
        expect(cells.nth(1)).to_have_text("100%")  # staff
        expect(cells.nth(2)).to_have_text(leaders)
    page.locator("#staff-voice").scroll_into_view_if_needed()
    assert_no_horizontal_scroll(page)
    screenshot(page, "staff-voice-6-dashboard-leaders-beside-staff")


def beech_on_dashboard(page):
    return page.locator("table.ward-pulse tbody tr", has_text="Beech Ward")


def seed_other_leaders(live_app, factory, ward) -> None:
    with live_app.app_context():
        quarter = quarter_of(local_today())
    with session_scope(live_app) as session:
        ids = session.exec(
            select(PulseStatement.id).where(PulseStatement.active).order_by(PulseStatement.sort_order)
        ).all()
    for number in range(4):
        leader = factory.user(Role.EXECUTIVE, name=f"Other Leader {number}")
        visit = factory.walkabout(ward, leader, status=WalkaboutStatus.COMPLETED, completed_at=utcnow())
        with session_scope(live_app) as session:
            for ident in ids:
                session.add(
                    LeaderPulseAnswer(
                        walkabout_id=visit.id,
                        user_id=leader.id,
                        ward_id=ward.id,
                        statement_id=ident,
                        quarter=quarter,
                        score=4,
                    )
                )
