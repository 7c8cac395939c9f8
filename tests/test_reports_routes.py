"""Reports pages: permissions, bad input, CSV, background generation and its progress component."""

import csv
import io
import time

import pytest

from walkabout.models import Role, WalkaboutStatus
from walkabout.reports.csv_export import COLUMNS

from .conftest import csrf_token, login, post_form
from .report_data import board_pack_rows, seed_month


def test_signed_out_users_are_sent_to_sign_in(client, factory):
    for path in (
        "/reports",
        "/dashboard",
        "/reports/monthly/2026-01.pdf",
        "/reports/monthly/2026-01.csv",
        "/walkabouts/1/summary.pdf",
        "/reports/packs/1",
        "/dashboard/charts/actions.svg",
    ):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"], path


@pytest.mark.parametrize("role", [Role.WARD_MANAGER, Role.ADMIN])
def test_other_roles_may_not_open_reports(app, client, factory, role):
    month = seed_month(factory)
    user = factory.user(role)
    login(client, user.email)
    for path in (
        "/reports",
        "/dashboard",
        f"/reports/monthly/{month.key}.pdf",
        f"/reports/monthly/{month.key}.csv",
        "/reports/packs/1",
        "/reports/packs/1.pdf",
        "/dashboard/charts/actions.svg",
    ):
        assert client.get(path).status_code == 403, path
    token = csrf_token(client, "/")
    assert client.post(f"/reports/monthly/{month.key}/packs", data={"csrf_token": token}).status_code == 403
    assert board_pack_rows(app) == []
    nav = client.get("/").get_data(as_text=True)
    assert "/reports" not in nav and "/dashboard" not in nav


@pytest.mark.parametrize("role", [Role.BOARD_SECRETARY, Role.EXECUTIVE])
def test_board_secretaries_and_executives_see_reports(client, factory, role):
    month = seed_month(factory)
    user = factory.user(role)
    login(client, user.email)
    page = client.get("/reports")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert month.first_day.strftime("%B %Y") in html and f"/reports/monthly/{month.key}.csv" in html
    assert client.get("/dashboard").status_code == 200
    nav = client.get("/").get_data(as_text=True)
    assert 'href="/reports"' in nav and 'href="/dashboard"' in nav


@pytest.mark.parametrize(
    "month, status, message",
    [
        ("2026-13", 400, "is not a month"),
        ("2026-1", 400, "is not a month"),
        ("march", 400, "is not a month"),
        ("1999-12", 400, "is not a month"),
        ("2999-01", 404, "has not started yet"),
    ],
)
def test_bad_months_get_a_clear_4xx(client, factory, month, status, message):
    login(client, factory.user(Role.BOARD_SECRETARY).email)
    for suffix in (".pdf", ".csv"):
        response = client.get(f"/reports/monthly/{month}{suffix}")
        assert response.status_code == status and message in response.get_data(as_text=True)
    response = post_form(client, f"/reports/monthly/{month}/packs", {}, token_from="/reports")
    assert response.status_code == status


def test_a_month_without_a_pack_offers_to_generate_one(client, factory):
    month = seed_month(factory)
    login(client, month.secretary.email)
    response = client.get(f"/reports/monthly/{month.key}.pdf")
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert "No board pack has been generated" in html and f"/reports/monthly/{month.key}/packs" in html


def test_follow_up_summary_bad_input(client, factory):
    month = seed_month(factory)
    login(client, month.executive.email)
    response = client.get(f"/walkabouts/{month.planned_walkabout.id}/summary.pdf")
    assert response.status_code == 409
    assert "available once the walkabout is completed" in response.get_data(as_text=True)
    assert client.get("/walkabouts/999999/summary.pdf").status_code == 404
    outsider = factory.user(Role.WARD_MANAGER)  # manages no ward
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    login(client, outsider.email)
    response = client.get(f"/walkabouts/{month.held.id}/summary.pdf")
    assert response.status_code == 404  # not "forbidden": the walkabout's existence is not revealed


