"""XSS payloads in every text field: stored, then shown escaped in the HTML pages,
in the notification emails (their HTML part) and as literal text in the follow-up
summary PDF, for which WeasyPrint fetches nothing but the app's own files."""

import re
from datetime import UTC, datetime, time, timedelta
from email import policy
from email.parser import BytesParser
from io import BytesIO
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader

from walkabout.db import session_scope
from walkabout.db_types import utcnow
from walkabout.models import (
    ActionStatus,
    ActionUpdate,
    ActionUpdateKind,
    Category,
    Concern,
    ConcernKind,
    ConcernStatus,
    FeedbackDelivery,
    FeedbackKind,
    FeedbackUpdate,
    Role,
    User,
    WalkaboutStatus,
    Ward,
)
from walkabout.reports import pdf as pdf_module
from walkabout.services import feedback as feedback_service

from .conftest import login

# Each text field gets its own numbered payload, so a page can be checked for exactly the fields it shows.
FIELDS = {
    "concern text": 11,
    "immediate action": 12,
    "raised-by role": 13,
    "action description": 14,
    "action update": 15,
    "closure note": 16,
    "focus": 17,
    "guests": 18,
    "walkabout notes": 19,
    "cancel reason": 20,
    "late note": 21,
    "lead's name": 22,
    "ward name": 23,
    "site name": 24,
    "category": 25,
    "summary notes": 26,
    "feedback update": 27,
    "no-action reason": 28,
    "job title": 29,
    "specialty": 30,
    "delivery notes": 31,
    "manager's name": 32,
    "good practice": 33,
}


def payload(field: str) -> str:
    return f'"><script>alert({FIELDS[field]})</script>'


def escaped(field: str) -> str:
    return f"&#34;&gt;&lt;script&gt;alert({FIELDS[field]})&lt;/script&gt;"


RAW = re.compile(r"<script>alert\(\d+\)")


@pytest.fixture
def hostile_world(app, factory, tmp_path):
    """A ward whose every text field (names included) carries a payload."""
    app.instance_path = str(tmp_path / "instance")  # this test's own outbox
    P = payload
    executive = factory.user(Role.EXECUTIVE, name=P("lead's name"))
    manager = factory.user(Role.WARD_MANAGER, name=P("manager's name"))
    admin = factory.user(Role.ADMIN)
    site = factory.site(name=P("site name"))
    ward = factory.ward(site, name=P("ward name"), managers=(manager,))
    now = utcnow()
    # Held today in London, whatever the hour (the Today tab lists it): from 2 hours ago or midnight.
    london = ZoneInfo("Europe/London")
    midnight = datetime.combine(now.astimezone(london).date(), time(0), london).astimezone(UTC)
    start = max(now - timedelta(hours=2), midnight)
    done = factory.walkabout(
        ward,
        executive,
        start=start,
        status=WalkaboutStatus.COMPLETED,
        started_at=start,
        completed_at=max(start, now - timedelta(minutes=5)),
        focus=P("focus"),
        guests=P("guests"),
        notes=P("walkabout notes"),
        summary_notes=P("summary notes"),
        late_notes=P("late note"),
        staff_participation={"Staff nurse": 2},
    )
    cancelled = factory.walkabout(
        ward,
        executive,
        status=WalkaboutStatus.CANCELLED,
        cancelled_at=now,
        cancel_reason=P("cancel reason"),
        cancelled_by_id=executive.id,
    )
    with app.app_context(), session_scope(app) as session:  # its CANCEL, as cancel_walkabout plans it
        from walkabout.models import Walkabout
        from walkabout.services.invitations import plan_walkabout

        plan_walkabout(session, session.get(Walkabout, cancelled.id))
    with session_scope(app) as session:
        category = Category(name=P("category"), sort_order=99)
        user = session.get(User, executive.id)
        user.job_title = P("job title")
        session.add(category)
        session.flush()
        category_id = category.id
    with session_scope(app) as session:
        session.get(Ward, ward.id).specialty = P("specialty")
    concern = factory.concern(
        done,
        text=P("concern text"),
        likelihood=4,
        consequence=4,
        immediate_action=P("immediate action"),
        raised_by_role=P("raised-by role"),
    )
    with session_scope(app) as session:
        session.get(Concern, concern.id).category_id = category_id
    good = factory.concern(done, text=P("good practice"), kind=ConcernKind.GOOD_PRACTICE)
    no_action = factory.concern(
        done,
        text="Handover sheet",
        status=ConcernStatus.NO_ACTION_NEEDED,
        no_action_reason=P("no-action reason"),
    )
    action = factory.action(concern, manager, description=P("action description"))
    closed = factory.action(
        concern,
        manager,
        status=ActionStatus.COMPLETED,
        description="Fix the door",
        closure_note=P("closure note"),
        completed_at=now,
        completed_by_id=manager.id,
    )
    with session_scope(app) as session:
        session.add(
            ActionUpdate(
                action_id=action.id,
                author_id=manager.id,
                kind=ActionUpdateKind.COMMENT,
                text=P("action update"),
            )
        )
        session.add(
            FeedbackDelivery(
                ward_id=ward.id,
                walkabout_id=done.id,
                delivered_at=now,
                method="Staff huddle",
                notes=P("delivery notes"),
                delivered_by_id=executive.id,
            )
        )
        session.add(
            FeedbackUpdate(
                concern_id=concern.id,
                kind=FeedbackKind.FINAL,
                text=P("feedback update"),
                author_id=executive.id,
            )
        )
        token = feedback_service.share(session, session.get(User, executive.id), session.get(Ward, ward.id))
    return {
        "token": token,
        "E": executive,
        "M": manager,
        "A": admin,
        "ward": ward,
        "site": site,
        "done": done,
        "cancelled": cancelled,
        "concern": concern,
        "good": good,
        "no_action": no_action,
        "action": action,
        "closed": closed,
    }


