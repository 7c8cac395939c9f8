"""Admin pages for sites and wards; the rota page."""

import re

import pytest
from sqlalchemy.orm import selectinload
from sqlmodel import func, select

from walkabout.db import session_scope
from walkabout.models import AuditEvent, Role, Site, Walkabout, Ward

from .conftest import csrf_token, login, post_form


@pytest.mark.parametrize("role", [Role.EXECUTIVE, Role.WARD_MANAGER, Role.BOARD_SECRETARY])
def test_places_admin_is_for_admins_only(client, factory, role):
    ward = factory.ward()
    login(client, factory.user(role).email)
    token = csrf_token(client, "/account/password")
    for path in (
        "/admin/sites",
        "/admin/wards",
        "/admin/wards/new",
        f"/admin/wards/{ward.id}",
        f"/admin/sites/{ward.site_id}",
    ):
        assert client.get(path).status_code == 403, path
    for path in ("/admin/sites/new", f"/admin/wards/{ward.id}", "/admin/wards/new"):
        assert client.post(path, data={"csrf_token": token, "name": "X"}).status_code == 403, path


def test_admin_adds_sites_and_wards_with_managers_and_deactivates(app, client, factory):
    admin = factory.user(Role.ADMIN)
    manager = factory.user(Role.WARD_MANAGER, name="Mo Manager")
    not_manager = factory.user(Role.EXECUTIVE, name="Exec Only")
    login(client, admin.email)
    assert (
        post_form(
            client, "/admin/sites/new", {"name": "Hillside", "active": "y"}, token_from="/admin/sites"
        ).status_code
        == 303
    )
    response = post_form(
        client, "/admin/sites/new", {"name": "hillside", "active": "y"}, token_from="/admin/sites"
    )
    assert response.status_code == 400 and "already exists" in response.get_data(as_text=True)
    with session_scope(app) as session:
        site_id = session.exec(select(Site.id).where(Site.name == "Hillside")).one()

    data = {
        "name": "Oak Ward",
        "site_id": site_id,
        "specialty": "Stroke",
        "manager_ids": [str(manager.id)],
        "active": "y",
    }
    assert post_form(client, "/admin/wards/new", data).status_code == 303
    response = post_form(client, "/admin/wards/new", data)
    assert response.status_code == 400 and "already has a ward called Oak Ward" in response.get_data(
        as_text=True
    )
    response = post_form(
        client, "/admin/wards/new", {**data, "name": "Pine", "manager_ids": [str(not_manager.id)]}
    )
    assert response.status_code == 400 and "Exec Only is not a ward manager" in response.get_data(
        as_text=True
    )
    response = post_form(client, "/admin/wards/new", {**data, "name": "Pine", "site_id": "999999"})
    assert response.status_code == 400 and "Choose a site." in response.get_data(as_text=True)
    assert "Mo Manager" in client.get("/admin/wards").get_data(as_text=True)

    with session_scope(app) as session:
        ward = session.exec(
            select(Ward).where(Ward.name == "Oak Ward").options(selectinload(Ward.managers))
        ).one()
        assert [user.id for user in ward.managers] == [manager.id]
        ward_id = ward.id
    # Deactivate (the checkbox left unticked) and drop the manager: the ward stays, with its history.
    response = post_form(client, f"/admin/wards/{ward_id}", {"name": "Oak Ward", "site_id": site_id})
    assert response.status_code == 303
    with session_scope(app) as session:
        ward = session.exec(select(Ward).where(Ward.id == ward_id).options(selectinload(Ward.managers))).one()
        assert not ward.active and ward.managers == []
        verbs = session.exec(
            select(AuditEvent.verb).where(AuditEvent.entity_type == "ward").order_by(AuditEvent.id)
        ).all()
        assert verbs == ["created", "deactivated"]
    executive = factory.user(Role.EXECUTIVE)
    exec_client = app.test_client()
    login(exec_client, executive.email)
    assert "Oak Ward" not in exec_client.get("/walkabouts/new").get_data(as_text=True)
    assert client.get("/admin/wards/999999").status_code == 404


def test_rota_page_proposes_then_accepts(app, client, factory):
    executive = factory.user(Role.EXECUTIVE, name="Rota Exec")
    factory.user(Role.EXECUTIVE, name="Second Exec")
    for i in range(3):
        factory.ward(name=f"Rota Ward {i}")
    login(client, executive.email)
    page = client.get("/walkabouts/rota").get_data(as_text=True)
    first_day = re.search(r'name="first_day"[^>]*value="([0-9-]+)"', page).group(1)
    data = {
        "first_day": first_day,
        "visits_per_ward": "2",
        "at": "14:00",
        "duration_minutes": "60",
        "weekdays": ["0", "1", "2", "3", "4"],
        "accept": "0",
    }
    response = post_form(client, "/walkabouts/rota", data)
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "Proposed: 6 walkabouts" in body and "Rota Ward 2" in body
    with session_scope(app) as session:
        assert session.exec(select(func.count()).select_from(Walkabout)).one() == 0
    response = post_form(client, "/walkabouts/rota", {**data, "accept": "1"})
    assert response.status_code == 303
    with session_scope(app) as session:
        assert session.exec(select(func.count()).select_from(Walkabout)).one() == 6
    response = post_form(client, "/walkabouts/rota", {**data, "weekdays": [], "accept": "1"})
    assert response.status_code == 400 and "Choose at least one day of the week." in response.get_data(
        as_text=True
    )