def test_csv_round_trip_bom_columns_and_injection(client, factory):
    month = seed_month(factory)
    hostile = [
        '=HYPERLINK("http://evil.example","x")',
        "+441234",
        "-2+3",
        "@SUM(A1)",
        "Café naïve – “quoted”, comma",  # noqa: RUF001 (Unicode on purpose)
    ]
    for text in hostile:
        factory.concern(month.held, text, 2, 2, created_at=month.held.scheduled_start)
    login(client, month.secretary.email)
    response = client.get(f"/reports/monthly/{month.key}.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert f'filename="walkabouts-{month.key}.csv"' in response.headers["Content-Disposition"]
    assert response.data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert list(rows[0].keys()) == COLUMNS
    assert COLUMNS[:4] == ["record_type", "id", "concern_id", "walkabout_id"]  # stable names
    concerns = [row for row in rows if row["record_type"] == "concern"]
    actions = [row for row in rows if row["record_type"] == "action"]
    assert len(concerns) == 4 + len(hostile) and len(actions) == 3
    texts = {row["text"] for row in concerns}
    assert '\'=HYPERLINK("http://evil.example","x")' in texts
    assert {"'+441234", "'-2+3", "'@SUM(A1)", hostile[-1]} <= texts
    assert not any(value.startswith(("=", "+", "-", "@")) for row in rows for value in row.values())
    scanner = next(row for row in actions if row["text"] == "Order a second scanner")
    assert scanner["action_owner"] == "Tom Bennett" and scanner["ward"] == "Beech Ward"
    assert scanner["category"] == "Equipment" and scanner["action_status"] == "open"


def test_generating_with_htmx_polls_then_offers_the_download(app, client, factory):
    month = seed_month(factory)
    login(client, month.secretary.email)
    token = csrf_token(client, "/reports")
    response = client.post(
        f"/reports/monthly/{month.key}/packs", data={"csrf_token": token}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    fragment = response.get_data(as_text=True)
    assert (
        "<html" not in fragment
        and 'hx-trigger="load delay:1s"' in fragment
        and 'hx-swap="outerHTML"' in fragment
    )
    ((_, _, _, pack_id),) = board_pack_rows(app)
    # A double submit while the pack is being built returns the same pack, not a new version.
    again = client.post(
        f"/reports/monthly/{month.key}/packs", data={"csrf_token": token}, headers={"HX-Request": "true"}
    )
    assert f'id="pack-{pack_id}"' in again.get_data(as_text=True)
    deadline = time.monotonic() + 60
    while True:
        status = client.get(f"/reports/packs/{pack_id}", headers={"HX-Request": "true"}).get_data(
            as_text=True
        )
        if "Ready:" in status or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert "Ready:" in status and "hx-get" not in status and f"/reports/packs/{pack_id}.pdf" in status
    assert client.get(f"/reports/packs/{pack_id}.pdf").data.startswith(b"%PDF-")
    assert len(board_pack_rows(app)) == 1


def test_generating_without_javascript_redirects_to_a_progress_page(app, client, factory):
    app.config["REPORTS_RUNNER"] = "scheduler"  # stays pending: the page must say so and refresh itself
    month = seed_month(factory)
    login(client, month.secretary.email)
    response = post_form(client, f"/reports/monthly/{month.key}/packs", {}, token_from="/reports")
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Queued:" in page and 'http-equiv="refresh"' in page and "<html" in page


def test_a_failed_generation_is_shown_not_a_500(app, client, factory, monkeypatch):
    from walkabout.reports import boardpack
    from walkabout.reports.runner import generate_board_pack

    app.config["REPORTS_RUNNER"] = "scheduler"
    month = seed_month(factory)
    login(client, month.secretary.email)
    post_form(client, f"/reports/monthly/{month.key}/packs", {}, token_from="/reports")
    ((_, _, _, pack_id),) = board_pack_rows(app)

    def broken(*args, **kwargs):
        raise RuntimeError("renderer crashed")

    monkeypatch.setattr(boardpack, "build", broken)
    generate_board_pack(app, pack_id)
    page = client.get(f"/reports/packs/{pack_id}")
    assert page.status_code == 200 and "could not be generated" in page.get_data(as_text=True)
    assert client.get(f"/reports/packs/{pack_id}.pdf").status_code == 404
    assert client.get("/reports/packs/424242").status_code == 404


def test_reports_page_query_count_does_not_grow(app, client, factory, count_queries):
    month = seed_month(factory)
    login(client, month.secretary.email)
    client.get("/reports")
    with count_queries() as counted:
        client.get("/reports")
    before = counted()
    for week in range(1, 6):
        factory.walkabout(
            month.ward,
            month.executive,
            start=month.held.scheduled_start.replace(day=1)
            - __import__("datetime").timedelta(weeks=week * 5),
            status=WalkaboutStatus.COMPLETED,
        )
    with count_queries() as counted:
        client.get("/reports")
    assert counted() == before


def test_dashboard_shows_figures_for_a_range(client, factory, count_queries):
    month = seed_month(factory)
    login(client, month.executive.email)
    last_day = month.first_day.replace(day=28)
    query = f"date_from={month.first_day.isoformat()}&date_to={last_day.isoformat()}"
    response = client.get(f"/dashboard?{query}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<span class="value">4</span><span class="label">planned</span>' in html
    assert '<span class="value">2</span><span class="label">held</span>' in html
    assert '<span class="value">50%</span>' in html and '<span class="value">5.0</span>' in html
    assert f"/dashboard/charts/actions.svg?{query}".replace("&", "&amp;") in html
    for name in ("walkabouts", "concerns", "actions", "categories"):
        chart = client.get(f"/dashboard/charts/{name}.svg?{query}")
        assert chart.status_code == 200 and chart.mimetype == "image/svg+xml"
        svg = chart.get_data(as_text=True)
        assert "<svg" in svg and "<script" not in svg
    assert client.get("/dashboard/charts/nope.svg").status_code == 404


@pytest.mark.parametrize(
    "query, message",
    [
        ("date_from=2026-05-01&date_to=2026-03-01", "The end must be on or after the start."),
        ("date_from=2026-02-30", "Not a valid date value."),
        ("date_to=2999-01-01", "Choose a day up to today."),
        ("date_from=2000-01-01&date_to=2020-01-01", "Choose a range of at most ten years."),
    ],
)
def test_dashboard_bad_ranges_are_explained(client, factory, query, message):
    login(client, factory.user(Role.BOARD_SECRETARY).email)
    response = client.get(f"/dashboard?{query}")
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert client.get(f"/dashboard/charts/actions.svg?{query}").status_code == 400


def test_a_pack_whose_process_died_stops_polling_and_can_be_regenerated(app, client, factory):
    from datetime import timedelta

    from walkabout.db import session_scope
    from walkabout.db_types import utcnow
    from walkabout.models import BoardPack, BoardPackStatus

    app.config["REPORTS_RUNNER"] = "scheduler"
    month = seed_month(factory)
    login(client, month.secretary.email)
    post_form(client, f"/reports/monthly/{month.key}/packs", {}, token_from="/reports")
    ((_, _, _, pack_id),) = board_pack_rows(app)
    with app.app_context(), session_scope(app) as session:
        pack = session.get(BoardPack, pack_id)
        pack.status = BoardPackStatus.RUNNING
        pack.requested_at = utcnow() - timedelta(hours=1)
    status = client.get(f"/reports/packs/{pack_id}", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "stopped before it finished" in status and "hx-get" not in status
    post_form(client, f"/reports/monthly/{month.key}/packs", {}, token_from="/reports")
    assert [(v, s) for _, v, s, _ in board_pack_rows(app)] == [(1, "failed"), (2, "pending")]


def test_dashboard_query_count_does_not_grow(client, factory, count_queries):
    month = seed_month(factory)
    login(client, month.executive.email)
    with count_queries() as cold:
        client.get("/dashboard")
    with count_queries() as warm:  # nothing changed: the figures the process kept
        client.get("/dashboard")
    before = (cold(), warm())
    for _ in range(4):
        held = factory.walkabout(
            month.other_ward,
            month.executive,
            start=month.held.scheduled_start,
            status=WalkaboutStatus.COMPLETED,
        )
        factory.concern(held, "More to report", 4, 4, created_at=month.held.scheduled_start)
    with count_queries() as cold:
        client.get("/dashboard")
    with count_queries() as warm:
        client.get("/dashboard")
    assert (cold(), warm()) == before and warm() < cold()
