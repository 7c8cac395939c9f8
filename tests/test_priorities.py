"""Staff voice, part 1 (issue 18): at read-back the team marks at most three items staff care
most about; they come first on the walkabout, the follow-up summary and the ward page, with
their own fix rate."""

import html
import re
from io import BytesIO

import pytest
from pypdf import PdfReader
from sqlmodel import select

from walkabout import rules
from walkabout.db import session_scope
from walkabout.models import (
    ActionStatus,
    AuditEvent,
    Concern,
    ConcernKind,
    ConcernStatus,
    Role,
    Walkabout,
    WalkaboutStatus,
    Ward,
)

from .conftest import login, post_form

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@pytest.fixture
def team(factory):
    lead = factory.user(Role.EXECUTIVE, name="Eve Lead")
    ward = factory.ward(name="Beech Ward")
    walkabout = factory.walkabout(ward, lead, status=WalkaboutStatus.IN_PROGRESS)
    items = [factory.concern(walkabout, text=f"Concern number {n}") for n in range(1, 6)]
    good = factory.concern(walkabout, text="Lovely handover", kind=ConcernKind.GOOD_PRACTICE)
    return dict(lead=lead, ward=ward, walkabout=walkabout, items=items, good=good)


def signed_in(app, user):
    client = app.test_client()
    login(client, user.email)
    return client


def readback_path(walkabout) -> str:
    return f"/walkabouts/{walkabout.id}/readback"


def mark(client, walkabout, concern, choice="yes"):
    return post_form(
        client,
        f"/walkabouts/{walkabout.id}/concerns/{concern.id}/priority",
        {"priority": choice},
        token_from=readback_path(walkabout),
    )


def marked(app, walkabout) -> set[int]:
    with session_scope(app) as session:
        return set(
            session.exec(
                select(Concern.id).where(Concern.walkabout_id == walkabout.id, Concern.priority)
            ).all()
        )


