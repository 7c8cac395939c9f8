"""Invitations as Outlook and Gmail read them (issue 16): iMIP, one per series, one email per
executive for a rota, planned by the change itself, the feed sharing their UIDs."""

from datetime import UTC, date, datetime, time, timedelta
from email import policy
from email.parser import BytesParser
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import recurring_ical_events
import time_machine
from sqlmodel import select

from walkabout.db import session_scope
from walkabout.models import NotificationStatus, Role, SentNotification, User, Walkabout, WalkaboutSeries
from walkabout.scheduler import send_cycle
from walkabout.services import calendar as calendars
from walkabout.services import capture
from walkabout.services import series as series_service
from walkabout.services import walkabouts as programme
from walkabout.services.rota import RotaRequest, accept_rota
from walkabout.services.series import Recurrence
from walkabout.services.walkabouts import WalkaboutDetails

from .mailcheck import DOMAIN, attendees, invitation, parse_calendar, read_outbox, to, use_identity

LONDON = ZoneInfo("Europe/London")
CLOCK = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)  # a Tuesday, 10:00 in London (BST)


@pytest.fixture(autouse=True)
def setting(app, tmp_path):
    app.instance_path = str(tmp_path / "instance")
    use_identity(app)
    with time_machine.travel(CLOCK, tick=False) as traveller:
        yield traveller


@pytest.fixture
def team(factory):
    lead = factory.user(Role.EXECUTIVE, name="Lead Exec", email="lead@riverside.nhs.uk")
    colleague = factory.user(Role.EXECUTIVE, name="Other Exec", email="other@riverside.nhs.uk")
    third = factory.user(Role.EXECUTIVE, name="Third Exec", email="third@riverside.nhs.uk")
    manager = factory.user(Role.WARD_MANAGER, name="Ward Boss")
    ward = factory.ward(factory.site("Riverside"), "Beech Ward", managers=(manager,))
    return lead, colleague, third, manager, ward


def at(day: date, clock: time) -> datetime:
    return datetime.combine(day, clock, tzinfo=LONDON).astimezone(UTC)


def invitation_rows(app) -> list[SentNotification]:
    with session_scope(app) as session:
        return list(
            session.exec(
                select(SentNotification)
                .where(SentNotification.kind == "invitation")
                .order_by(SentNotification.id)
            ).all()
        )


def schedule(app, lead, ward, start, attendee_ids=(), **extra) -> int:
    with app.app_context(), session_scope(app) as session:
        actor = session.get(User, lead.id)
        details = WalkaboutDetails(
            ward_id=ward.id, lead_id=lead.id, start=start, attendee_ids=list(attendee_ids), **extra
        )
        return programme.schedule_walkabout(session, actor, details, confirm_clashes=True).id


def make_series(app, lead, ward, recurrence, attendee_ids=()) -> tuple[int, list[int]]:
    with app.app_context(), session_scope(app) as session:
        details = WalkaboutDetails(
            ward_id=ward.id, lead_id=lead.id, start=CLOCK, attendee_ids=list(attendee_ids), focus="Falls"
        )
        made, walkabouts = series_service.create_series(
            session, session.get(User, lead.id), details, recurrence, confirm_clashes=True
        )
        return made.id, [w.id for w in walkabouts]


def change(app, walkabout_id, actor, **fields):
    """Reschedule or edit one walkabout through the service, keeping what is not given."""
    with app.app_context(), session_scope(app) as session:
        row = session.get(Walkabout, walkabout_id)
        details = WalkaboutDetails(
            ward_id=fields.get("ward_id", row.ward_id),
            lead_id=fields.get("lead_id", row.lead_id),
            start=fields.get("start", row.scheduled_start),
            duration_minutes=row.duration_minutes,
            attendee_ids=fields.get("attendee_ids", [u.id for u in row.attendees]),
            focus=fields.get("focus", row.focus),
        )
        programme.reschedule_walkabout(
            session,
            session.get(User, actor.id),
            row,
            details,
            expected_version=row.version,
            reason="Clashes with the board meeting",
            confirm_clashes=True,
        )


def cancel(app, walkabout_id, actor, reason="Ward closed for an outbreak"):
    with app.app_context(), session_scope(app) as session:
        row = session.get(Walkabout, walkabout_id)
        programme.cancel_walkabout(
            session, session.get(User, actor.id), row, reason=reason, expected_version=row.version
        )


