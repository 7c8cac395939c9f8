"""Routes of the programme: permissions, lists, scheduling forms, edit and cancel, calendars."""

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from sqlmodel import func, select

from walkabout.db import session_scope
from walkabout.db_types import utcnow
from walkabout.identity import mail_domain
from walkabout.models import ActionStatus, Role, User, Walkabout, WalkaboutReschedule, WalkaboutStatus

from .conftest import csrf_token, login, post_form, trust_today

LONDON = ZoneInfo("Europe/London")


def walkabout_count(app) -> int:
    with session_scope(app) as session:
        return session.exec(select(func.count()).select_from(Walkabout)).one()


def form_for(ward, lead, day: date, **extra) -> dict:
    data = {
        "ward_id": ward.id,
        "lead_id": lead.id,
        "day": day.isoformat(),
        "at": "14:00",
        "duration_minutes": "60",
        "repeat": "none",
        "interval": "1",
    }
    data.update(extra)
    return data


@pytest.fixture
def setup(factory):
    executive = factory.user(Role.EXECUTIVE, name="Erin Exec")
    ward = factory.ward(factory.site("North Site"), "Beech Ward")
    return executive, ward


# --- permissions ----------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.WARD_MANAGER, Role.BOARD_SECRETARY])
def test_managers_and_secretaries_cannot_schedule(client, factory, setup, role):
    executive, ward = setup
    walkabout = factory.walkabout(ward, executive)
    user = factory.user(role)
    if role == Role.WARD_MANAGER:
        factory.ward(name="Managed", managers=(user,))
    login(client, user.email)
    token = csrf_token(client, "/account/password")
    for path in (
        "/walkabouts/new",
        "/walkabouts/rota",
        f"/walkabouts/{walkabout.id}/edit",
        f"/walkabouts/{walkabout.id}/cancel",
    ):
        assert client.get(path).status_code == 403, path
        assert (
            client.post(
                path, data={"csrf_token": token, **form_for(ward, executive, factory.today())}
            ).status_code
            == 403
        ), path
    assert walkabout_count(client.application) == 1
    assert "Schedule a walkabout" not in client.get("/walkabouts").get_data(as_text=True)


def test_signed_out_visitors_are_sent_to_sign_in(client, setup, factory):
    walkabout = factory.walkabout(*reversed(setup))
    for path in (
        "/walkabouts",
        "/walkabouts/new",
        f"/walkabouts/{walkabout.id}",
        f"/walkabouts/{walkabout.id}.ics",
        "/coverage",
        "/account/calendar",
    ):
        response = client.get(path)
        assert response.status_code == 302 and response.headers["Location"].startswith("/login"), path


def test_ward_manager_sees_only_walkabouts_of_their_wards(client, factory, setup):
    executive, ward = setup
    manager = factory.user(Role.WARD_MANAGER)
    mine = factory.ward(name="Mine Ward", managers=(manager,))
    theirs = factory.walkabout(ward, executive)
    ours = factory.walkabout(mine, executive)
    login(client, manager.email)
    body = client.get("/walkabouts?mine=0").get_data(as_text=True)
    assert "Mine Ward" in body and "Beech Ward" not in body
    assert client.get(f"/walkabouts/{ours.id}").status_code == 200
    assert client.get(f"/walkabouts/{theirs.id}").status_code == 404
    assert client.get(f"/walkabouts/{theirs.id}.ics").status_code == 404
    assert client.get("/walkabouts/999999").status_code == 404
    assert "Beech Ward" not in client.get(
        "/walkabouts", query_string={"ward": ward.id, "mine": "0"}
    ).get_data(as_text=True)
    assert "Beech Ward" not in client.get("/coverage").get_data(as_text=True)


# --- lists ----------------------------------------------------------------------


