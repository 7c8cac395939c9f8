"""On a phone: an executive schedules a monthly series, finds it under Upcoming, downloads an invite."""

from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from icalendar import Calendar
from playwright.sync_api import expect

from walkabout.models import Role

from .conftest import assert_no_horizontal_scroll, screenshot, sign_in


def test_executive_plans_a_monthly_series_on_a_phone(live_server, page, factory):
    executive = factory.user(Role.EXECUTIVE, email="exec@example.org", name="Sarah Okafor")
    factory.ward(factory.site("Riverside General"), "Beech Ward")
    sign_in(page, live_server, executive.email)

    page.get_by_role("link", name="Walkabouts").first.click()
    page.get_by_role("link", name="Schedule a walkabout").click()
    first_day = factory.today() + timedelta(days=3)
    page.get_by_label("Ward").select_option(label="Beech Ward, Riverside General")
    page.get_by_label("Date").fill(first_day.isoformat())
    page.get_by_label("Start time").fill("14:00")
    page.get_by_label("Focus or theme").fill("Falls prevention")
    page.get_by_label("Repeat").select_option("monthly_weekday")
    page.get_by_label("Number of walkabouts").fill("12")
    assert_no_horizontal_scroll(page)
    screenshot(page, "programme-schedule-series")
    page.get_by_role("button", name="Schedule", exact=True).click()
    page.wait_for_url(f"{live_server}/walkabouts/series/*")
    expect(page.get_by_text("12 walkabouts scheduled")).to_be_visible()
    screenshot(page, "programme-series")

    page.goto(f"{live_server}/walkabouts?tab=past")
    page.get_by_role("link", name="Upcoming").click()  # htmx swap, URL kept
    page.wait_for_url(f"{live_server}/walkabouts?tab=upcoming*")
    expect(page.get_by_role("heading", name="12 walkabouts")).to_be_visible()
    items = page.locator("#walkabout-results .list-item")
    assert items.count() == 12
    assert "Beech Ward" in items.first.inner_text() and "Falls prevention" in items.first.inner_text()
    assert_no_horizontal_scroll(page)
    screenshot(page, "programme-upcoming")

    page.get_by_role("link", name="Beech Ward, Riverside General").first.click()
    page.wait_for_url(f"{live_server}/walkabouts/*")
    expect(page.get_by_role("button", name="Start walkabout")).to_be_visible()
    assert_no_horizontal_scroll(page)
    screenshot(page, "programme-walkabout")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Add to calendar (.ics)").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".ics")
    event = Calendar.from_ical(Path(download.path()).read_bytes()).walk("VEVENT")[0]
    assert str(event["location"]) == "Beech Ward, Riverside General"
    assert event.decoded("dtstart").astimezone(ZoneInfo("Europe/London")).strftime("%H:%M") == "14:00"


def test_coverage_and_calendar_pages_fit_a_phone(live_server, page, factory):
    executive = factory.user(Role.EXECUTIVE, email="cov@example.org")
    site = factory.site("Riverside General")
    for name in ("Beech Ward", "Cedar Ward with a rather long name for a ward"):
        factory.ward(site, name)
    sign_in(page, live_server, executive.email)
    page.goto(f"{live_server}/coverage")
    expect(page.get_by_text("Never visited").first).to_be_visible()
    page.get_by_label("Sort by").select_option("ward")
    page.wait_for_url(f"{live_server}/coverage?*sort=ward*")
    assert_no_horizontal_scroll(page)
    screenshot(page, "programme-coverage")
    page.goto(f"{live_server}/account/calendar")
    page.get_by_role("button", name="Create my calendar address").click()
    assert "/calendar/" in page.get_by_label("Your private address").input_value()
    assert_no_horizontal_scroll(page)
    screenshot(page, "programme-calendar-feed")

    page.set_viewport_size({"width": 360, "height": 740})
    for path in ("/walkabouts", "/walkabouts/new", "/walkabouts/rota", "/coverage", "/account/calendar"):
        page.goto(f"{live_server}{path}")
        screenshot(page, "programme-360" + path.replace("/", "-"))
        assert_no_horizontal_scroll(page)
        small = page.evaluate("""() => [...document.querySelectorAll('a, button, input, select, textarea')]
            .filter(el => el.offsetParent !== null && el.type !== 'hidden' && !el.closest('.skip-link'))
            .filter(el => { const r = el.getBoundingClientRect();
                return r.height < 24 && el.type !== 'checkbox'; })
            .map(el => el.outerHTML.slice(0, 80))""")
        assert not small, f"tap targets too small on {path}: {small}"
    screenshot(page, "programme-rota-360")
