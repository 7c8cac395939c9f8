"""A pack for a month that is not over asks first: a confirm step that works without
JavaScript and with htmx, and that one confirm (sent twice, or again after Back) makes one pack."""

import re

import pytest

from walkabout.models import Role

from .conftest import csrf_token, login
from .report_data import board_pack_rows, local, seed_month


@pytest.fixture
def this_month(app, factory):
    """A trust with walkabouts last month and one this month; the packs wait for the scheduler."""
    app.config["REPORTS_RUNNER"] = "scheduler"
    month = seed_month(factory)
    factory.walkabout(month.ward, month.executive, start=local(factory.today().replace(day=1)))
    return month, factory.today().strftime("%Y-%m")


def confirm_form(html: str) -> dict:
    """The fields of the confirm step's form, as a browser would send them."""
    form = re.search(r'<form method="post" action="([^"]+/packs)".*?</form>', html, re.S)
    assert form, "no form on the confirm step"
    fields = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', form.group(0)))
    return {"action": form.group(1), **fields}


def test_a_month_not_over_is_confirmed_first_without_javascript(app, client, this_month):
    month, key = this_month
    login(client, month.secretary.email)
    response = client.post(
        f"/reports/monthly/{key}/packs", data={"csrf_token": csrf_token(client, "/reports")}
    )
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/reports/monthly/{key}/confirm")
    assert board_pack_rows(app) == []  # nothing made before the user says yes

    page = client.get(response.headers["Location"])
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "is not over" in html and "provisional" in html and "No, go back to Reports" in html
    fields = confirm_form(html)
    assert fields["confirmed"] == "yes" and fields["seen_version"] == "0"

    done = client.post(fields.pop("action"), data=fields)
    assert done.status_code == 303 and "/reports/packs/" in done.headers["Location"]
    assert [(m, v) for m, v, _s, _id in board_pack_rows(app)] == [(key, 1)]


def test_the_confirm_step_sent_twice_or_after_back_makes_one_pack(app, client, this_month):
    month, key = this_month
    login(client, month.executive.email)
    fields = confirm_form(client.get(f"/reports/monthly/{key}/confirm").get_data(as_text=True))
    action = fields.pop("action")
    first = client.post(action, data=fields)
    second = client.post(action, data=fields)  # a double click
    assert first.headers["Location"] == second.headers["Location"]
    with app.app_context():  # the pack is built, then the user goes Back and sends the form again
        from walkabout.reports.runner import generate_board_pack

        generate_board_pack(app, board_pack_rows(app)[0][3])
    again = client.post(action, data=fields)
    assert again.headers["Location"] == first.headers["Location"]
    assert [(v, s) for _m, v, s, _id in board_pack_rows(app)] == [(1, "ready")]

    # Asked again on purpose, the step says a version exists and makes the next one.
    html = client.get(f"/reports/monthly/{key}/confirm").get_data(as_text=True)
    assert "Version 1 of this month's pack already exists; this makes version 2" in html
    fields = confirm_form(html)
    assert client.post(fields.pop("action"), data=fields).status_code == 303
    assert [v for _m, v, _s, _id in board_pack_rows(app)] == [1, 2]


def test_with_htmx_the_confirm_step_replaces_the_button_in_place(app, client, this_month):
    month, key = this_month
    login(client, month.secretary.email)
    index = client.get("/reports").get_data(as_text=True)
    assert "Generate a provisional pack" in index
    token = csrf_token(client, "/reports")
    response = client.post(
        f"/reports/monthly/{key}/packs", data={"csrf_token": token}, headers={"HX-Request": "true"}
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html
    assert "Yes, generate a provisional pack" in html and 'data-hx-target="closest .pack-slot"' in html
    assert board_pack_rows(app) == []
    fields = confirm_form(html)
    made = client.post(fields.pop("action"), data=fields, headers={"HX-Request": "true"})
    assert made.status_code == 200 and "Queued" in made.get_data(as_text=True)
    assert len(board_pack_rows(app)) == 1


def test_a_finished_month_is_generated_without_asking(app, client, this_month):
    month, _key = this_month
    login(client, month.secretary.email)
    assert client.get(f"/reports/monthly/{month.key}/confirm").headers["Location"].endswith("/reports")
    response = client.post(
        f"/reports/monthly/{month.key}/packs", data={"csrf_token": csrf_token(client, "/reports")}
    )
    assert response.status_code == 303 and "/reports/packs/" in response.headers["Location"]
    assert len(board_pack_rows(app)) == 1


@pytest.mark.parametrize("seen", ["²", "٣", "-1", "abc", "9" * 30])
def test_a_tampered_version_is_refused_and_nothing_is_made(app, client, this_month, seen):
    month, key = this_month
    login(client, month.secretary.email)
    token = csrf_token(client, "/reports")
    response = client.post(
        f"/reports/monthly/{key}/packs", data={"csrf_token": token, "confirmed": "yes", "seen_version": seen}
    )
    assert response.status_code == 400 and "The form was changed" in response.get_data(as_text=True)
    assert board_pack_rows(app) == []


def test_other_roles_may_not_open_the_confirm_step(client, factory, this_month):
    _month, key = this_month
    login(client, factory.user(Role.WARD_MANAGER).email)
    assert client.get(f"/reports/monthly/{key}/confirm").status_code == 403