def check_page(client, url: str, fields: list[str]) -> None:
    response = client.get(url)
    assert response.status_code == 200, url
    body = response.get_data(as_text=True)
    assert not RAW.search(body), f"{url} shows an unescaped payload: {RAW.search(body).group(0)}"
    missing = [field for field in fields if escaped(field) not in body]
    assert not missing, f"{url} does not show these fields escaped: {missing}"


def test_html_pages_show_every_payload_escaped(app, hostile_world):
    w = hostile_world
    executive = app.test_client()
    login(executive, w["E"].email)
    done, action = w["done"].id, w["action"].id
    check_page(
        executive,
        f"/walkabouts/{done}",
        [
            *("focus", "guests", "ward name", "site name", "lead's name", "job title", "concern text"),
            *(
                "feedback update",
                "no-action reason",
                "action description",
                "manager's name",
            ),
        ],
    )
    check_page(
        executive, f"/concerns/{w['concern'].id}/feedback", ["concern text", "feedback update", "ward name"]
    )
    check_page(
        app.test_client(),
        f"/you-said-we-did/{w['token']}",
        ["concern text", "feedback update", "closure note", "no-action reason", "ward name"],
    )
    check_page(executive, f"/walkabouts/{w['cancelled'].id}", ["cancel reason", "ward name"])
    check_page(executive, "/walkabouts?tab=today&mine=0", ["ward name", "focus", "lead's name"])
    check_page(
        executive,
        f"/walkabouts/{done}/readback",
        [
            "concern text",
            "immediate action",
            "raised-by role",
            "good practice",
            "late note",
            "category",
            "summary notes",
            "delivery notes",
        ],
    )
    check_page(
        executive,
        f"/concerns/{w['concern'].id}/actions/new",
        ["concern text", "immediate action", "raised-by role", "action description", "manager's name"],
    )
    check_page(executive, f"/concerns/{w['no_action'].id}/actions/new", ["no-action reason"])
    check_page(
        executive,
        f"/actions/{action}",
        ["action description", "action update", "concern text", "manager's name", "ward name"],
    )
    check_page(executive, f"/actions/{w['closed'].id}", ["closure note"])
    check_page(executive, "/actions", ["action description", "ward name", "manager's name"])
    check_page(executive, f"/wards/{w['ward'].id}/feedback", ["delivery notes", "ward name", "lead's name"])
    check_page(executive, "/", [])

    admin = app.test_client()
    login(admin, w["A"].email)
    check_page(admin, "/admin/users", ["lead's name", "manager's name"])
    check_page(admin, f"/admin/users/{w['E'].id}", ["lead's name", "job title"])
    check_page(admin, "/admin/wards", ["ward name", "site name", "specialty"])
    check_page(admin, "/admin/sites", ["site name"])
    check_page(admin, f"/admin/wards/{w['ward'].id}", ["ward name", "specialty", "manager's name"])


def test_htmx_fragments_show_payloads_escaped(app, hostile_world):
    client = app.test_client()
    login(client, hostile_world["E"].email)
    for url in ("/actions?q=a", "/walkabouts?tab=today&mine=0"):
        response = client.get(url, headers={"HX-Request": "true"})
        assert response.status_code == 200
        assert not RAW.search(response.get_data(as_text=True)), url


def read_outbox(app) -> list:
    folder = Path(app.instance_path) / "outbox"
    parser = BytesParser(policy=policy.default)
    return [parser.parsebytes(path.read_bytes()) for path in sorted(folder.glob("*.eml"))]


def pdf_text(data: bytes) -> str:
    text = "".join(page.extract_text() for page in PdfReader(BytesIO(data)).pages)
    return re.sub(r"\s+", "", text)


@pytest.fixture
def fetched(monkeypatch):
    """Every URL WeasyPrint asks the locked fetcher for, and every one it refused."""
    seen = {"asked": [], "refused": []}
    original = pdf_module.LockedFetcher.fetch

    def spy(self, url, headers=None):
        seen["asked"].append(url)
        try:
            return original(self, url, headers)
        except pdf_module.FetchRefused:
            seen["refused"].append(url)
            raise

    monkeypatch.setattr(pdf_module.LockedFetcher, "fetch", spy)
    return seen


def own_files_only(urls: list[str]) -> bool:
    return all(url.startswith(("data:", f"{pdf_module.BASE_URL}static/")) for url in urls)