def new_mail(app) -> list:
    """The messages one scheduler run sends."""
    folder = Path(app.instance_path) / "outbox"
    before = set(folder.glob("*.eml"))
    send_cycle(app)
    fresh = sorted(set(folder.glob("*.eml")) - before)
    return [BytesParser(policy=policy.default).parsebytes(p.read_bytes()) for p in fresh]


def test_a_walkabout_invitation_is_imip_and_follows_every_change(app, team):
    lead, colleague, third, _manager, ward = team
    start = at(date(2026, 9, 15), time(14, 30))
    walkabout_id = schedule(app, lead, ward, start, attendee_ids=[colleague.id])

    sent = new_mail(app)
    assert sorted(to(m) for m in sent) == ["Lead Exec", "Other Exec"]
    method, calendar, other = invitation(sent[0])
    assert method == "REQUEST" and sent[0]["Subject"].startswith("Walkabout on Beech Ward")
    assert "List-Unsubscribe" not in sent[0]  # invitations are part of the job
    event = calendar.walk("VEVENT")[0]
    assert str(event["uid"]) == f"walkabout-{walkabout_id}@{DOMAIN}" and int(event["sequence"]) == 0
    assert event.decoded("dtstart") == start
    assert str(event["url"]) == f"https://walkabout.riverside.nhs.uk/walkabouts/{walkabout_id}"
    assert "led by Lead Exec" in str(event["description"])
    people = attendees(event)
    assert people["lead@riverside.nhs.uk"]["ROLE"] == "CHAIR"
    assert people["other@riverside.nhs.uk"]["ROLE"] == "REQ-PARTICIPANT"
    assert {p["PARTSTAT"] for p in people.values()} == {"NEEDS-ACTION"}
    assert {p["RSVP"] for p in people.values()} == {"FALSE"}
    assert other.vevent.dtstart.value == start.astimezone(LONDON)
    assert other.vevent.organizer.value == "mailto:walkabout@riverside.nhs.uk"

    # Moved, and Third Exec joins while Other Exec leaves: a REQUEST with a higher SEQUENCE to the
    # team, a CANCEL to the one taken off.
    change(app, walkabout_id, lead, start=start + timedelta(days=1), attendee_ids=[third.id])
    sent = new_mail(app)
    by_person = {to(m): invitation(m) for m in sent}
    assert sorted(by_person) == ["Lead Exec", "Other Exec", "Third Exec"]
    assert by_person["Lead Exec"][0] == by_person["Third Exec"][0] == "REQUEST"
    assert by_person["Other Exec"][0] == "CANCEL"
    for _method, calendar, _other in by_person.values():
        event = calendar.walk("VEVENT")[0]
        assert int(event["sequence"]) == 1 and str(event["uid"]) == f"walkabout-{walkabout_id}@{DOMAIN}"
    assert str(by_person["Other Exec"][1].walk("VEVENT")[0]["status"]) == "CANCELLED"

    cancel(app, walkabout_id, lead)
    sent = new_mail(app)
    assert sorted(to(m) for m in sent) == ["Lead Exec", "Third Exec"]
    for message in sent:
        method, calendar, other = invitation(message)
        event = calendar.walk("VEVENT")[0]
        assert method == "CANCEL" and int(event["sequence"]) == 2 and str(event["status"]) == "CANCELLED"
        assert other.vevent.status.value == "CANCELLED"
    assert "Ward closed for an outbreak" in sent[0].get_body(preferencelist=("plain",)).get_content()


def test_starting_or_completing_a_walkabout_sends_no_invitation(app, team, setting):
    lead, colleague, _third, _manager, ward = team
    walkabout_id = schedule(app, lead, ward, CLOCK + timedelta(hours=2), attendee_ids=[colleague.id])
    send_cycle(app)
    assert len(invitation_rows(app)) == 2
    setting.move_to(CLOCK + timedelta(hours=2))
    with app.app_context(), session_scope(app) as session:
        row = session.get(Walkabout, walkabout_id)
        capture.start(session, session.get(User, lead.id), row)
    send_cycle(app)
    with app.app_context(), session_scope(app) as session:
        row = session.get(Walkabout, walkabout_id)
        capture.complete(
            session,
            session.get(User, lead.id),
            row,
            summary_notes="Good visit",
            participation={"Staff nurse": 2},
            feedback_given=True,
            feedback_notes=None,
            version=row.version,
        )
    send_cycle(app)
    assert len(invitation_rows(app)) == 2
    sent = read_outbox(app)
    assert len([m for m in sent if "text/calendar" in m.as_string()]) == 2  # the first invitations only
    assert "Follow-up from the walkabout on Beech Ward" in [m["Subject"] for m in sent]


