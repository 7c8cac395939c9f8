"""You said, we did: the public ward page shows nothing internal and nothing from
other wards; links are revocable; feedback given is recorded."""

import re
from datetime import timedelta

import pytest
from sqlmodel import select

from walkabout.db import session_scope
from walkabout.db_types import utcnow
from walkabout.models import (
    ActionStatus,
    AuditEvent,
    ConcernKind,
    ConcernStatus,
    FeedbackDelivery,
    Role,
    Ward,
)
from walkabout.services import actions
from walkabout.timeutil import local_today

from .conftest import login, post_form

INTERNAL = [
    "Internal progress note",
    "Supplier invoice 4471",
    "Verifier private remark",
    "Reopen: not good enough",
    "Owen Owner",
    "Staff nurse band 5",
    "Sensitive immediate internal",
    "risk 20",
]


@pytest.fixture
def world(app, factory):
    executive = factory.user(Role.EXECUTIVE, name="Erin Exec")
    owner = factory.user(Role.WARD_MANAGER, name="Owen Owner")
    ward = factory.ward(name="Beech Ward", managers=(owner,))
    other = factory.ward(name="Cedar Ward")
    walkabout = factory.walkabout(ward, executive, status="completed")
    said = factory.concern(
        walkabout,
        text="Hoist sling is frayed",
        likelihood=4,
        consequence=5,
        raised_by_role="Staff nurse band 5",
    )
    done = factory.action(said, owner, description="Replace the sling", status=ActionStatus.OPEN)
    doing = factory.action(said, owner, description="Train staff on sling checks")
    quiet = factory.concern(
        walkabout,
        text="Noise at night",
        status=ConcernStatus.NO_ACTION_NEEDED,
        no_action_reason="Quiet hours start at 22:00 already",
    )
    factory.concern(walkabout, text="Removed concern text", deleted_at=utcnow())
    factory.concern(walkabout, text="Lovely handover practice", kind=ConcernKind.GOOD_PRACTICE)
    factory.concern(factory.walkabout(other, executive), text="Cedar only concern")
    with app.app_context(), session_scope(app) as session:
        actor = session.get(type(executive), executive.id)
        today = local_today()
        first = session.get(type(done), done.id)
        actions.post_update(session, actor, first, "Internal progress note")
        actions.change_due_date(
            session, actor, first, today + timedelta(days=3), "Supplier invoice 4471", 2, today
        )
        actions.complete(session, actor, first, "New slings fitted on every hoist", 3)
        actions.reopen(session, actor, first, "Reopen: not good enough", 4)
        actions.complete(session, actor, first, "New slings fitted on every hoist", 5)
        actions.verify(session, actor, first, "Verifier private remark", 6)
        session.get(Ward, ward.id).public_token = "b" * 32
        session.get(Ward, other.id).public_token = "c" * 32
    return dict(executive=executive, owner=owner, ward=ward, other=other, quiet=quiet, doing=doing)


def test_public_page_shows_what_was_said_and_done_and_nothing_internal(client, world):
    response = client.get("/you-said-we-did/" + "b" * 32)
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert (
        response.headers["Referrer-Policy"] == "no-referrer" and "noindex" in response.headers["X-Robots-Tag"]
    )
    assert "Beech Ward" in body and "Hoist sling is frayed" in body
    assert "New slings fitted on every hoist" in body and "Train staff on sling checks" in body
    assert "Quiet hours start at 22:00 already" in body and "In progress" in body
    hidden = [*INTERNAL, "Cedar only concern", "Removed concern text", "Lovely handover practice"]
    for text in [*hidden, "Sign out", "/actions/"]:
        assert text not in body, text
    other = client.get("/you-said-we-did/" + "c" * 32).get_data(as_text=True)
    assert "Cedar only concern" in other and "Hoist sling" not in other


def test_public_page_escapes_hostile_text(client, factory, world):
    factory.concern(factory.walkabout(world["ward"], world["executive"]), text="<script>alert(1)</script>")
    body = client.get("/you-said-we-did/" + "b" * 32).get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body and "<script>alert(1)" not in body


