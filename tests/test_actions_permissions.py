"""Every action and feedback route for every role (a table: routes x roles)."""

from datetime import timedelta

import pytest

from walkabout.models import ActionStatus, Role

from .conftest import login

ROLES = ["signed_out", "executive", "manager", "other_manager", "secretary", "admin"]
OUT = "login"  # signed out: redirected to /login
# (method, path, form data, {role: expected status}); the action starts in the status it needs.
ROUTES = [
    ("GET", "/actions", None, dict(executive=200, manager=200, other_manager=200, secretary=200, admin=200)),
    (
        "GET",
        "/actions?mine=1",
        None,
        dict(executive=200, manager=200, other_manager=200, secretary=200, admin=200),
    ),
    (
        "GET",
        "/actions/{action}",
        None,
        dict(executive=200, manager=200, other_manager=403, secretary=200, admin=200),
    ),
    (
        "GET",
        "/actions/{missing}",
        None,
        dict(executive=404, manager=404, other_manager=404, secretary=404, admin=404),
    ),
    (
        "POST",
        "/actions/{action}/updates",
        {"progress-text": "Ordered", "progress-version": "1"},
        dict(executive=303, manager=303, other_manager=403, secretary=403, admin=403),
    ),
    (
        "POST",
        "/actions/{action}/due-date",
        {"due-due_date": "{due}", "due-reason": "Waiting", "due-version": "1"},
        dict(executive=303, manager=303, other_manager=403, secretary=403, admin=403),
    ),
    (
        "POST",
        "/actions/{action}/complete",
        {"complete-closure_note": "Done", "complete-version": "1"},
        dict(executive=303, manager=303, other_manager=403, secretary=403, admin=403),
    ),
    (
        "POST",
        "/actions/{completed}/verify",
        {"verify-version": "1"},
        dict(executive=303, manager=403, other_manager=403, secretary=403, admin=403),
    ),
    (
        "POST",
        "/actions/{completed}/reopen",
        {"reopen-reason": "Not right", "reopen-version": "1"},
        dict(executive=303, manager=403, other_manager=403, secretary=403, admin=403),
    ),
    (
        "POST",
        "/actions/{missing}/updates",
        {"progress-text": "x", "progress-version": "1"},
        dict(executive=404, manager=404, other_manager=404, secretary=403, admin=403),
    ),
    (
        "GET",
        "/concerns/{concern}/actions/new",
        None,
        dict(executive=200, manager=200, other_manager=403, secretary=403, admin=403),
    ),
    (
        "GET",
        "/concerns/{missing}/actions/new",
        None,
        dict(executive=404, manager=404, other_manager=404, secretary=403, admin=403),
    ),
    (
        "POST",
        "/concerns/{concern}/actions/new",
        {"description": "Fix", "owner_id": "{manager_id}", "due_date": "{due}"},
        dict(executive=303, manager=303, other_manager=403, secretary=403, admin=403),
    ),
    (
        "POST",
        "/concerns/{concern}/actions/ward-fix",
        {"version": "1"},
        dict(executive=303, manager=303, other_manager=403, secretary=403, admin=403),
    ),
    (
        "POST",
        "/concerns/{bare_concern}/no-action",
        {"noaction-reason": "Fine", "noaction-version": "1"},
        dict(executive=303, manager=403, other_manager=403, secretary=403, admin=403),
    ),
    ("GET", "/feedback", None, dict(executive=200, manager=200, other_manager=200, secretary=200, admin=200)),
    (
        "GET",
        "/wards/{ward}/feedback",
        None,
        dict(executive=200, manager=200, other_manager=403, secretary=200, admin=200),
    ),
    (
        "GET",
        "/wards/{missing}/feedback",
        None,
        dict(executive=404, manager=404, other_manager=404, secretary=404, admin=404),
    ),
    (
        "POST",
        "/wards/{ward}/feedback/link",
        {},
        dict(executive=303, manager=403, other_manager=403, secretary=403, admin=303),
    ),
    (
        "POST",
        "/wards/{shared_ward}/feedback/link/revoke",
        {},
        dict(executive=303, manager=403, other_manager=403, secretary=403, admin=303),
    ),
    (
        "POST",
        "/wards/{ward}/feedback/deliveries",
        {"delivered_on": "{today}", "method": "Staff huddle"},
        dict(executive=303, manager=403, other_manager=403, secretary=403, admin=403),
    ),
]
PUBLIC_ROUTES = ["/you-said-we-did/{token}", "/you-said-we-did/{token}/qr.svg"]


@pytest.fixture
def world(app, factory):
    from walkabout.timeutil import local_today

    users = {
        "executive": factory.user(Role.EXECUTIVE),
        "manager": factory.user(Role.WARD_MANAGER),
        "other_manager": factory.user(Role.WARD_MANAGER),
        "secretary": factory.user(Role.BOARD_SECRETARY),
        "admin": factory.user(Role.ADMIN),
    }
    ward = factory.ward(managers=(users["manager"],))
    factory.ward(managers=(users["other_manager"],))
    walkabout = factory.walkabout(ward, users["executive"])
    with app.app_context():
        today = local_today()

    def fresh_values() -> dict:
        """New records for one route, so each starts from the state it needs."""
        concern = factory.concern(walkabout, ward_can_fix=True)
        shared = factory.ward(managers=(users["manager"],))
        token = _share(app, shared.id)
        return {
            "action": factory.action(concern, users["manager"]).id,
            "completed": factory.action(concern, users["manager"], status=ActionStatus.COMPLETED).id,
            "missing": 999_999,
            "concern": concern.id,
            "bare_concern": factory.concern(walkabout, text="Nothing to do here").id,
            "ward": ward.id,
            "shared_ward": shared.id,
            "manager_id": users["manager"].id,
            "today": today.isoformat(),
            "due": (today + timedelta(days=60)).isoformat(),
            "token": token,
        }

    return users, fresh_values


def _share(app, ward_id: int) -> str:
    from walkabout.db import session_scope
    from walkabout.models import Ward
    from walkabout.services.feedback import new_public_token

    with app.app_context(), session_scope(app) as session:
        token = session.get(Ward, ward_id).public_token = new_public_token()
    return token


@pytest.mark.parametrize("role", ROLES)
def test_every_route_answers_each_role(app, world, role):
    users, fresh_values = world
    client = app.test_client()
    if role != "signed_out":
        login(client, users[role].email)
    token = _token(client)
    for method, path, data, expected in ROUTES:
        values = fresh_values()
        path = path.format(**values)
        if method == "GET":
            response = client.get(path)
        else:
            form = {key: value.format(**values) for key, value in (data or {}).items()}
            form["csrf_token"] = token
            response = client.post(path, data=form)
        if role == "signed_out":
            assert response.status_code == 302 and response.headers["Location"].startswith("/login"), path
        else:
            assert response.status_code == expected[role], (
                role,
                method,
                path,
                response.get_data(as_text=True)[-800:],
            )


def _token(client) -> str:
    html = client.get("/login").get_data(as_text=True)
    if 'name="csrf_token"' not in html:
        html = client.get("/account/password").get_data(as_text=True)
    from .conftest import csrf_from

    return csrf_from(html)


@pytest.mark.parametrize("role", ROLES)
def test_public_pages_need_no_sign_in_and_answer_everyone(app, world, role):
    users, fresh_values = world
    values = fresh_values()
    client = app.test_client()
    if role != "signed_out":
        login(client, users[role].email)
    for path in PUBLIC_ROUTES:
        assert client.get(path.format(**values)).status_code == 200
        assert client.get(path.format(token="x" * 32)).status_code == 404
