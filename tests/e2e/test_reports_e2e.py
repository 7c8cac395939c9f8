"""The board secretary generates last month's board pack on a phone and downloads it."""

from playwright.sync_api import expect

from ..report_data import seed_month
from .conftest import assert_no_horizontal_scroll, screenshot, sign_in, wait_until


def test_board_secretary_generates_and_downloads_last_months_pack(
    live_server, live_app, page, factory, tmp_path
):
    month = seed_month(factory)
    sign_in(page, live_server, month.secretary.email)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Reports").click()
    page.wait_for_url(f"{live_server}/reports")
    expect(page.get_by_role("heading", name="Reports")).to_be_visible()
    assert_no_horizontal_scroll(page)
    screenshot(page, "reports-index")

    label = month.first_day.strftime("%B %Y")
    item = page.locator("li.report-month", has_text=label)
    item.get_by_role("button", name="Generate board pack").click()
    status = item.locator(".pack-status")
    status.wait_for()
    download_link = item.get_by_role("link", name="Download the board pack (PDF)")
    download_link.wait_for(timeout=60_000)
    assert "Ready:" in status.inner_text()
    assert_no_horizontal_scroll(page)
    screenshot(page, "reports-pack-ready")

    with page.expect_download() as download_info:
        download_link.click()
    download = download_info.value
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    assert download.suggested_filename == f"board-pack-{month.key}-v1.pdf"
    assert path.read_bytes().startswith(b"%PDF-")


def test_executive_reads_the_dashboard_on_a_phone(live_server, live_app, page, factory):
    month = seed_month(factory)
    sign_in(page, live_server, month.executive.email)
    page.locator(".nav-more summary").click()  # executives find the dashboard under "More"
    page.get_by_role("link", name="Dashboard").click()
    page.wait_for_url(f"{live_server}/dashboard")
    page.get_by_label("From").fill(month.first_day.isoformat())
    page.get_by_label("To").fill(month.first_day.replace(day=28).isoformat())
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**/dashboard?*")
    expect(page.locator(".figure", has_text="held").first).to_be_visible()
    images = page.locator(".chart-figure img")
    assert images.count() == 4
    for index in range(4):
        images.nth(index).scroll_into_view_if_needed()
        wait_until(images.nth(index), "img => img.complete && img.naturalWidth > 0")
    assert_no_horizontal_scroll(page)
    screenshot(page, "dashboard-phone")


def test_every_chart_key_is_shown_in_full_at_phone_width(live_server, live_app, page, factory):
    month = seed_month(factory)
    sign_in(page, live_server, month.executive.email)
    start, end = month.first_day.isoformat(), month.first_day.replace(day=28).isoformat()
    page.goto(f"{live_server}/dashboard?date_from={start}&date_to={end}")
    width = page.evaluate("document.documentElement.clientWidth")
    keys = page.locator(".chart-legend li")
    labels = [keys.nth(i).inner_text().strip() for i in range(keys.count())]
    assert "Overdue at month end" in labels and "Held" in labels
    assert any(label.startswith("Extreme (15") for label in labels)
    for index in range(keys.count()):
        key = keys.nth(index)
        key.scroll_into_view_if_needed()
        expect(key).to_be_visible()
        box = key.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width, labels[index]
        swatch = key.locator(".swatch").bounding_box()
        assert swatch["width"] >= 14 and swatch["height"] >= 4, labels[index]
    expect(page.get_by_role("heading", name="Programme fidelity")).to_be_visible()
    assert_no_horizontal_scroll(page)
    screenshot(page, "dashboard-keys-phone")


def _this_month(factory):
    from ..report_data import local

    month = seed_month(factory)
    factory.walkabout(month.ward, month.executive, start=local(factory.today().replace(day=1)))
    return month, factory.today().strftime("%B %Y")


def test_a_provisional_pack_is_confirmed_first_on_a_phone(live_server, live_app, page, factory):
    live_app.config["REPORTS_RUNNER"] = "scheduler"  # the pack waits: this test is about the asking
    month, label = _this_month(factory)
    sign_in(page, live_server, month.secretary.email)
    page.goto(f"{live_server}/reports")
    item = page.locator("li.report-month", has_text=label)
    item.get_by_role("button", name="Generate a provisional pack").click()
    confirm = item.get_by_role("button", name="Yes, generate a provisional pack")
    confirm.wait_for()
    expect(item.get_by_role("heading", name=f"Generate a provisional pack for {label}?")).to_be_visible()
    assert page.url == f"{live_server}/reports"  # swapped in place by htmx
    assert_no_horizontal_scroll(page)
    item.scroll_into_view_if_needed()
    screenshot(page, "reports-confirm-provisional")
    confirm.click()
    item.locator(".pack-status").wait_for()
    assert "Queued" in item.locator(".pack-status").inner_text()


def test_a_provisional_pack_is_confirmed_first_without_javascript(live_server, live_app, browser, factory):
    from .conftest import PHONE

    live_app.config["REPORTS_RUNNER"] = "scheduler"
    month, label = _this_month(factory)
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, java_script_enabled=False)
    page = context.new_page()
    try:
        sign_in(page, live_server, month.secretary.email)
        page.goto(f"{live_server}/reports")
        page.locator("li.report-month", has_text=label).get_by_role(
            "button", name="Generate a provisional pack"
        ).click()
        page.wait_for_url("**/confirm")
        expect(page.get_by_role("heading", name=f"Generate a provisional pack for {label}?")).to_be_visible()
        assert_no_horizontal_scroll(page)
        screenshot(page, "reports-confirm-provisional-no-js")
        page.get_by_role("button", name="Yes, generate a provisional pack").click()
        page.wait_for_url("**/reports/packs/*")
        page.go_back()  # Back to the confirm step, and send it again: still one pack
        page.wait_for_url("**/confirm")
        page.get_by_role("button", name="Yes, generate a provisional pack").click()
        page.wait_for_url("**/reports/packs/*")
        expect(page.get_by_text("version 1")).to_be_visible()
    finally:
        context.close()