def test_revoking_and_regenerating_the_link(app, client, world):
    login(client, world["executive"].email)
    ward_page = f"/wards/{world['ward'].id}/feedback"
    page = client.get(ward_page).get_data(as_text=True)
    assert "/you-said-we-did/" + "b" * 32 in page and 'src="/you-said-we-did/' + "b" * 32 + '/qr.svg"' in page
    assert post_form(client, f"{ward_page}/link", {}, token_from=ward_page).status_code == 303
    with session_scope(app) as session:
        token = session.get(Ward, world["ward"].id).public_token
    assert token != "b" * 32 and len(token) >= 32
    public = app.test_client()
    assert public.get("/you-said-we-did/" + "b" * 32).status_code == 404
    assert public.get("/you-said-we-did/" + "b" * 32 + "/qr.svg").status_code == 404
    assert public.get(f"/you-said-we-did/{token}").status_code == 200
    qr = public.get(f"/you-said-we-did/{token}/qr.svg")
    assert qr.status_code == 200 and qr.headers["Content-Type"] == "image/svg+xml"
    assert b"<svg" in qr.data and b"<script" not in qr.data
    assert post_form(client, f"{ward_page}/link/revoke", {}, token_from=ward_page).status_code == 303
    assert public.get(f"/you-said-we-did/{token}").status_code == 404
    assert "page is not shared" in client.get(ward_page).get_data(as_text=True)
    response = post_form(client, f"{ward_page}/link/revoke", {}, token_from=ward_page)
    assert "is not shared" in client.get(response.headers["Location"]).get_data(as_text=True)
    with session_scope(app) as session:
        verbs = session.exec(
            select(AuditEvent.verb).where(AuditEvent.entity_type == "ward").order_by(AuditEvent.id)
        ).all()
        assert verbs == ["public_link_regenerated", "public_link_revoked"]


def test_executive_records_feedback_delivered(app, client, world):
    login(client, world["executive"].email)
    ward_page = f"/wards/{world['ward'].id}/feedback"
    with app.app_context():
        today = local_today()
    response = post_form(
        client,
        f"{ward_page}/deliveries",
        {"delivered_on": (today + timedelta(days=1)).isoformat(), "method": "Staff huddle", "notes": "x"},
    )
    assert response.status_code == 400 and "in the future" in response.get_data(as_text=True)
    response = post_form(
        client, f"{ward_page}/deliveries", {"delivered_on": today.isoformat(), "method": "Hacked method"}
    )
    assert response.status_code == 400
    page = client.get(ward_page).get_data(as_text=True)
    walkabout_option = re.search(r'<option value="(\d+)">', page.split('name="walkabout_id"')[1]).group(1)
    response = post_form(
        client,
        f"{ward_page}/deliveries",
        {
            "delivered_on": today.isoformat(),
            "method": "Staff huddle",
            "walkabout_id": walkabout_option,
            "notes": "<b>Read out</b> at handover",
        },
    )
    assert response.status_code == 303
    page = client.get(ward_page).get_data(as_text=True)
    assert "&lt;b&gt;Read out&lt;/b&gt; at handover" in page and "by Erin Exec" in page
    with session_scope(app) as session:
        delivery = session.exec(select(FeedbackDelivery)).one()
        assert (delivery.ward_id, delivery.walkabout_id, delivery.method) == (
            world["ward"].id,
            int(walkabout_option),
            "Staff huddle",
        )
    overview = client.get("/feedback").get_data(as_text=True)
    assert "feedback last given" in overview and "(1 in all)" in overview


def test_manager_sees_only_their_wards_page_and_cannot_share(client, world):
    login(client, world["owner"].email)
    overview = client.get("/feedback").get_data(as_text=True)
    assert "Beech Ward" in overview and "Cedar Ward" not in overview
    page = client.get(f"/wards/{world['ward'].id}/feedback").get_data(as_text=True)
    assert "qr.svg" in page and "Stop sharing" not in page and "Record feedback given" not in page
    assert client.get(f"/wards/{world['other'].id}/feedback").status_code == 403


def test_public_page_queries_do_not_grow_with_rows(app, client, factory, world, count_queries):
    path = "/you-said-we-did/" + "b" * 32
    client.get(path)
    with count_queries() as few:
        client.get(path)
    walkabout = factory.walkabout(world["ward"], world["executive"])
    for i in range(8):
        factory.action(factory.concern(walkabout, text=f"More {i}"), world["owner"])
    with count_queries() as many:
        body = client.get(path).get_data(as_text=True)
    assert many() == few() and "More 7" in body