def weekly(first: date, count: int, clock: time = time(14, 0)) -> Recurrence:
    return Recurrence(pattern="weekly", first_day=first, at=clock, weekday=first.weekday(), count=count)


def test_a_series_of_12_is_one_invitation_per_attendee_with_its_rule(app, team):
    lead, colleague, _third, _manager, ward = team
    series_id, walkabout_ids = make_series(app, lead, ward, weekly(date(2026, 9, 8), 12), [colleague.id])
    assert len(walkabout_ids) == 12
    rows = invitation_rows(app)
    assert len(rows) == 2 and {r.subject_type for r in rows} == {"series"}

    sent = new_mail(app)
    assert sorted(to(m) for m in sent) == ["Lead Exec", "Other Exec"]
    for message in sent:
        method, calendar, other = invitation(message)
        assert method == "REQUEST"
        events = calendar.walk("VEVENT")
        assert len(events) == 1
        master = events[0]
        assert str(master["uid"]) == f"series-{series_id}@{DOMAIN}"
        assert master["dtstart"].params["TZID"] == "Europe/London"
        assert [str(tz["tzid"]) for tz in calendar.walk("VTIMEZONE")] == ["Europe/London"]
        assert master["rrule"]["FREQ"] == ["WEEKLY"] and master["rrule"]["COUNT"] == [12]
        starts = [moment for moment in other.vevent.getrruleset()]
        # vobject expands in wall-clock time (its pytz zones are not normalised): 14:00 each week.
        assert len(starts) == 12 and {s.time() for s in starts} == {time(14, 0)}
        expanded = recurring_ical_events.of(calendar).between(date(2026, 9, 1), date(2027, 1, 1))
        assert len(expanded) == 12
    assert "12 walkabouts" in sent[0]["Subject"]
    assert sent[0].get_body(preferencelist=("plain",)).get_content().count("led by Lead Exec") == 12


def test_a_series_across_the_october_clock_change_keeps_its_local_time(app, team):
    lead, _colleague, _third, _manager, ward = team
    make_series(app, lead, ward, weekly(date(2026, 10, 13), 4, time(9, 30)))
    _method, calendar, other = invitation(new_mail(app)[0])
    expanded = recurring_ical_events.of(calendar).between(date(2026, 10, 1), date(2026, 12, 1))
    local = [event.decoded("dtstart") for event in expanded]
    assert [moment.astimezone(LONDON).strftime("%d %b %H:%M") for moment in local] == [
        "13 Oct 09:30",
        "20 Oct 09:30",
        "27 Oct 09:30",
        "03 Nov 09:30",
    ]
    assert [moment.astimezone(UTC).hour for moment in local] == [8, 8, 9, 9]  # BST, BST, GMT, GMT
    assert [s.strftime("%d %b %H:%M") for s in other.vevent.getrruleset()] == [
        "13 Oct 09:30",
        "20 Oct 09:30",
        "27 Oct 09:30",
        "03 Nov 09:30",
    ]


def test_monthly_on_the_31st_is_the_last_day_of_shorter_months(app, team):
    lead, _colleague, _third, _manager, ward = team
    recurrence = Recurrence(
        pattern="monthly_date", first_day=date(2026, 10, 31), at=time(11, 0), month_day=31, count=4
    )
    make_series(app, lead, ward, recurrence)
    _method, calendar, other = invitation(new_mail(app)[0])
    rule = calendar.walk("VEVENT")[0]["rrule"]
    assert rule["BYMONTHDAY"] == [28, 29, 30, 31] and rule["BYSETPOS"] == [-1]
    days = [moment.date() for moment in other.vevent.getrruleset()]
    assert days == [date(2026, 10, 31), date(2026, 11, 30), date(2026, 12, 31), date(2027, 1, 31)]


