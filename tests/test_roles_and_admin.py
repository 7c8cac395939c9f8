"""Role checks on every route, and the admin's user management."""

import pytest
from sqlmodel import select

from walkabout.db import session_scope
from walkabout.models import AuditEvent, Role, User

from .conftest import login, post_form

ADMIN_PAGES = ["/admin/users", "/admin/users/new"]


@pytest.mark.parametrize("role", [Role.EXECUTIVE, Role.WARD_MANAGER, Role.BOARD_SECRETARY])
def test_admin_pages_are_forbidden_to_other_roles(client, factory, role):
    target = factory.user(Role.WARD_MANAGER)
    login(client, factory.user(role).email)
    for path in [*ADMIN_PAGES, f"/admin/users/{target.id}"]:
        response = client.get(path)
        assert response.status_code == 403, path
        assert "You do not have access to this page" in response.get_data(as_text=True)
    token = client.get("/").get_data(as_text=True).split('"X-CSRFToken": "')[1].split('"')[0]
    for path in (f"/admin/users/{target.id}/active", f"/admin/users/{target.id}/password"):
        assert client.post(path, data={"csrf_token": token, "active": "0"}).status_code == 403


def test_signed_out_visitors_are_sent_to_sign_in(client, factory):
    for path in ["/", "/account/password", *ADMIN_PAGES]:
        response = client.get(path)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login?next=")


def test_navigation_fits_the_roles(client, factory):
    login(client, factory.user(Role.EXECUTIVE).email)
    assert 'href="/admin/users"' not in client.get("/").get_data(as_text=True)
    admin_client = client.application.test_client()
    login(admin_client, factory.user(Role.ADMIN).email)
    assert 'href="/admin/users"' in admin_client.get("/").get_data(as_text=True)


def test_admin_creates_edits_and_resets_a_user(app, client, factory):
    admin = factory.user(Role.ADMIN)
    login(client, admin.email)
    response = post_form(
        client,
        "/admin/users/new",
        {
            "email": "New.Manager@Example.org",
            "name": "New Manager",
            "job_title": "Ward Manager",
            "roles": ["ward_manager", "executive"],
            "password": "a good long password",
        },
    )
    assert response.status_code == 303
    with session_scope(app) as session:
        user = session.exec(select(User).where(User.email == "new.manager@example.org")).one()
        assert user.roles == {Role.WARD_MANAGER, Role.EXECUTIVE}
        user_id = user.id

    response = post_form(
        client, f"/admin/users/{user_id}", {"name": "Renamed Manager", "roles": ["ward_manager"]}
    )
    assert response.status_code == 303
    response = post_form(
        client,
        f"/admin/users/{user_id}/password",
        {"password": "another long password"},
        token_from=f"/admin/users/{user_id}",
    )
    assert response.status_code == 303
    assert login(app.test_client(), "new.manager@example.org", "another long password").status_code == 303

    with session_scope(app) as session:
        user = session.get(User, user_id)
        assert user.name == "Renamed Manager" and user.roles == {Role.WARD_MANAGER}
        verbs = session.exec(
            select(AuditEvent.verb)
            .where(AuditEvent.entity_type == "user", AuditEvent.entity_id == user_id)
            .order_by(AuditEvent.id)
        ).all()
        assert verbs == ["created", "updated", "password_reset"]


def test_admin_form_refuses_bad_input_and_keeps_what_was_typed(client, factory):
    admin = factory.user(Role.ADMIN)
    existing = factory.user()
    login(client, admin.email)
    response = post_form(
        client,
        "/admin/users/new",
        {
            "email": existing.email,
            "name": "Someone <b>bold</b>",
            "roles": ["executive"],
            "password": "long enough password",
        },
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "already exists" in body
    assert "Someone &lt;b&gt;bold&lt;/b&gt;" in body  # kept, and escaped
    response = post_form(
        client, "/admin/users/new", {"email": "not-an-email", "name": "", "password": "short"}
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Invalid email address." in body and "Choose at least one role." in body
    response = post_form(
        client,
        "/admin/users/new",
        {
            "email": "x@example.org",
            "name": "X",
            "roles": ["superuser"],
            "password": "long enough password",
        },
    )
    assert response.status_code == 400


def test_admin_cannot_lock_themselves_out(client, factory):
    admin = factory.user(Role.ADMIN)
    login(client, admin.email)
    response = post_form(
        client, f"/admin/users/{admin.id}/active", {"active": "0"}, token_from=f"/admin/users/{admin.id}"
    )
    assert response.status_code == 303
    assert "You cannot deactivate yourself." in client.get(response.headers["Location"]).get_data(
        as_text=True
    )
    response = post_form(client, f"/admin/users/{admin.id}", {"name": admin.name, "roles": ["executive"]})
    assert "You cannot remove your own administrator role." in response.get_data(as_text=True)
    assert client.get("/admin/users").status_code == 200