PDF_FIELDS = [
    "concern text",
    "immediate action",
    "raised-by role",
    "action description",
    "ward name",
    "site name",
    "lead's name",
    "job title",
    "guests",
    "category",
    "good practice",
    "feedback update",
    "no-action reason",
]


def test_summary_pdf_shows_payloads_as_literal_text_and_fetches_nothing(app, hostile_world, fetched):
    client = app.test_client()
    login(client, hostile_world["E"].email)
    response = client.get(f"/walkabouts/{hostile_world['done'].id}/summary.pdf")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/pdf"
    text = pdf_text(response.data)
    missing = [field for field in PDF_FIELDS if payload(field) not in text]
    assert not missing, f"the PDF does not show these payloads as text: {missing}"
    assert not fetched["refused"], fetched["refused"]
    assert own_files_only(fetched["asked"]), fetched["asked"]


def test_notification_emails_escape_payloads(app, hostile_world, fetched):
    from walkabout.scheduler import send_cycle

    result = send_cycle(app, utcnow())
    assert result["failed"] == 0
    messages = read_outbox(app)
    by_subject = {message["Subject"]: message for message in messages}
    summary = next(m for s, m in by_subject.items() if s.startswith("Follow-up from the walkabout"))
    new_action = next(m for s, m in by_subject.items() if s.startswith("New action for you"))
    cancelled = next(m for s, m in by_subject.items() if "Cancelled: walkabout" in s)
    for message, fields in (
        (summary, ["ward name", "manager's name"]),
        (new_action, ["action description", "concern text", "manager's name", "ward name"]),
        (cancelled, ["cancel reason", "lead's name", "site name", "ward name"]),
    ):
        html = message.get_body(("html",)).get_content()
        assert not RAW.search(html), f"{message['Subject']}: unescaped payload in the HTML part"
        missing = [field for field in fields if escaped(field) not in html]
        assert not missing, f"{message['Subject']}: not shown escaped: {missing}"
        plain = message.get_body(("plain",)).get_content()
        assert all(payload(field) in plain for field in fields)  # plain text shows it literally
    attachment = next(
        part for part in summary.iter_attachments() if part.get_content_type() == "application/pdf"
    )
    assert payload("concern text") in pdf_text(attachment.get_content())
    assert not fetched["refused"] and own_files_only(fetched["asked"])


def test_nul_bytes_anywhere_in_a_request_are_refused_not_stored(app, hostile_world):
    """PostgreSQL text cannot hold NUL: a form value, query argument or URL part with one is a 400."""
    from .conftest import csrf_token

    client = app.test_client()
    assert client.get("/you-said-we-did/ab%00cd").status_code == 400
    login(client, hostile_world["A"].email)
    assert client.get("/actions?q=a%00b").status_code == 400
    token = csrf_token(client, "/admin/sites")
    response = client.post("/admin/sites/new", data={"csrf_token": token, "name": "North\x00Site"})
    assert response.status_code == 400
    assert "not allowed (NUL)" in response.get_data(as_text=True)
    response = client.post("/admin/sites/new", data={"csrf_token": token, "name": "North Site"})
    assert response.status_code == 303


def test_payloads_typed_into_the_forms_are_stored_and_shown_escaped(app, factory):
    """The same payloads sent through the real forms, then read back on the pages that show them."""
    from .conftest import post_form
    from .hostile import build_world

    world = build_world(app, factory)
    ids, users = world.ids, world.users
    executive, manager, admin = app.test_client(), app.test_client(), app.test_client()
    login(executive, users["E"].email)
    login(manager, users["M"].email)
    login(admin, users["A"].email)
    capture = f"/walkabouts/{ids['in_progress']}/capture"
    sent = post_form(
        executive,
        f"/walkabouts/{ids['in_progress']}/concerns",
        {
            "kind": "concern",
            "text": payload("concern text"),
            "immediate_action": payload("immediate action"),
            "raised_by_role": payload("raised-by role"),
            "category_id": ids["category"],
            "likelihood": "3",
            "consequence": "3",
        },
        token_from=capture,
    )
    assert sent.status_code == 303
    check_page(executive, capture, ["concern text", "immediate action", "raised-by role"])
    action_page = f"/actions/{ids['action']}"
    assert (
        post_form(
            manager,
            f"{action_page}/updates",
            {"progress-text": payload("action update"), "progress-version": "1"},
            token_from=action_page,
        ).status_code
        == 303
    )
    check_page(manager, action_page, ["action update"])
    planned = f"/walkabouts/{ids['planned']}"
    assert (
        post_form(
            executive,
            f"{planned}/cancel",
            {"reason": payload("cancel reason"), "version": "1"},
            token_from=f"{planned}/cancel",
        ).status_code
        == 303
    )
    check_page(executive, planned, ["cancel reason"])
    assert (
        post_form(
            admin,
            "/admin/sites/new",
            {"name": payload("site name"), "active": "y"},
            token_from="/admin/sites",
        ).status_code
        == 303
    )
    check_page(admin, "/admin/sites", ["site name"])
