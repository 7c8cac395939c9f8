"""The action pages: assigning, working, conflicts, bad input and the home page."""

import io
import re
from datetime import timedelta

import pytest
from PIL import Image
from sqlmodel import select

from walkabout.db import session_scope
from walkabout.models import Action, ActionStatus, AuditEvent, Concern, ConcernStatus, Photo, Role
from walkabout.timeutil import local_today

from .conftest import csrf_from, login, post_form

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@pytest.fixture
def world(app, factory):
    executive = factory.user(Role.EXECUTIVE, name="Erin Exec")
    manager = factory.user(Role.WARD_MANAGER, name="Mo Manager")
    ward = factory.ward(name="Beech Ward", managers=(manager,))
    walkabout = factory.walkabout(ward, executive)
    concern = factory.concern(walkabout, text="Hoist sling frayed", likelihood=4, consequence=4)  # extreme
    with app.app_context():
        today = local_today()
    return dict(
        executive=executive, manager=manager, ward=ward, walkabout=walkabout, concern=concern, today=today
    )


def jpeg_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 30)).save(out, "JPEG")
    return out.getvalue()


def test_assign_page_defaults_and_creates_the_action(app, client, world):
    login(client, world["executive"].email)
    page = client.get(f"/concerns/{world['concern'].id}/actions/new").get_data(as_text=True)
    due = (world["today"] + timedelta(days=7)).isoformat()  # extreme: 7 days
    assert f'value="{due}"' in page
    assert re.search(
        rf'<option selected value="{world["manager"].id}">'
        r"Mo Manager \u2014 Ward manager \(manages this ward\)",
        page,
    )
    response = post_form(
        client,
        f"/concerns/{world['concern'].id}/actions/new",
        {
            "description": "Replace the sling",
            "owner_id": world["manager"].id,
            "due_date": due,
            "then": "another",
        },
    )
    assert response.status_code == 303
    assert response.headers["Location"] == f"/concerns/{world['concern'].id}/actions/new"
    with session_scope(app) as session:
        action = session.exec(select(Action)).one()
        assert (action.owner_id, action.priority, action.due_date.isoformat()) == (
            world["manager"].id,
            "extreme",
            due,
        )


def test_due_date_defaults_come_from_the_config(app, client, world):
    app.config["ACTION_DUE_DAYS"] = {"extreme": 2, "high": 14, "moderate": 30, "low": 60}
    login(client, world["executive"].email)
    page = client.get(f"/concerns/{world['concern'].id}/actions/new").get_data(as_text=True)
    assert f'value="{(world["today"] + timedelta(days=2)).isoformat()}"' in page


