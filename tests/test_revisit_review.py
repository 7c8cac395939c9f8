"""The pre-visit brief's tick "open actions from the last visit reviewed with the ward" (issue 19):
stored on the walkabout, shown on its page, audited, and counted in the revisit figure."""

from datetime import timedelta

from sqlmodel import select

from walkabout.db import session_scope
from walkabout.db_types import utcnow
from walkabout.models import AuditEvent, Role, Walkabout, WalkaboutStatus

from .conftest import csrf_token, login

LABEL = "Open actions from the last visit reviewed with the ward"


def revisit(factory):
    executive = factory.user(Role.EXECUTIVE)
    ward = factory.ward()
    first = factory.walkabout(
        ward, executive, start=utcnow() - timedelta(days=20), status=WalkaboutStatus.COMPLETED
    )
    factory.action(factory.concern(first, "Hoist sling frayed"), executive, description="Replace the sling")
    second = factory.walkabout(ward, executive, start=utcnow() + timedelta(days=1))
    return executive, second


def reviewed_at(app, walkabout_id):
    with app.app_context(), session_scope(app, write=False) as session:
        return session.get(Walkabout, walkabout_id).open_actions_reviewed_at


def audit_count(app, walkabout_id):
    with app.app_context(), session_scope(app, write=False) as session:
        return len(
            session.exec(
                select(AuditEvent).where(
                    AuditEvent.entity_id == walkabout_id, AuditEvent.verb == "open_actions_reviewed"
                )
            ).all()
        )


def test_the_tick_is_saved_without_javascript_and_a_double_submit_changes_nothing(app, client, factory):
    executive, visit = revisit(factory)
    login(client, executive.email)
    page = client.get(f"/walkabouts/{visit.id}").get_data(as_text=True)
    assert LABEL in page and "Replace the sling" in page and "not yet marked as reviewed" in page
    token = csrf_token(client, f"/walkabouts/{visit.id}")
    url = f"/walkabouts/{visit.id}/open-actions-reviewed"
    first = client.post(url, data={"csrf_token": token, "reviewed": "y"})
    assert first.status_code == 303 and first.headers["Location"].endswith(
        f"/walkabouts/{visit.id}#brief-heading"
    )
    stamp = reviewed_at(app, visit.id)
    assert stamp is not None
    client.post(url, data={"csrf_token": token, "reviewed": "y"})  # sent twice
    assert reviewed_at(app, visit.id) == stamp and audit_count(app, visit.id) == 1
    page = client.get(f"/walkabouts/{visit.id}").get_data(as_text=True)
    assert "Reviewed with the ward" in page and "checked" in page
    client.post(url, data={"csrf_token": token})  # the box cleared
    assert reviewed_at(app, visit.id) is None and audit_count(app, visit.id) == 2


def test_with_htmx_the_tick_answers_with_its_fragment(app, client, factory):
    executive, visit = revisit(factory)
    login(client, executive.email)
    token = csrf_token(client, f"/walkabouts/{visit.id}")
    response = client.post(
        f"/walkabouts/{visit.id}/open-actions-reviewed",
        data={"csrf_token": token, "reviewed": "y"},
        headers={"HX-Request": "true"},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html
    assert 'id="reviewed-tick"' in html and "Reviewed with the ward" in html and "Saved." in html


def test_only_executives_tick_and_never_on_a_cancelled_walkabout(app, client, factory):
    executive, visit = revisit(factory)
    manager = factory.user(Role.WARD_MANAGER)
    login(client, manager.email)
    token = csrf_token(client, "/")
    assert client.post(
        f"/walkabouts/{visit.id}/open-actions-reviewed", data={"csrf_token": token}
    ).status_code in (
        403,
        404,
    )
    cancelled = factory.walkabout(
        factory.ward(),
        executive,
        status=WalkaboutStatus.CANCELLED,
        cancel_reason="Outbreak",
    )
    client.post("/logout", data={"csrf_token": token})
    login(client, executive.email)
    token = csrf_token(client, "/")
    response = client.post(
        f"/walkabouts/{cancelled.id}/open-actions-reviewed", data={"csrf_token": token, "reviewed": "y"}
    )
    assert response.status_code == 409 and "cancelled" in response.get_data(as_text=True)
    assert reviewed_at(app, cancelled.id) is None
    assert (
        client.post("/walkabouts/999999/open-actions-reviewed", data={"csrf_token": token}).status_code == 404
    )
