"""After the visit, on a phone (issue 15): capture three concerns, complete, follow each up
from the completed walkabout, write interim and final feedback, read the ward's page
signed out; Home and the digest follow the 2 working days and the 14-day clock."""

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from playwright.sync_api import expect
from sqlmodel import select

from walkabout.db import session_scope
from walkabout.models import Action, Concern, FeedbackDelivery, FeedbackUpdate, Role
from walkabout.periods import Period
from walkabout.reports.figures import headline
from walkabout.scheduler import daily_cycle, send_cycle

from ..mailcheck import read_outbox
from .conftest import assert_no_horizontal_scroll, screenshot, sign_in
from .test_capture import log_item

LONDON = ZoneInfo("Europe/London")
FRIDAY = date(2026, 12, 4)


def at(day: date, clock: time) -> datetime:
    return datetime.combine(day, clock, tzinfo=LONDON).astimezone(UTC)


def lead_digests(app) -> list[str]:
    return [
        m.get_body(("plain",)).get_content()
        for m in read_outbox(app)
        if m["To"].addresses[0].addr_spec == "lead@example.org"
    ]


def morning_digest(app, traveller, day: date) -> None:
    traveller.move_to(at(day, time(8, 5)))
    daily_cycle(app)
    send_cycle(app)


def signed_in_again(page, base: str, email: str) -> None:
    """Days later the idle session has ended: sign in again, as a person would."""
    page.goto(f"{base}/")
    if "/login" in page.url:
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill("correct horse battery staple")
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{base}/")