def text_of(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def test_the_team_marks_three_priorities_and_a_fourth_is_refused_with_a_message(app, team):
    client = signed_in(app, team["lead"])
    walkabout, items = team["walkabout"], team["items"]
    for concern in items[:3]:
        response = mark(client, walkabout, concern)
        assert response.status_code == 303
        assert response.headers["Location"].endswith(f"/readback#readback-{concern.id}")
    assert marked(app, walkabout) == {c.id for c in items[:3]}
    page = text_of(client.get(readback_path(walkabout)).get_data(as_text=True))
    assert "(3 of 3 chosen)" in page and page.count("Not a priority") == 3

    refused = mark(client, walkabout, items[3])
    assert refused.status_code == 400
    assert rules.TOO_MANY_PRIORITIES in text_of(refused.get_data(as_text=True))
    assert marked(app, walkabout) == {c.id for c in items[:3]}

    # Changeable until completion: take one off, mark another; a double tap changes nothing.
    assert mark(client, walkabout, items[0], "no").status_code == 303
    assert mark(client, walkabout, items[3]).status_code == 303
    assert mark(client, walkabout, items[3]).status_code == 303
    assert marked(app, walkabout) == {items[1].id, items[2].id, items[3].id}
    with session_scope(app) as session:
        verbs = session.exec(
            select(AuditEvent.verb).where(
                AuditEvent.entity_type == "concern", AuditEvent.entity_id == items[0].id
            )
        ).all()
    assert verbs == ["prioritised", "unprioritised"]


def test_priorities_are_refused_for_good_practice_bad_values_outsiders_and_after_completion(
    app, factory, team
):
    walkabout, first = team["walkabout"], team["items"][0]
    client = signed_in(app, team["lead"])
    good = mark(client, walkabout, team["good"])
    assert good.status_code == 400 and "not good practice" in text_of(good.get_data(as_text=True))
    for odd in ("", "maybe", "YES", "<b>", "\u00b2"):
        response = mark(client, walkabout, first, odd)
        assert response.status_code == 400, odd
        assert "Choose whether this item is a priority." in text_of(response.get_data(as_text=True))
    assert (
        mark(client, walkabout, factory.concern(factory.walkabout(team["ward"], team["lead"]))).status_code
        == 404
    )
    outsider = signed_in(app, factory.user(Role.EXECUTIVE))
    assert mark(outsider, walkabout, first).status_code == 403
    manager = signed_in(app, factory.user(Role.WARD_MANAGER))
    assert mark(manager, walkabout, first).status_code == 403
    assert marked(app, walkabout) == set()

    with session_scope(app) as session:
        session.get(Walkabout, walkabout.id).status = WalkaboutStatus.COMPLETED
    late = mark(client, walkabout, first)
    assert late.status_code == 409 and marked(app, walkabout) == set()
    page = client.get(readback_path(walkabout)).get_data(as_text=True)
    assert "Mark as a priority" not in page


@pytest.fixture
def completed(app, factory):
    lead = factory.user(Role.EXECUTIVE, name="Eve Lead")
    manager = factory.user(Role.WARD_MANAGER, name="Mo Manager")
    ward = factory.ward(name="Beech Ward", managers=(manager,))
    walkabout = factory.walkabout(ward, lead, status=WalkaboutStatus.COMPLETED)
    high = factory.concern(walkabout, text="High risk, not a priority", likelihood=5, consequence=5)
    fixed = factory.concern(
        walkabout, text=f"Fixed priority {HOSTILE}", likelihood=1, consequence=1, priority=True
    )
    fixed_action = factory.action(fixed, manager, description="Mend it", status=ActionStatus.VERIFIED)
    with session_scope(app) as session:
        session.get(Concern, fixed.id).status = ConcernStatus.RESOLVED
        session.get(Ward, ward.id).public_token = "p" * 32
    open_priority = factory.concern(
        walkabout, text="Open priority", likelihood=1, consequence=2, priority=True
    )
    return dict(
        lead=lead,
        walkabout=walkabout,
        high=high,
        fixed=fixed,
        open_priority=open_priority,
        action=fixed_action,
    )


def test_priorities_come_first_on_the_walkabout_with_their_fix_rate(app, completed):
    client = signed_in(app, completed["lead"])
    page = client.get(f"/walkabouts/{completed['walkabout'].id}").get_data(as_text=True)
    assert HOSTILE not in page and html.escape(HOSTILE, quote=False) in page.replace("&#34;", '"')
    text = text_of(page)
    assert "Staff's priorities: 1 of 2 fixed" in text
    # Priorities first (by risk among them), then the rest, however high their risk.
    assert (
        text.index("Open priority") < text.index("Fixed priority") < text.index("High risk, not a priority")
    )


def test_priorities_come_first_on_the_follow_up_summary_pdf(app, completed):
    client = signed_in(app, completed["lead"])
    response = client.get(f"/walkabouts/{completed['walkabout'].id}/summary.pdf")
    assert response.status_code == 200
    text = re.sub(
        r"\s+", " ", " ".join(page.extract_text() for page in PdfReader(BytesIO(response.data)).pages)
    )
    assert "Your priorities" in text and "1 of 2 fixed so far" in text
    assert text.index("Your priorities") < text.index("What you raised")
    assert text.index("Priority 1 Open priority") < text.index("Priority 2 Fixed priority")
    assert "alert(1)" in text  # the hostile text is printed as text, not run


def test_priorities_come_first_on_the_public_ward_page(app, completed):
    response = app.test_client().get("/you-said-we-did/" + "p" * 32)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "<script>alert" not in page
    text = text_of(page)
    assert text.count("Staff priority") == 2
    # The resolved priority comes before the high-risk concern still being looked at.
    assert text.index("Fixed priority") < text.index("High risk, not a priority")
    assert text.index("Open priority") < text.index("High risk, not a priority")