def test_tabs_filters_and_mine_by_default_for_executives(client, factory, setup):
    executive, ward = setup
    other = factory.user(Role.EXECUTIVE, name="Olive Other")
    cedar = factory.ward(factory.site("South Site"), "Cedar Ward")
    now = utcnow()
    factory.walkabout(ward, executive, start=now + timedelta(days=3), focus="Mine upcoming")
    factory.walkabout(cedar, other, start=now + timedelta(days=4), focus="Theirs upcoming")
    factory.walkabout(
        ward, executive, start=now - timedelta(days=4), status=WalkaboutStatus.COMPLETED, focus="Mine past"
    )
    attending = factory.walkabout(cedar, other, start=now + timedelta(days=9), focus="Attending upcoming")
    with session_scope(client.application) as session:
        session.get(Walkabout, attending.id).attendees = [session.get(User, executive.id)]
    login(client, executive.email)
    body = client.get("/walkabouts").get_data(as_text=True)
    assert "Mine upcoming" in body and "Attending upcoming" in body
    assert "Theirs upcoming" not in body and "Mine past" not in body
    body = client.get("/walkabouts?mine=0").get_data(as_text=True)
    assert "Theirs upcoming" in body
    assert "Mine past" in client.get("/walkabouts?tab=past").get_data(as_text=True)
    cases = {
        f"site={cedar.site_id}": ("Theirs upcoming", 2),
        f"lead={other.id}": ("Attending upcoming", 2),
        f"ward={ward.id}": ("Mine upcoming", 1),
        "status=completed&tab=past": ("Mine past", 1),
    }
    for query, (expected, rows) in cases.items():
        body = client.get(f"/walkabouts?mine=0&{query}").get_data(as_text=True)
        assert expected in body and body.count('class="list-item') == rows, query
    # Nonsense parameters are ignored, not a 500.
    assert client.get("/walkabouts?tab=x&ward=abc&status=zzz&page=-3&lead=9999999999999").status_code == 200