def test_assign_refuses_bad_input_and_keeps_the_text(app, client, factory, world):
    secretary = factory.user(Role.BOARD_SECRETARY, name="Sec Retary")
    inactive = factory.user(Role.WARD_MANAGER, name="Gone Away", active=False)
    login(client, world["executive"].email)
    path = f"/concerns/{world['concern'].id}/actions/new"
    past = (world["today"] - timedelta(days=1)).isoformat()
    response = post_form(
        client, path, {"description": HOSTILE, "owner_id": world["manager"].id, "due_date": past}
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 400 and "The due date is in the past" in body
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in body and "<script>alert" not in body
    for owner in (secretary, inactive):  # not offered, and refused when posted anyway
        response = post_form(
            client, path, {"description": "x", "owner_id": owner.id, "due_date": world["today"].isoformat()}
        )
        assert response.status_code == 400 and "Not a valid choice" in response.get_data(as_text=True)
    response = post_form(client, path, {"description": "", "owner_id": "", "due_date": "not a date"})
    body = response.get_data(as_text=True)
    assert (
        response.status_code == 400
        and "Write what needs doing." in body
        and "Not a valid date value." in body
    )
    with session_scope(app) as session:
        assert session.exec(select(Action)).all() == []


def test_one_tap_ward_fix_and_no_action_needed(app, client, factory, world):
    fixable = factory.concern(
        world["walkabout"], text="Sluice door sticks", likelihood=1, consequence=2, ward_can_fix=True
    )
    login(client, world["executive"].email)
    page = client.get(f"/concerns/{fixable.id}/actions/new").get_data(as_text=True)
    assert "Assign to Mo Manager" in page
    response = post_form(
        client,
        f"/concerns/{fixable.id}/actions/ward-fix",
        {"version": "1"},
        token_from=f"/concerns/{fixable.id}/actions/new",
    )
    assert response.status_code == 303
    quiet = factory.concern(world["walkabout"], text="Noise at night")
    response = post_form(
        client,
        f"/concerns/{quiet.id}/no-action",
        {"noaction-reason": "", "noaction-version": "1"},
        token_from="/actions",
    )
    assert response.status_code == 400 and "Write why no action is needed." in response.get_data(as_text=True)
    response = post_form(
        client,
        f"/concerns/{quiet.id}/no-action",
        {"noaction-reason": "Quiet hours already in place", "noaction-version": "1"},
        token_from="/actions",
    )
    assert response.status_code == 303
    with session_scope(app) as session:
        action = session.exec(select(Action).where(Action.concern_id == fixable.id)).one()
        assert action.owner_id == world["manager"].id
        assert action.due_date == world["today"] + timedelta(days=60)
        assert session.get(Concern, quiet.id).status == ConcernStatus.NO_ACTION_NEEDED


def test_owner_works_the_action_and_the_executive_verifies(app, client, factory, world):
    action = factory.action(world["concern"], world["manager"], due=world["today"] + timedelta(days=3))
    path = f"/actions/{action.id}"
    login(client, world["manager"].email)
    assert (
        post_form(
            client, f"{path}/updates", {"progress-text": HOSTILE, "progress-version": 1}, token_from=path
        ).status_code
        == 303
    )
    new_due = (world["today"] + timedelta(days=10)).isoformat()
    assert (
        post_form(
            client,
            f"{path}/due-date",
            {"due-due_date": new_due, "due-reason": "Supplier late", "due-version": 2},
            token_from=path,
        ).status_code
        == 303
    )
    response = post_form(
        client, f"{path}/complete", {"complete-closure_note": "", "complete-version": 3}, token_from=path
    )
    assert response.status_code == 400 and "Write a closure note" in response.get_data(as_text=True)
    response = post_form(
        client,
        f"{path}/complete",
        {
            "complete-closure_note": "New sling fitted",
            "complete-version": 3,
            "complete-photo": (io.BytesIO(jpeg_bytes()), "evidence.jpg", "image/jpeg"),
        },
        token_from=path,
        content_type="multipart/form-data",
    )
    assert response.status_code == 303
    page = client.get(path).get_data(as_text=True)
    assert "&lt;script&gt;" in page and "<script>alert" not in page
    assert "Supplier late" in page and "moved later 1 time" in page
    assert "waiting for an executive to verify" in page
    photo_id = int(re.search(r"/photos/(\d+)/thumb.jpg", page).group(1))
    assert client.get(f"/photos/{photo_id}/thumb.jpg").status_code == 200
    assert post_form(client, f"{path}/verify", {"verify-version": 4}, token_from=path).status_code == 403

    executive = app.test_client()
    login(executive, world["executive"].email)
    assert (
        post_form(
            executive,
            f"{path}/verify",
            {"verify-note": "Seen on the ward", "verify-version": 4},
            token_from=path,
        ).status_code
        == 303
    )
    with session_scope(app) as session:
        done = session.get(Action, action.id)
        assert (done.status, done.version, done.closure_note) == (
            ActionStatus.VERIFIED,
            5,
            "New sling fitted",
        )
        assert session.get(Concern, world["concern"].id).status == ConcernStatus.RESOLVED
        assert session.exec(select(Photo).where(Photo.id == photo_id)).one().action_update_id is not None
        verbs = session.exec(
            select(AuditEvent.verb).where(AuditEvent.entity_type == "action").order_by(AuditEvent.id)
        ).all()
        assert verbs == ["progress_update", "due_date_changed", "completed", "verified"]
    page = executive.get(path).get_data(as_text=True)
    assert "Audit trail (4)" in page and "Reopen it" in page


def test_a_bad_photo_is_refused_and_nothing_changes(app, client, factory, world):
    action = factory.action(world["concern"], world["manager"])
    path = f"/actions/{action.id}"
    login(client, world["manager"].email)
    response = post_form(
        client,
        f"{path}/complete",
        {
            "complete-closure_note": "Done",
            "complete-version": 1,
            "complete-photo": (io.BytesIO(b"not an image"), "x.jpg", "image/jpeg"),
        },
        token_from=path,
        content_type="multipart/form-data",
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 400 and "not a photo we can read" in body and "Done</textarea>" in body
    with session_scope(app) as session:
        assert session.get(Action, action.id).status == ActionStatus.OPEN


def test_a_stale_version_is_refused_with_the_latest_shown(app, factory, world):
    action = factory.action(world["concern"], world["manager"])
    path = f"/actions/{action.id}"
    first, second = app.test_client(), app.test_client()
    login(first, world["manager"].email)
    login(second, world["executive"].email)
    token = csrf_from(second.get(path).get_data(as_text=True))  # both opened version 1
    assert (
        post_form(
            first,
            f"{path}/updates",
            {"progress-text": "Ordered a new sling", "progress-version": 1},
            token_from=path,
        ).status_code
        == 303
    )
    response = second.post(
        f"{path}/complete",
        data={"csrf_token": token, "complete-closure_note": "My note", "complete-version": 1},
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "Someone else changed this action" in body
    assert "Ordered a new sling" in body and "My note</textarea>" in body
    assert 'name="complete-version" type="hidden" value="2"' in body
    with session_scope(app) as session:
        assert session.get(Action, action.id).status == ActionStatus.IN_PROGRESS
    response = second.post(
        f"{path}/complete",
        data={"csrf_token": token, "complete-closure_note": "My note", "complete-version": 2},
    )
    assert response.status_code == 303


def test_double_submit_of_the_same_change_is_refused_once(app, client, factory, world):
    action = factory.action(world["concern"], world["manager"])
    path = f"/actions/{action.id}"
    login(client, world["manager"].email)
    data = {"complete-closure_note": "Done", "complete-version": 1}
    assert post_form(client, f"{path}/complete", data, token_from=path).status_code == 303
    assert post_form(client, f"{path}/complete", data, token_from=path).status_code == 409
    with session_scope(app) as session:
        assert session.get(Action, action.id).version == 2


def test_ward_manager_cannot_touch_another_wards_action(app, client, factory, world):
    other_manager = factory.user(Role.WARD_MANAGER)
    action = factory.action(world["concern"], world["manager"])
    login(client, other_manager.email)
    response = post_form(
        client,
        f"/actions/{action.id}/updates",
        {"progress-text": "x", "progress-version": 1},
        token_from="/actions",
    )
    assert response.status_code == 403
    assert "belongs to a ward you do not manage" in response.get_data(as_text=True)
    with session_scope(app) as session:
        assert session.get(Action, action.id).version == 1


def test_an_owner_outside_their_wards_can_work_their_own_action(app, client, factory, world):
    lead = factory.user(Role.WARD_MANAGER, name="Ops Lead")  # manages no ward, owns one action
    action = factory.action(world["concern"], lead)
    login(client, lead.email)
    assert client.get(f"/actions/{action.id}").status_code == 200
    assert (
        post_form(
            client,
            f"/actions/{action.id}/updates",
            {"progress-text": "On it", "progress-version": 1},
            token_from="/actions",
        ).status_code
        == 303
    )
    assert "Order a second scanner" in client.get("/actions?mine=1").get_data(as_text=True)


def test_unknown_ids_are_404(client, world):
    login(client, world["executive"].email)
    for path in (
        "/actions/424242",
        "/concerns/424242/actions/new",
        "/wards/424242/feedback",
        "/you-said-we-did/nope",
        "/actions/not-a-number",
    ):
        assert client.get(path).status_code == 404, path


def test_manager_home_shows_owned_and_ward_actions_with_links(client, factory, world):
    other_owner = factory.user(Role.EXECUTIVE, name="Elsewhere Exec")
    other_ward = factory.ward(name="Other Ward")
    theirs = factory.action(world["concern"], other_owner, description="Ward action owned by exec")
    mine = factory.action(world["concern"], world["manager"], description="My own action")
    elsewhere = factory.action(
        factory.concern(factory.walkabout(other_ward, other_owner)), other_owner, description="Not my ward"
    )
    login(client, world["manager"].email)
    page = client.get("/").get_data(as_text=True)
    assert f'href="/actions/{theirs.id}"' in page and f'href="/actions/{mine.id}"' in page
    assert "Not my ward" not in page and f"/actions/{elsewhere.id}" not in page
    assert 'href="/actions?mine=1"' in page


def test_posts_without_the_csrf_token_are_refused(app, client, factory, world):
    action = factory.action(world["concern"], world["manager"])
    login(client, world["executive"].email)
    for path, data in (
        (f"/actions/{action.id}/updates", {"progress-text": "x", "progress-version": 1}),
        (f"/actions/{action.id}/complete", {"complete-closure_note": "x", "complete-version": 1}),
        (f"/concerns/{world['concern'].id}/no-action", {"noaction-reason": "x", "noaction-version": 1}),
        (f"/wards/{world['ward'].id}/feedback/link", {}),
    ):
        response = client.post(path, data=data)
        assert response.status_code == 400 and "expired" in response.get_data(as_text=True), path
    with session_scope(app) as session:
        assert session.get(Action, action.id).version == 1
