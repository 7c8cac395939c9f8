"""The audit log page (issue 17): every entry newest first, filters in the address, pages,
a formula-neutralised CSV; read-only, for administrators and board secretaries."""

import csv
import io
from datetime import UTC, datetime

import pytest

from walkabout.db import session_scope
from walkabout.models import AuditEvent, Role

from .conftest import login
from .test_admin_lists import change

AUDIT = "/admin/audit"


def add_events(app, *events: dict) -> None:
    with session_scope(app) as session:
        for values in events:
            session.add(AuditEvent(**values))


def at(day: int, hour: int = 12) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=UTC)


@pytest.fixture
def people(factory):
    return {
        "admin": factory.user(Role.ADMIN, name="Ada Admin"),
        "exec": factory.user(Role.EXECUTIVE, name="Sarah Exec"),
        "secretary": factory.user(Role.BOARD_SECRETARY, name="Sam Secretary"),
        "manager": factory.user(Role.WARD_MANAGER, name="Mo Manager"),
    }


@pytest.fixture
def trail(app, people):
    """Known entries on known days (trust time is London: GMT in November)."""
    admin, executive = people["admin"].id, people["exec"].id
    add_events(
        app,
        {
            "actor_id": executive,
            "entity_type": "walkabout",
            "entity_id": 7,
            "verb": "started",
            "created_at": at(2),
        },
        {
            "actor_id": executive,
            "entity_type": "concern",
            "entity_id": 11,
            "verb": "created",
            "changes": {"text": '=HYPERLINK("http://evil.example","x")'},
            "created_at": at(3),
        },
        {
            "actor_id": admin,
            "entity_type": "category",
            "entity_id": 3,
            "verb": "renamed",
            "created_at": at(4),
        },
        {
            "actor_id": None,
            "entity_type": "walkabout",
            "entity_id": 7,
            "verb": "reminded",
            "created_at": at(5, 23),
        },
    )


def client_for(app, user):
    client = app.test_client()
    login(client, user.email)
    return client


def listed_verbs(page: str) -> list[str]:
    body = page.split('id="audit-results"')[1]
    return [verb for verb in ("reminded", "renamed", "created", "started") if f"</strong> {verb} " in body]


def test_every_entry_newest_first_with_who_did_it(app, people, trail):
    page = client_for(app, people["admin"]).get(AUDIT).get_data(as_text=True)
    body = page.split('id="audit-results"')[1]
    order = [body.index(verb) for verb in ("reminded", "renamed", "created concern", "started")]
    assert order == sorted(order)
    assert (
        "<strong>System</strong> reminded walkabout" in body and "<strong>Ada Admin</strong> renamed" in body
    )
    assert "4 entries" in body


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?type=walkabout", ["reminded", "started"]),
        ("?type=walkabout&record=7", ["reminded", "started"]),
        ("?record=11", ["created"]),
        ("?from=2026-11-03&to=2026-11-04", ["renamed", "created"]),
        ("?from=2026-11-05", ["reminded"]),  # 23:00 UTC on the 5th is still the 5th in London in November
        ("?to=2026-11-02", ["started"]),
    ],
)
def test_filters_in_the_address(app, people, trail, query, expected):
    page = client_for(app, people["admin"]).get(AUDIT + query).get_data(as_text=True)
    assert [v for v in listed_verbs(page) if v in expected] == expected
    assert len([v for v in listed_verbs(page)]) == len(expected)


def test_the_person_filter_and_its_choices(app, people, trail):
    client = client_for(app, people["admin"])
    page = client.get(f"{AUDIT}?actor={people['exec'].id}").get_data(as_text=True)
    assert listed_verbs(page) == ["created", "started"]
    assert f'<option value="{people["exec"].id}" selected>Sarah Exec</option>' in page
    assert '<option value="concern">concern</option>' in page