def test_a_moved_and_a_cancelled_occurrence_of_a_series(app, team):
    lead, colleague, _third, _manager, ward = team
    series_id, ids = make_series(app, lead, ward, weekly(date(2026, 9, 8), 12), [colleague.id])
    new_mail(app)
    uid = f"series-{series_id}@{DOMAIN}"

    third_slot = at(date(2026, 9, 22), time(14, 0))
    change(app, ids[2], lead, start=at(date(2026, 9, 23), time(15, 0)))
    sent = new_mail(app)
    assert sorted(to(m) for m in sent) == ["Lead Exec", "Other Exec"]  # one message each, not 12
    method, calendar, other = invitation(sent[0])
    assert method == "REQUEST" and str(sent[0]["Subject"]).strip().startswith("Changed: series")
    master, override = calendar.walk("VEVENT")
    assert str(override["uid"]) == uid and override.decoded("recurrence-id") == third_slot
    assert override.decoded("dtstart") == at(date(2026, 9, 23), time(15, 0))
    assert int(master["sequence"]) == int(override["sequence"]) == 1
    expanded = recurring_ical_events.of(calendar).between(date(2026, 9, 1), date(2027, 1, 1))
    starts = sorted(event.decoded("dtstart") for event in expanded)
    assert len(starts) == 12 and at(date(2026, 9, 23), time(15, 0)) in starts and third_slot not in starts
    assert len(other.contents["vevent"]) == 2

    fifth_slot = at(date(2026, 10, 6), time(14, 0))
    cancel(app, ids[4], lead, reason="Flu outbreak")
    sent = new_mail(app)
    assert len(sent) == 2
    method, calendar, other = invitation(sent[0])
    assert method == "CANCEL"
    (event,) = calendar.walk("VEVENT")
    assert str(event["uid"]) == uid and event.decoded("recurrence-id") == fifth_slot
    assert int(event["sequence"]) == 2 and other.vevent.recurrence_id.value == fifth_slot.astimezone(LONDON)

    # A later change to the series carries the cancellation as an EXDATE and keeps the move.
    with app.app_context(), session_scope(app) as session:
        row = session.get(WalkaboutSeries, series_id)
        series_service.update_series(
            session,
            session.get(User, lead.id),
            row,
            lead_id=lead.id,
            at=time(14, 0),
            duration_minutes=90,
            focus="Medicines",
            reason="Longer visits",
            expected_version=row.version,
            confirm_clashes=True,
        )
    sent = new_mail(app)
    assert len(sent) == 2
    method, calendar, other = invitation(sent[0])
    master = calendar.walk("VEVENT")[0]
    excluded = [d.dt for d in master["exdate"].dts] if not isinstance(master["exdate"], list) else []
    assert fifth_slot in [moment.astimezone(UTC) for moment in excluded]
    expanded = recurring_ical_events.of(calendar).between(date(2026, 9, 1), date(2027, 1, 1))
    assert len(expanded) == 11
    starts = [event.decoded("dtstart") for event in expanded]
    assert fifth_slot not in starts and at(date(2026, 9, 23), time(14, 0)) in starts  # still moved a day
    assert {event.decoded("dtend") - event.decoded("dtstart") for event in expanded} == {
        timedelta(minutes=90)
    }
    assert int(master["sequence"]) > 2
    assert "Medicines" in str(master["description"])


def test_changes_queued_together_go_out_as_one_full_update(app, team):
    """A move and a cancellation before the scheduler runs: one REQUEST with both, no lost move."""
    lead, _colleague, _third, _manager, ward = team
    _series_id, ids = make_series(app, lead, ward, weekly(date(2026, 9, 8), 6))
    new_mail(app)
    change(app, ids[1], lead, start=at(date(2026, 9, 16), time(10, 0)))
    cancel(app, ids[3], lead)
    sent = new_mail(app)
    assert len(sent) == 1
    method, calendar, _other = invitation(sent[0])
    assert method == "REQUEST"
    expanded = recurring_ical_events.of(calendar).between(date(2026, 9, 1), date(2027, 1, 1))
    starts = sorted(event.decoded("dtstart") for event in expanded)
    assert len(starts) == 5 and at(date(2026, 9, 16), time(10, 0)) in starts
    assert {r.status for r in invitation_rows(app)} == {NotificationStatus.SENT, NotificationStatus.SKIPPED}


def test_cancelling_the_rest_of_a_series_and_walkabouts_known_by_their_old_uid(app, team):
    lead, _colleague, _third, _manager, ward = team
    series_id, ids = make_series(app, lead, ward, weekly(date(2026, 9, 8), 4))
    new_mail(app)
    with app.app_context(), session_scope(app) as session:
        # Invited one by one before series events existed: calendars know it by its old UID.
        session.get(Walkabout, ids[3]).calendar_uid = f"walkabout-{ids[3]}@walkabout"
    with app.app_context(), session_scope(app) as session:
        series_service.cancel_rest_of_series(
            session, session.get(User, lead.id), session.get(WalkaboutSeries, series_id), reason="Ward moved"
        )
    sent = new_mail(app)
    by_uid = {}
    for message in sent:
        method, calendar, _other = invitation(message, domains=(DOMAIN, "walkabout"))
        by_uid[str(calendar.walk("VEVENT")[0]["uid"])] = method
    assert by_uid == {f"series-{series_id}@{DOMAIN}": "CANCEL", f"walkabout-{ids[3]}@walkabout": "CANCEL"}