@pytest.mark.e2e
def test_follow_up_and_feedback_after_the_visit_on_a_phone(live_server, live_app, page, factory, tmp_path):
    live_app.instance_path = str(tmp_path / "instance")
    with time_machine.travel(at(FRIDAY, time(9, 55)), tick=True) as traveller:
        lead = factory.user(Role.EXECUTIVE, name="Eve Lead", email="lead@example.org")
        manager = factory.user(Role.WARD_MANAGER, name="Mo Manager", email="manager@example.org")
        ward = factory.ward(name="Beech Ward", managers=(manager,))
        walkabout = factory.walkabout(ward, lead, start=at(FRIDAY, time(10, 0)))

        # Friday: capture three concerns and complete with "feedback given today".
        sign_in(page, live_server, lead.email)
        page.get_by_role("button", name="Start", exact=True).click()
        page.wait_for_url(f"{live_server}/walkabouts/{walkabout.id}/capture")
        said = [
            "Hoist battery fails on most night shifts",
            "Sluice door sticks and staff wedge it open",
            "Too noisy at night for patients to sleep",
        ]
        for number, text in enumerate(said, start=1):
            log_item(page, text, **({"likelihood": 4, "consequence": 3} if number == 1 else {}))
            expect(page.locator("#concern-list > li")).to_have_count(number)
            expect(page.locator("#capture-form").get_by_label("What was said")).to_have_value("")
        page.get_by_role("link", name="Read back and finish").click()
        page.get_by_label("Yes", exact=True).check()
        page.get_by_label("What was fed back").fill("Read back the three issues at the huddle")
        page.get_by_role("button", name="Complete the walkabout").click()
        page.wait_for_url(re.compile(rf"/walkabouts/{walkabout.id}#follow-up$"))
        follow_up = page.locator("#follow-up")
        expect(follow_up).to_contain_text("3 concerns, 3 with no action yet")
        expect(follow_up).to_contain_text(re.compile(r"Held\s*Fri 4 Dec 2026, 09:5\d"))
        assert_no_horizontal_scroll(page)
        screenshot(page, "follow-up-1-completed")
        with session_scope(live_app) as session:
            hoist, sluice, noise = (c.id for c in session.exec(select(Concern).order_by(Concern.id)).all())
            assert session.exec(select(FeedbackDelivery)).one().walkabout_id == walkabout.id

        page.goto(f"{live_server}/")
        expect(page.locator(".home-follow-up")).to_contain_text(
            "3 concerns from your walkabouts have no action yet"
        )
        screenshot(page, "follow-up-2-home-three-waiting")

        # Assign one from the completed walkabout, "ward can fix" another.
        page.goto(f"{live_server}/walkabouts/{walkabout.id}")
        page.locator(f"#concern-{hoist}").get_by_role("link", name="Assign action").click()
        page.get_by_label("What needs doing").fill("Buy two spare hoist batteries and a charger")
        page.get_by_role("button", name="Assign", exact=True).click()
        expect(page.get_by_text(re.compile("Action assigned to Mo Manager"))).to_be_visible()
        page.goto(f"{live_server}/walkabouts/{walkabout.id}")
        page.locator(f"#concern-{sluice}").get_by_role("button", name=re.compile("Ward can fix")).click()
        page.wait_for_url(re.compile(rf"#concern-{sluice}$"))
        expect(page.get_by_text("Assigned to Mo Manager to fix on the ward.")).to_be_visible()
        expect(page.locator("#follow-up")).to_contain_text("1 with no action yet")
        screenshot(page, "follow-up-3-assigned-and-ward-fix")
        page.goto(f"{live_server}/")
        expect(page.locator(".home-follow-up")).to_contain_text(
            "1 concern from your walkabouts has no action yet"
        )

        # Monday: one working day has passed, no digest; Wednesday: two have, it lists the concern.
        morning_digest(live_app, traveller, FRIDAY + timedelta(days=3))
        assert lead_digests(live_app) == []
        morning_digest(live_app, traveller, FRIDAY + timedelta(days=5))
        (digest,) = lead_digests(live_app)
        assert "Concerns from your walkabouts with no action yet" in digest
        assert "Too noisy at night" in digest and "Hoist battery" not in digest

        # Wednesday: "no action needed" needs a reason; then it is given.
        traveller.move_to(at(FRIDAY + timedelta(days=5), time(9, 0)))
        signed_in_again(page, live_server, lead.email)
        page.goto(f"{live_server}/walkabouts/{walkabout.id}")
        row = page.locator(f"#concern-{noise}")
        row.get_by_text("No action needed", exact=True).click()
        row.get_by_role("button", name="Mark: no action needed").click()
        expect(page.get_by_text("Write why no action is needed.").first).to_be_visible()
        screenshot(page, "follow-up-4-no-action-without-reason")
        page.goto(f"{live_server}/walkabouts/{walkabout.id}")
        row = page.locator(f"#concern-{noise}")
        row.get_by_text("No action needed", exact=True).click()
        row.get_by_label("Why no action is needed").fill("Night-time quiet hours already start at 22:00.")
        row.get_by_role("button", name="Mark: no action needed").click()
        page.wait_for_url(re.compile(rf"#concern-{noise}$"))
        expect(page.locator("#follow-up")).not_to_contain_text("with no action yet")
        screenshot(page, "follow-up-5-every-concern-followed-up")

        # Interim feedback on the hoist, final on the sluice door.
        page.locator(f"#concern-{hoist}").get_by_role("link", name="Write feedback to staff").click()
        page.get_by_label("Interim: what is happening so far").check()
        page.get_by_label("What you tell the staff").fill("Spare batteries are on order; due next week.")
        page.get_by_role("button", name="Publish to the ward's page").click()
        expect(page.get_by_text("Saved and published")).to_be_visible()
        screenshot(page, "follow-up-6-interim-feedback")
        page.goto(f"{live_server}/concerns/{sluice}/feedback")
        page.get_by_label("Final: what was done, or why nothing will change").check()
        page.get_by_label("What you tell the staff").fill(
            "The sluice door was planed and closes by itself now."
        )
        page.get_by_role("button", name="Publish to the ward's page").click()
        expect(page.get_by_text("Saved and published")).to_be_visible()

        # Day 15: the noise concern's 14-day clock has run out.
        traveller.move_to(at(FRIDAY + timedelta(days=15), time(9, 0)))
        signed_in_again(page, live_server, lead.email)
        expect(page.locator(".home-follow-up")).to_contain_text("Feedback to staff is overdue on 1 concern")
        expect(page.locator(".home-follow-up")).to_contain_text("Too noisy at night")
        screenshot(page, "follow-up-7-home-feedback-overdue")
        page.goto(f"{live_server}/wards/{ward.id}/feedback")
        expect(page.get_by_role("heading", name=re.compile("Feedback overdue"))).to_be_visible()
        expect(page.get_by_text("No feedback recorded yet")).to_have_count(0)
        page.get_by_role("button", name="Share the ward's page").click()
        share_url = page.locator(".share-url").inner_text()
        screenshot(page, "follow-up-8-ward-page")
        morning_digest(live_app, traveller, FRIDAY + timedelta(days=17))  # Monday
        digest = lead_digests(live_app)[-1]
        assert "Staff are still waiting to hear back on these concerns (1)" in digest
        assert "Too noisy at night" in digest

        # Signed out, the ward's page shows what was said, done and where it stands.
        page.context.clear_cookies()  # signed out: a member of staff scanning the QR code
        page.goto(share_url)
        expect(page.get_by_text("signed in as")).to_have_count(0)
        items = page.locator(".said-item")
        expect(items).to_have_count(3)
        expect(page.locator("body")).to_contain_text("The sluice door was planed")
        expect(page.locator("body")).to_contain_text("Spare batteries are on order")
        expect(page.locator("body")).not_to_contain_text("Mo Manager")
        assert_no_horizontal_scroll(page)
        screenshot(page, "follow-up-9-public-ward-page")

    with session_scope(live_app) as session:
        assert len(session.exec(select(Action)).all()) == 2
        assert len(session.exec(select(FeedbackUpdate)).all()) == 2
        figures = headline(session, Period(date(2026, 12, 1), date(2027, 1, 1), LONDON))
    assert figures["walkabouts"]["feedback_given"] == 1 and figures["walkabouts"]["held"] == 1