@pytest.mark.parametrize(
    "query",
    [
        "?actor=²",
        "?record=abc",
        "?from=2026-13-01",
        "?from=9999-12-31",
        "?to=<script>",
        "?type=nope",
        "?from=2026-11-05&to=2026-11-01",
        "?page=99999",
        "?page=-1",
    ],
)
def test_odd_filters_are_ignored_with_a_message_not_a_500(app, people, trail, query):
    response = client_for(app, people["admin"]).get(AUDIT + query)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "<script>" not in page.split("</header>")[1]
    if "page" not in query:
        assert "Some filters were ignored" in page
    assert len(listed_verbs(page)) == 4


def test_pages_keep_the_filters(app, people, trail):
    app.config["AUDIT_PER_PAGE"] = 1
    client = client_for(app, people["admin"])
    first = client.get(f"{AUDIT}?type=walkabout").get_data(as_text=True)
    assert listed_verbs(first) == ["reminded"] and "page 1 of 2" in first
    assert 'href="/admin/audit?type=walkabout&amp;page=2"' in first
    second = client.get(f"{AUDIT}?type=walkabout&page=2").get_data(as_text=True)
    assert listed_verbs(second) == ["started"]
    fragment = client.get(f"{AUDIT}?type=walkabout&page=2", headers={"HX-Request": "true"}).get_data(
        as_text=True
    )
    assert "<html" not in fragment and "started" in fragment


def test_the_csv_has_the_filtered_entries_newest_first_and_no_formulas(app, people, trail):
    client = client_for(app, people["secretary"])
    page = client.get(f"{AUDIT}?type=concern").get_data(as_text=True)
    assert 'href="/admin/audit.csv?type=concern"' in page
    response = client.get(f"{AUDIT}.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert (
        response.data.startswith(b"\xef\xbb\xbf") and "attachment" in response.headers["Content-Disposition"]
    )
    rows = list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert [row["verb"] for row in rows] == ["reminded", "renamed", "created", "started"]
    assert rows[0]["person"] == "system" and rows[1]["person"] == "Ada Admin"
    assert rows[2]["changes"].startswith('{"text": "=HYPERLINK')  # JSON, so never a formula
    assert not any(value.startswith(("=", "+", "-", "@")) for row in rows for value in row.values())
    filtered = list(
        csv.DictReader(io.StringIO(client.get(f"{AUDIT}.csv?type=concern").data.decode("utf-8-sig")))
    )
    assert [row["record_id"] for row in filtered] == ["11"]


def test_a_cell_starting_like_a_formula_is_neutralised(app, people):
    add_events(
        app, {"actor_id": None, "entity_type": "=cmd", "entity_id": 1, "verb": "@SUM", "created_at": at(1)}
    )
    rows = list(
        csv.reader(io.StringIO(client_for(app, people["admin"]).get(f"{AUDIT}.csv").data.decode("utf-8-sig")))
    )
    assert rows[1][5:8] == ["'=cmd", "1", "'@SUM"]


def test_an_admin_change_shows_in_the_log(app, people):
    client = client_for(app, people["admin"])
    assert change(client, "add", "categories", text="Estates").status_code == 303
    page = client.get(f"{AUDIT}?type=category").get_data(as_text=True)
    assert "<strong>Ada Admin</strong> created category" in page and "Estates" in page


def test_read_only_and_who_may_read_it(app, people, trail):
    for who, status in (("admin", 200), ("secretary", 200), ("exec", 403), ("manager", 403)):
        client = client_for(app, people[who])
        assert client.get(AUDIT).status_code == status, who
        assert client.get(f"{AUDIT}.csv").status_code == status, who
    assert app.test_client().get(AUDIT).status_code == 302  # signed out: to the sign-in page
    routes = [rule for rule in app.url_map.iter_rules() if rule.endpoint.startswith("admin_audit.")]
    assert routes and all("POST" not in rule.methods for rule in routes)
    navigation = client_for(app, people["secretary"]).get("/").get_data(as_text=True)
    assert 'href="/admin/audit"' in navigation