def test_a_years_rota_is_one_email_per_executive_with_one_calendar_file(app, factory):
    site = factory.site("Riverside")
    wards = [factory.ward(site, f"Ward {n:02d}") for n in range(40)]
    leads = [factory.user(Role.EXECUTIVE, name=f"Exec {n}") for n in range(4)]
    request = RotaRequest(
        first_day=date(2026, 9, 2), visits_per_ward=12, at=time(14), weekdays=[0, 1, 2, 3, 4]
    )
    with app.app_context(), session_scope(app) as session:
        created = accept_rota(session, session.get(User, leads[0].id), request, date(2026, 9, 1))
        per_lead = {}
        for walkabout in created:
            per_lead[walkabout.lead_id] = per_lead.get(walkabout.lead_id, 0) + 1
    assert len(created) == 480 and len(wards) == 40
    assert len(invitation_rows(app)) == 4

    sent = new_mail(app)
    assert len(sent) == 4
    for message in sent:
        lead = next(u for u in leads if u.name == to(message))
        files = [p for p in message.iter_attachments() if p.get_filename() == "walkabout-rota.ics"]
        assert len(files) == 1 and files[0].get_content_type() == "text/calendar"
        assert files[0].get_param("method") == "PUBLISH"
        calendar, other = parse_calendar(files[0].get_content())
        events = calendar.walk("VEVENT")
        assert len(events) == per_lead[lead.id] == len(other.contents["vevent"])
        assert {str(e["uid"]).rsplit("@", 1)[1] for e in events} == {DOMAIN}
        assert (
            f"You lead {per_lead[lead.id]} of them"
            in message.get_body(preferencelist=("plain",)).get_content()
        )


def test_the_feed_shares_the_invitations_uids_and_its_alarms_are_a_choice(app, client, team, setting):
    from .conftest import login

    lead, colleague, _third, _manager, ward = team
    single = schedule(app, lead, ward, at(date(2026, 9, 3), time(11, 0)), attendee_ids=[colleague.id])
    past = schedule(app, lead, ward, CLOCK + timedelta(minutes=30))
    series_id, _ids = make_series(app, lead, ward, weekly(date(2026, 9, 9), 5), [colleague.id])
    invited = set()
    for message in new_mail(app):
        if to(message) == "Other Exec":
            invited |= {str(e["uid"]) for e in invitation(message)[1].walk("VEVENT")}
    assert invited == {f"walkabout-{single}@{DOMAIN}", f"series-{series_id}@{DOMAIN}"}

    setting.move_to(CLOCK + timedelta(hours=2))  # `past` is over
    with app.app_context(), session_scope(app) as session:
        token = calendars.rotate_token(session, session.get(User, colleague.id))
        lead_token = calendars.rotate_token(session, session.get(User, lead.id))
    response = client.get(f"/calendar/{token}.ics")
    assert response.status_code == 200
    calendar, other = parse_calendar(response.data)
    assert {str(e["uid"]) for e in calendar.walk("VEVENT")} == invited
    assert "REFRESH-INTERVAL;VALUE=DURATION:PT1H" in response.text
    assert str(calendar["x-published-ttl"]) and other.contents["refresh-interval"][0].value
    assert not calendar.walk("VALARM")

    login(client, lead.email)
    page = client.get("/account/calendar").get_data(as_text=True)
    token_field = page.split('name="csrf_token" value="')[1].split('"')[0]
    response = client.post("/account/calendar/alarms", data={"csrf_token": token_field, "alarms": "1"})
    assert response.status_code == 303
    calendar, _other = parse_calendar(client.get(f"/calendar/{lead_token}.ics").data)
    with_alarm = {str(e["uid"]) for e in calendar.walk("VEVENT") if e.walk("VALARM")}
    assert f"walkabout-{past}@{DOMAIN}" not in with_alarm  # no alarm for what is over
    assert {f"walkabout-{single}@{DOMAIN}", f"series-{series_id}@{DOMAIN}"} <= with_alarm