def test_htmx_gets_the_fragment_and_links_push_the_url(client, setup):
    executive, _ = setup
    login(client, executive.email)
    fragment = client.get("/walkabouts?tab=past", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in fragment and 'hx-push-url="true"' in fragment
    assert 'hx-get="/walkabouts?tab=today' in fragment
    full = client.get("/walkabouts").get_data(as_text=True)
    assert '<form method="get" action="/walkabouts"' in full  # works without JavaScript


def test_list_queries_do_not_grow_with_rows_and_pages(app, client, factory, setup, count_queries):
    executive, _ward = setup
    login(client, executive.email)
    helper = factory.user(Role.EXECUTIVE)

    def add(n, offset):
        for i in range(n):
            walkabout = factory.walkabout(
                factory.ward(), executive, start=utcnow() + timedelta(days=2, hours=offset + i)
            )
            with session_scope(app) as session:
                session.get(Walkabout, walkabout.id).attendees = [session.get(User, helper.id)]

    add(1, 0)
    with count_queries() as few:
        assert client.get("/walkabouts?mine=0").status_code == 200
    add(30, 10)
    with count_queries() as many:
        body = client.get("/walkabouts?mine=0").get_data(as_text=True)
    assert many() == few()
    assert "31 walkabouts" in body and "Page 1 of 2" in body
    second = client.get("/walkabouts?mine=0&page=2").get_data(as_text=True)
    assert second.count('class="list-item') == 6


def test_list_shows_at_once_what_another_client_changed_and_you_only_for_you(app, client, factory, setup):
    # The list is kept at the data version, per user (routes/walkabouts.py): any change shows at once.
    executive, ward = setup
    colleague = factory.user(Role.EXECUTIVE, name="Olu Colleague")
    walkabout = factory.walkabout(ward, executive, start=utcnow() + timedelta(days=3))
    login(client, executive.email)
    other = app.test_client()
    login(other, colleague.email)
    mine = client.get("/walkabouts?mine=0").get_data(as_text=True)
    theirs = other.get("/walkabouts?mine=0").get_data(as_text=True)
    assert "Led by Erin Exec (you)" in mine and "Led by Erin Exec (you)" not in theirs
    assert "Led by Erin Exec" in theirs and "1 walkabout<" in theirs
    url = f"/walkabouts/{walkabout.id}/cancel"
    assert (
        post_form(other, url, {"version": "1", "reason": "Major incident"}, token_from=url).status_code == 303
    )
    mine = client.get("/walkabouts?mine=0").get_data(as_text=True)
    assert 'class="list-item is-cancelled"' in mine and "cancelled</span>" in mine
    factory.walkabout(factory.ward(name="Rowan Ward"), colleague, start=utcnow() + timedelta(days=4))
    mine = client.get("/walkabouts?mine=0").get_data(as_text=True)
    assert "2 walkabouts" in mine and "Rowan Ward" in mine


# --- scheduling -----------------------------------------------------------------


def test_executive_schedules_one_walkabout_with_team_and_guests(app, client, factory, setup):
    executive, ward = setup
    colleague = factory.user(Role.EXECUTIVE, name="Colin Colleague")
    login(client, executive.email)
    day = factory.today() + timedelta(days=7)
    response = post_form(
        client,
        "/walkabouts/new",
        form_for(
            ward,
            executive,
            day,
            attendee_ids=[str(colleague.id)],
            guests="Pat, patient representative",
            focus="Falls",
        ),
    )
    assert response.status_code == 303
    again = post_form(client, "/walkabouts/new", form_for(ward, executive, day))  # a double submit
    assert again.status_code == 409 and walkabout_count(app) == 1
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Colin Colleague" in page and "Pat, patient representative" in page and "Falls" in page
    with session_scope(app) as session:
        walkabout = session.exec(select(Walkabout)).one()
        assert walkabout.scheduled_start.astimezone(LONDON).replace(tzinfo=None) == datetime.combine(
            day, time(14)
        )


BAD_INPUT = [
    ({"day": "2027-02-30"}, "Enter a real date"),
    ({"day": "yesterday"}, "Enter a real date"),
    ({"at": "25:00"}, "Enter a time"),
    ({"ward_id": "999999"}, "That ward does not exist."),
    ({"ward_id": "abc"}, "Choose"),
    ({"ward_id": ""}, "Choose a ward."),
    ({"lead_id": "999999"}, "The lead executive does not exist."),
    ({"day": "2020-01-07"}, "in the past"),
    ({"repeat": "weekly", "count": "", "until": ""}, "A series needs an end"),
    ({"repeat": "weekly", "count": "401"}, "From 1 to 400."),
    ({"repeat": "weekly", "count": "", "until": "2040-01-01"}, "more than 400"),
    ({"duration_minutes": "0"}, "Between 15 and 480 minutes."),
]


def test_bad_input_is_refused_clearly_and_nothing_is_saved(app, client, setup):
    executive, ward = setup
    login(client, executive.email)
    token = csrf_token(client, "/walkabouts/new")
    for change, message in BAD_INPUT:
        data = form_for(ward, executive, trust_today(app) + timedelta(days=3), focus="Kept <b>text</b>")
        data.update(change, csrf_token=token)
        response = client.post("/walkabouts/new", data=data)
        body = response.get_data(as_text=True)
        assert response.status_code == 400, change
        assert message in body, change
        assert 'value="Kept &lt;b&gt;text&lt;/b&gt;"' in body  # typed text kept, escaped
    assert walkabout_count(app) == 0


def test_inactive_attendee_is_refused(app, client, factory, setup):
    executive, ward = setup
    gone = factory.user(Role.EXECUTIVE, name="Gone Person", active=False)
    login(client, executive.email)
    response = post_form(
        client,
        "/walkabouts/new",
        form_for(ward, executive, factory.today() + timedelta(days=3), attendee_ids=[str(gone.id)]),
    )
    assert response.status_code == 400 and "Gone Person is no longer active" in response.get_data(
        as_text=True
    )
    assert walkabout_count(app) == 0


def test_clash_is_warned_then_confirmed(app, client, factory, setup):
    executive, ward = setup
    day = factory.today() + timedelta(days=5)
    factory.walkabout(ward, executive, start=datetime.combine(day, time(14), tzinfo=LONDON))
    login(client, executive.email)
    response = post_form(client, "/walkabouts/new", form_for(ward, executive, day, at="16:00"))
    body = response.get_data(as_text=True)
    assert response.status_code == 409 and "Beech Ward already has a walkabout" in body
    assert "Schedule anyway" in body and walkabout_count(app) == 1
    response = post_form(
        client, "/walkabouts/new", form_for(ward, executive, day, at="16:00", confirm_clashes="y")
    )
    assert response.status_code == 303 and walkabout_count(app) == 2


def test_monthly_series_from_the_form(app, client, setup):
    executive, ward = setup
    login(client, executive.email)
    first = trust_today(app) + timedelta(days=1)
    response = post_form(
        client, "/walkabouts/new", form_for(ward, executive, first, repeat="monthly_weekday", count="12")
    )
    assert response.status_code == 303 and "/walkabouts/series/" in response.headers["Location"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "12 walkabouts scheduled" in page
    with session_scope(app) as session:
        starts = session.exec(select(Walkabout.scheduled_start).order_by(Walkabout.scheduled_start)).all()
        assert len(starts) == 12
        ordinal = (first.day - 1) // 7
        assert all(s.astimezone(LONDON).weekday() == first.weekday() for s in starts)
        assert all((s.astimezone(LONDON).day - 1) // 7 == min(ordinal, 3) for s in starts)


def test_series_page_edits_future_occurrences(app, client, factory, setup):
    executive, ward = setup
    other = factory.user(Role.EXECUTIVE, name="Next Lead")
    login(client, executive.email)
    response = post_form(
        client,
        "/walkabouts/new",
        form_for(ward, executive, factory.today() + timedelta(days=2), repeat="weekly", count="5"),
    )
    series_url = response.headers["Location"]
    assert 'name="version" type="hidden" value="1"' in client.get(series_url).get_data(as_text=True)
    response = post_form(
        client,
        series_url,
        {
            "lead_id": other.id,
            "at": "10:00",
            "duration_minutes": "45",
            "focus": "Medicines",
            "reason": "Diary change",
            "version": "1",
        },
    )
    assert response.status_code == 303
    assert "5 future walkabouts updated" in client.get(series_url).get_data(as_text=True)
    stale = post_form(
        client,
        series_url,
        {
            "lead_id": executive.id,
            "at": "11:00",
            "duration_minutes": "60",
            "focus": "",
            "reason": "From an old tab",
            "version": "1",
        },
    )
    body = stale.get_data(as_text=True)
    assert stale.status_code == 409 and "changed by someone else" in body
    assert 'value="Medicines"' in body and 'name="version" type="hidden" value="2"' in body
    with session_scope(app) as session:
        rows = session.exec(select(Walkabout)).all()
        assert {
            (r.lead_id, r.scheduled_start.astimezone(LONDON).hour, r.calendar_sequence) for r in rows
        } == {(other.id, 10, 1)}


# --- walkabout page, edit, cancel ---------------------------------------------------


def test_walkabout_page_has_brief_start_button_and_links(client, factory, setup):
    executive, ward = setup
    earlier = factory.walkabout(
        ward, executive, start=utcnow() - timedelta(days=60), status=WalkaboutStatus.COMPLETED
    )
    concern = factory.concern(earlier, text="Hoist battery fails")
    overdue = factory.action(
        concern, executive, due=factory.today() - timedelta(days=12), description="Buy a spare charger"
    )
    factory.action(concern, executive, status=ActionStatus.VERIFIED, description="Closed one")
    planned = factory.walkabout(ward, executive, start=utcnow() + timedelta(hours=1))
    login(client, executive.email)
    page = client.get(f"/walkabouts/{planned.id}").get_data(as_text=True)
    assert f'action="/walkabouts/{planned.id}/start"' in page and "Start walkabout" in page
    assert (
        "Buy a spare charger" in page
        and "12 days overdue" in page
        and f'href="/actions/{overdue.id}"' in page
    )
    assert "Hoist battery fails" in page and "Closed one" not in page
    assert f"/walkabouts/{earlier.id}/summary.pdf" in client.get(f"/walkabouts/{earlier.id}").get_data(
        as_text=True
    )
    running = factory.walkabout(ward, executive, status=WalkaboutStatus.IN_PROGRESS)
    assert f"/walkabouts/{running.id}/capture" in client.get(f"/walkabouts/{running.id}").get_data(
        as_text=True
    )
    secretary = client.application.test_client()
    login(secretary, factory.user(Role.BOARD_SECRETARY).email)
    assert "Start walkabout" not in secretary.get(f"/walkabouts/{planned.id}").get_data(as_text=True)


def test_reschedule_from_the_form_keeps_history_and_refuses_stale_forms(app, client, factory, setup):
    executive, ward = setup
    walkabout = factory.walkabout(
        ward, executive, start=datetime.combine(factory.today() + timedelta(days=5), time(14), tzinfo=LONDON)
    )
    login(client, executive.email)
    edit_url = f"/walkabouts/{walkabout.id}/edit"
    page = client.get(edit_url).get_data(as_text=True)
    assert 'name="version" type="hidden" value="1"' in page
    new_day = factory.today() + timedelta(days=6)
    data = form_for(ward, executive, new_day, version="1")
    response = post_form(client, edit_url, data)
    assert response.status_code == 400 and "Give a reason" in response.get_data(as_text=True)
    response = post_form(client, edit_url, {**data, "reason": "Clashes with the board"})
    assert response.status_code == 303
    page = client.get(f"/walkabouts/{walkabout.id}").get_data(as_text=True)
    assert "Clashes with the board" in page and "Erin Exec" in page
    # The same (now stale) form sent again: refused, latest shown, nothing changed twice.
    response = post_form(client, edit_url, {**data, "at": "15:00", "reason": "Again"})
    body = response.get_data(as_text=True)
    assert response.status_code == 409 and "changed by someone else" in body
    with session_scope(app) as session:
        row = session.get(Walkabout, walkabout.id)
        assert (row.version, row.calendar_sequence) == (2, 1)
        assert session.exec(select(func.count()).select_from(WalkaboutReschedule)).one() == 1


def test_cancel_needs_a_reason_and_twice_is_refused(app, client, factory, setup):
    executive, ward = setup
    walkabout = factory.walkabout(ward, executive)
    login(client, executive.email)
    url = f"/walkabouts/{walkabout.id}/cancel"
    response = post_form(client, url, {"version": "1", "reason": ""})
    assert response.status_code == 400 and "Give a reason for cancelling" in response.get_data(as_text=True)
    response = post_form(client, url, {"version": "1", "reason": "Major incident"})
    assert response.status_code == 303
    assert "Major incident" in client.get(f"/walkabouts/{walkabout.id}").get_data(as_text=True)
    response = post_form(client, url, {"version": "1", "reason": "Double submit"})
    assert response.status_code == 409
    with session_scope(app) as session:
        row = session.get(Walkabout, walkabout.id)
        assert row.status == WalkaboutStatus.CANCELLED and row.cancel_reason == "Major incident"


# --- calendars ------------------------------------------------------------------------


def test_walkabout_ics_download(client, factory, setup):
    executive, ward = setup
    walkabout = factory.walkabout(ward, executive)
    login(client, executive.email)
    response = client.get(f"/walkabouts/{walkabout.id}.ics")
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    assert "attachment" in response.headers["Content-Disposition"]
    event = Calendar.from_ical(response.data).walk("VEVENT")[0]
    assert str(event["location"]) == "Beech Ward, North Site"
    assert str(event["url"]).endswith(f"/walkabouts/{walkabout.id}")


def test_private_feed_follows_changes_and_token_rotation(app, client, factory, setup):
    executive, ward = setup
    other = factory.user(Role.EXECUTIVE)
    mine = factory.walkabout(ward, executive, focus="Mine")
    factory.walkabout(factory.ward(), other, focus="Not mine")
    login(client, executive.email)
    assert "Create my calendar address" in client.get("/account/calendar").get_data(as_text=True)
    assert 'href="/account/calendar"' in client.get("/account/password").get_data(as_text=True)
    assert post_form(client, "/account/calendar", {}).status_code == 303
    page = client.get("/account/calendar").get_data(as_text=True)
    feed = re.search(r'value="http://localhost(/calendar/[^"]+\.ics)"', page).group(1)
    anonymous = app.test_client()
    events = Calendar.from_ical(anonymous.get(feed).data).walk("VEVENT")
    assert [str(e["uid"]) for e in events] == [f"walkabout-{mine.id}@{mail_domain(app.config)}"]
    post_form(client, f"/walkabouts/{mine.id}/cancel", {"version": "1", "reason": "Strike day"})
    event = Calendar.from_ical(anonymous.get(feed).data).walk("VEVENT")[0]
    assert (str(event["status"]), int(event["sequence"])) == ("CANCELLED", 1)
    post_form(client, "/account/calendar", {})
    assert anonymous.get(feed).status_code == 404  # the old address stops working
    assert anonymous.get("/calendar/not-a-token.ics").status_code == 404
    with session_scope(app) as session:
        session.get(User, executive.id).active = False
        token = session.get(User, executive.id).calendar_token
    assert anonymous.get(f"/calendar/{token}.ics").status_code == 404


def test_cancel_the_rest_of_a_series(app, client, setup):
    executive, ward = setup
    login(client, executive.email)
    response = post_form(
        client,
        "/walkabouts/new",
        form_for(ward, executive, trust_today(app) + timedelta(days=2), repeat="weekly", count="4"),
    )
    series_url = response.headers["Location"]
    response = post_form(client, f"{series_url}/cancel", {"cancel-reason": ""}, token_from=series_url)
    assert response.status_code == 303
    assert "Give a reason" in client.get(series_url).get_data(as_text=True)
    response = post_form(
        client, f"{series_url}/cancel", {"cancel-reason": "Ward closing"}, token_from=series_url
    )
    assert "4 future walkabouts cancelled" in client.get(response.headers["Location"]).get_data(as_text=True)
    with session_scope(app) as session:
        rows = session.exec(select(Walkabout)).all()
        assert {(row.status, row.cancel_reason, row.calendar_sequence) for row in rows} == {
            (WalkaboutStatus.CANCELLED, "Ward closing", 1)
        }


def test_every_programme_route_needs_sign_in_except_the_private_feed(app, client):
    blueprints = ("walkabouts.", "series.", "coverage.", "calendar.", "admin_places.")
    checked = 0
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith(blueprints):
            continue
        path = re.sub(r"<int:[a-z_]+>", "1", rule.rule).replace("<token>", "x")
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(path, method=method)
            checked += 1
            if rule.endpoint == "calendar.feed":
                assert response.status_code == 404
            elif method == "GET":
                assert response.status_code == 302 and response.headers["Location"].startswith("/login"), path
            else:
                assert response.status_code in (302, 400), (method, path)  # sign-in, or the CSRF check first
    assert checked >= 20


def test_changing_only_the_team_needs_no_reason_and_is_not_a_reschedule(app, client, factory, setup):
    executive, ward = setup
    colleague = factory.user(Role.EXECUTIVE, name="New Colleague")
    walkabout = factory.walkabout(ward, executive)  # a start with seconds, as stored by other paths
    login(client, executive.email)
    url = f"/walkabouts/{walkabout.id}/edit"
    local = walkabout.scheduled_start.astimezone(LONDON)
    response = post_form(
        client,
        url,
        form_for(
            ward,
            executive,
            local.date(),
            at=local.strftime("%H:%M"),
            version="1",
            attendee_ids=[str(colleague.id)],
            focus="Sepsis",
        ),
    )
    assert response.status_code == 303
    with session_scope(app) as session:
        row = session.get(Walkabout, walkabout.id)
        assert row.scheduled_start == walkabout.scheduled_start and row.focus == "Sepsis"
        assert [person.id for person in row.attendees] == [colleague.id] and row.calendar_sequence == 1
        assert session.exec(select(func.count()).select_from(WalkaboutReschedule)).one() == 0
