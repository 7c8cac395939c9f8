"""Wherever a person is chosen, their job title stands beside their name (issue 19), so
two people with one name, or a ward manager and an executive, are told apart."""

import html
import re

from walkabout.db import session_scope
from walkabout.models import AuditEvent, Role

from .conftest import login

DASH = "\u2014"


def option_labels(page: str, name: str) -> dict[str, str]:
    """value -> label of the options of the <select name=...> (or the checkboxes named so)."""
    select = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', page, re.S)
    if select:
        pairs = re.findall(r'<option[^>]*value="([^"]*)"[^>]*>([^<]*)</option>', select.group(1))
    else:
        pairs = re.findall(
            rf'<input[^>]*name="{name}"[^>]*value="([^"]*)"[^>]*>\s*<label[^>]*>([^<]*)</label>', page, re.S
        )
    assert pairs, f"no choices named {name}"
    return {value: html.unescape(label).strip() for value, label in pairs}


def people(factory):
    executive = factory.user(Role.EXECUTIVE, name="Sam Patel", job_title="Chief Nurse")
    twin = factory.user(Role.WARD_MANAGER, name="Sam Patel", job_title="Ward Manager, Ward 7")
    plain = factory.user(Role.WARD_MANAGER, name="Alex Reed")  # no job title: the role is shown
    admin = factory.user(Role.ADMIN, name="Dee Admin", job_title="Systems Administrator")
    ward = factory.ward(name="Ward 7", managers=(twin,))
    return executive, twin, plain, admin, ward


def test_walkabout_lead_and_team_pickers_show_job_titles(client, factory):
    executive, twin, _plain, _admin, _ward = people(factory)
    login(client, executive.email)
    page = client.get("/walkabouts/new").get_data(as_text=True)
    assert option_labels(page, "lead_id")[str(executive.id)] == f"Sam Patel {DASH} Chief Nurse"
    team = option_labels(page, "attendee_ids")
    assert team[str(twin.id)] == f"Sam Patel {DASH} Ward Manager, Ward 7"
    assert team[str(executive.id)] == f"Sam Patel {DASH} Chief Nurse"


def test_action_owner_picker_shows_job_titles_or_roles(client, factory):
    executive, twin, plain, _admin, ward = people(factory)
    concern = factory.concern(factory.walkabout(ward, executive))
    login(client, executive.email)
    owners = option_labels(
        client.get(f"/concerns/{concern.id}/actions/new").get_data(as_text=True), "owner_id"
    )
    assert owners[str(twin.id)] == f"Sam Patel {DASH} Ward Manager, Ward 7 (manages this ward)"
    assert owners[str(executive.id)] == f"Sam Patel {DASH} Chief Nurse"
    assert owners[str(plain.id)] == f"Alex Reed {DASH} Ward manager"


def test_filter_pickers_show_job_titles(client, factory):
    executive, twin, _plain, _admin, ward = people(factory)
    factory.action(factory.concern(factory.walkabout(ward, executive)), twin)
    login(client, executive.email)
    owners = option_labels(client.get("/actions").get_data(as_text=True), "owner")
    assert owners[str(twin.id)] == f"Sam Patel {DASH} Ward Manager, Ward 7"
    leads = option_labels(client.get("/walkabouts?mine=0").get_data(as_text=True), "lead")
    assert leads[str(executive.id)] == f"Sam Patel {DASH} Chief Nurse"


def test_admin_pickers_show_job_titles(client, factory):
    _executive, twin, _plain, admin, ward = people(factory)
    login(client, admin.email)
    page = client.get(f"/admin/wards/{ward.id}").get_data(as_text=True)
    assert option_labels(page, "manager_ids")[str(twin.id)] == f"Sam Patel {DASH} Ward Manager, Ward 7"
    with factory.app.app_context(), session_scope(factory.app) as session:
        session.add(AuditEvent(actor_id=admin.id, entity_type="ward", entity_id=ward.id, verb="updated"))
    actors = option_labels(client.get("/admin/audit").get_data(as_text=True), "actor")
    assert f"Dee Admin {DASH} Systems Administrator" in actors.values()
    users_page = client.get("/admin/users").get_data(as_text=True)
    assert "Ward Manager, Ward 7 · " in html.unescape(users_page)


def test_hostile_job_titles_are_escaped_in_every_picker(client, factory):
    executive = factory.user(Role.EXECUTIVE, name="Eve", job_title='<script>alert(1)</script>"')
    login(client, executive.email)
    for url in ("/walkabouts/new", "/walkabouts?mine=0", "/actions"):
        page = client.get(url).get_data(as_text=True)
        assert "<script>alert(1)" not in page, url
