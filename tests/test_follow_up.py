"""After the visit (issue 15): every concern followed up from the completed walkabout,
feedback to staff as one timed record per concern, and who is told when it lags."""

import html
import re
from datetime import UTC, date, datetime, time, timedelta
from io import BytesIO
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
import time_machine
from pypdf import PdfReader
from sqlmodel import func, select

from walkabout import migrate
from walkabout.db import get_db, session_scope
from walkabout.models import (
    Action,
    AuditEvent,
    Concern,
    ConcernStatus,
    FeedbackDelivery,
    FeedbackUpdate,
    Role,
    User,
    Walkabout,
    WalkaboutStatus,
)
from walkabout.periods import Period
from walkabout.reports.figures import headline
from walkabout.scheduler import daily_cycle, send_cycle
from walkabout.services import Conflict, actions, capture, follow_up

from .conftest import csrf_token, login, make_app, post_form
from .mailcheck import read_outbox

LONDON = ZoneInfo("Europe/London")
FRIDAY = date(2026, 12, 4)
DASH = "\u2013"  # the en dash between start and end times
HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def at(day: date, clock: time = time(10, 0)) -> datetime:
    return datetime.combine(day, clock, tzinfo=LONDON).astimezone(UTC)


@pytest.fixture
def trust(app, factory):
    """A ward with its manager; two executives; a completed walkabout (Friday) with three concerns."""
    lead = factory.user(Role.EXECUTIVE, name="Eve Lead", email="lead@example.org")
    colleague = factory.user(Role.EXECUTIVE, name="Carl Colleague", email="colleague@example.org")
    outsider = factory.user(Role.EXECUTIVE, name="Olive Outsider", email="outsider@example.org")
    manager = factory.user(Role.WARD_MANAGER, name="Mo Manager", email="manager@example.org")
    other_manager = factory.user(Role.WARD_MANAGER, name="Pat Other", email="other@example.org")
    ward = factory.ward(name="Beech Ward", managers=(manager,))
    factory.ward(name="Cedar Ward", managers=(other_manager,))
    walkabout = factory.walkabout(
        ward,
        lead,
        start=at(FRIDAY),
        status=WalkaboutStatus.COMPLETED,
        started_at=at(FRIDAY, time(10, 5)),
        completed_at=at(FRIDAY, time(10, 55)),
    )
    factory.attend(walkabout, colleague)
    due = FRIDAY + timedelta(days=14)
    concerns = [
        factory.concern(walkabout, text="Hoist battery fails at night", feedback_due_on=due),
        factory.concern(
            walkabout, text="Sluice door sticks", likelihood=1, consequence=2, feedback_due_on=due
        ),
        factory.concern(walkabout, text="Noise at night", likelihood=2, consequence=2, feedback_due_on=due),
    ]
    return dict(
        lead=lead,
        colleague=colleague,
        outsider=outsider,
        manager=manager,
        other_manager=other_manager,
        ward=ward,
        walkabout=walkabout,
        concerns=concerns,
    )


def signed_in(app, user):
    client = app.test_client()
    login(client, user.email)
    return client


def page_of(client, walkabout) -> str:
    response = client.get(f"/walkabouts/{walkabout.id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def text_of(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def concern_row(app, concern_id: int) -> Concern:
    with session_scope(app) as session:
        concern = session.get(Concern, concern_id)
        session.expunge(concern)
        return concern


def test_the_completed_walkabout_lists_every_concern_with_one_tap_follow_up(app, trust):
    _, sluice, noise = trust["concerns"]
    lead = signed_in(app, trust["lead"])
    page = page_of(lead, trust["walkabout"])
    shown = text_of(page)
    assert "3 concerns, 3 with no action yet" in shown
    for concern in trust["concerns"]:
        assert concern.text in shown
    assert page.count(">Assign action</a>") == 3
    assert "Ward can fix (Mo Manager)" in shown and "No action needed" in shown
    assert f"Scheduled Fri 4 Dec 2026, 10:00{DASH}11:00" in shown
    assert f"Held Fri 4 Dec 2026, 10:05{DASH}10:55" in shown

    # Ward can fix: the ward's manager owns it; back to the same concern on the list.
    response = post_form(
        lead,
        f"/concerns/{sluice.id}/actions/ward-fix",
        {"version": "1", "back": "walkabout"},
        token_from=f"/walkabouts/{trust['walkabout'].id}",
    )
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/walkabouts/{trust['walkabout'].id}#concern-{sluice.id}")
    # No action needed, with a reason.
    response = post_form(
        lead,
        f"/concerns/{noise.id}/no-action",
        {
            "noaction-reason": "Quiet hours already run from 22:00",
            "noaction-version": "1",
            "back": "walkabout",
        },
        token_from=f"/walkabouts/{trust['walkabout'].id}",
    )
    assert response.status_code == 303 and response.headers["Location"].endswith(f"#concern-{noise.id}")
    with session_scope(app) as session:
        action = session.exec(select(Action).where(Action.concern_id == sluice.id)).one()
        assert action.owner_id == trust["manager"].id
        assert session.get(Concern, sluice.id).ward_can_fix
        assert session.get(Concern, noise.id).status == ConcernStatus.NO_ACTION_NEEDED
    shown = text_of(page_of(lead, trust["walkabout"]))
    assert "1 with no action yet" in shown
    assert "1 action, 0 done" in shown and "Fix on the ward: Sluice door sticks" in shown
    assert "No action needed : Quiet hours already run from 22:00" in shown

    # A ward manager sees the states, not the executives' buttons.
    manager_page = page_of(signed_in(app, trust["manager"]), trust["walkabout"])
    assert "Hoist battery fails at night" in manager_page and ">Assign action</a>" not in manager_page


def test_no_action_without_a_reason_is_refused_and_nothing_changes(app, trust):
    noise = trust["concerns"][2]
    lead = signed_in(app, trust["lead"])
    response = post_form(
        lead,
        f"/concerns/{noise.id}/no-action",
        {"noaction-reason": "   ", "noaction-version": "1", "back": "walkabout"},
        token_from=f"/walkabouts/{trust['walkabout'].id}",
    )
    assert response.status_code == 400
    assert "Write why no action is needed." in response.get_data(as_text=True)
    saved = concern_row(app, noise.id)
    assert (saved.status, saved.version, saved.no_action_reason) == (ConcernStatus.OPEN, 1, None)


def test_two_executives_following_up_one_concern_one_wins_the_other_is_told(app, trust):
    hoist = trust["concerns"][0]
    lead, colleague = signed_in(app, trust["lead"]), signed_in(app, trust["colleague"])
    lead_token = csrf_token(lead, f"/walkabouts/{trust['walkabout'].id}")
    colleague_token = csrf_token(colleague, f"/walkabouts/{trust['walkabout'].id}")  # both saw version 1
    first = lead.post(
        f"/concerns/{hoist.id}/actions/ward-fix",
        data={"csrf_token": lead_token, "version": "1", "back": "walkabout"},
    )
    assert first.status_code == 303
    second = colleague.post(
        f"/concerns/{hoist.id}/no-action",
        data={
            "csrf_token": colleague_token,
            "noaction-reason": "Batteries are on order already",
            "noaction-version": "1",
            "back": "walkabout",
        },
    )
    assert second.status_code == 409
    refused = text_of(second.get_data(as_text=True))
    assert "Someone else changed this concern since you opened it" in refused
    assert "Fix on the ward: Hoist battery fails at night" in refused  # shown the latest
    twice = colleague.post(
        f"/concerns/{hoist.id}/actions/ward-fix",
        data={"csrf_token": colleague_token, "version": "1", "back": "walkabout"},
        follow_redirects=True,
    )
    assert "Someone else changed this concern" in twice.get_data(as_text=True)
    with session_scope(app) as session:
        assert session.exec(select(func.count()).select_from(Action)).one() == 1
        assert session.get(Concern, hoist.id).status == ConcernStatus.OPEN


def test_the_orm_version_check_refuses_the_loser_of_a_real_race(app, trust):
    """Both read version 1 before either writes: the UPDATE ... WHERE version = 1 of the second fails."""
    sluice = trust["concerns"][1]
    with app.app_context():
        with session_scope(app) as session:
            loser = session.get(Concern, sluice.id)
            loser.walkabout.ward_id  # noqa: B018 - loaded while version 1 is current
            session.expunge(loser)
        with session_scope(app) as session:
            actions.assign_to_ward_manager(
                session,
                session.get(User, trust["lead"].id),
                session.get(Concern, sluice.id),
                FRIDAY,
                version=1,
            )
        with session_scope(app) as session:
            session.add(loser)  # still version 1: the pre-check passes, the UPDATE matches no row
            with pytest.raises(Conflict, match="Someone else changed this concern"):
                actions.assign_to_ward_manager(
                    session, session.get(User, trust["colleague"].id), loser, FRIDAY, version=1
                )
    with session_scope(app) as session:
        assert session.exec(select(func.count()).select_from(Action)).one() == 1
        assert session.get(Concern, sluice.id).version == 2


def test_wrong_ids_and_other_wards_are_refused(app, trust):
    hoist = trust["concerns"][0]
    other_manager = signed_in(app, trust["other_manager"])
    token = csrf_token(other_manager, "/")
    assert (
        other_manager.post(
            f"/concerns/{hoist.id}/actions/ward-fix", data={"csrf_token": token, "version": "1"}
        ).status_code
        == 403
    )
    assert other_manager.get(f"/concerns/{hoist.id}/feedback").status_code == 403
    lead = signed_in(app, trust["lead"])
    token = csrf_token(lead, "/")
    for path in (
        "/concerns/999999/actions/ward-fix",
        "/concerns/999999/no-action",
        "/concerns/999999/feedback",
    ):
        assert lead.post(path, data={"csrf_token": token, "version": "1"}).status_code == 404, path
    assert lead.get("/concerns/999999/feedback").status_code == 404
    # An executive who was not on the walkabout reads it, but its feedback is the team's to write.
    outsider = signed_in(app, trust["outsider"])
    assert outsider.get(f"/concerns/{hoist.id}/feedback").status_code == 403
    with session_scope(app) as session:
        assert session.exec(select(func.count()).select_from(Action)).one() == 0
        assert session.exec(select(func.count()).select_from(FeedbackUpdate)).one() == 0


def test_feedback_is_written_by_the_team_and_the_owner_and_published_escaped(app, factory, trust):
    hoist, sluice, _ = trust["concerns"]
    lead = signed_in(app, trust["lead"])
    path = f"/concerns/{hoist.id}/feedback"
    refused = post_form(lead, path, {"kind": "", "text": "Batteries ordered"})
    assert refused.status_code == 400 and "interim update or the final feedback" in refused.get_data(
        as_text=True
    )
    refused = post_form(lead, path, {"kind": "final", "text": "  "})
    assert refused.status_code == 400 and "Write what you tell the staff." in refused.get_data(as_text=True)
    assert (
        post_form(lead, path, {"kind": "interim", "text": "New batteries are on order."}).status_code == 303
    )
    # The owner of the concern's action (a ward manager, not on the walkabout) writes the final word.
    factory.action(hoist, trust["manager"], description="Replace the hoist battery")
    manager = signed_in(app, trust["manager"])
    final = post_form(manager, path, {"kind": "final", "text": "New battery fitted. " + HOSTILE})
    assert final.status_code == 303
    page = manager.get(path).get_data(as_text=True)
    assert "Interim update" in page and "Final feedback" in page
    assert "<script>alert" not in page and html.escape(HOSTILE, quote=False)[:20] in page
    with session_scope(app) as session:
        assert session.exec(select(func.count()).select_from(FeedbackUpdate)).one() == 2
        assert session.exec(select(AuditEvent).where(AuditEvent.verb == "feedback_written")).first()

    # The ward's public page: published at once, escaped, final first, nothing internal.
    token = _share(app, trust)
    factory.action(sluice, trust["manager"], description="Plane the sluice door")
    public = app.test_client().get(f"/you-said-we-did/{token}").get_data(as_text=True)
    assert "<script>alert" not in public and "&lt;script&gt;" in public
    shown = text_of(public)
    assert "New battery fitted." in shown and "New batteries are on order." not in shown  # final replaces it
    assert shown.index("Hoist battery fails at night") < shown.index("Sluice door sticks")  # final first
    assert "Mo Manager" not in shown and "risk" not in shown.lower()


def _share(app, trust) -> str:
    from walkabout.models import Ward
    from walkabout.services import feedback

    with app.app_context(), session_scope(app) as session:
        return feedback.share(
            session, session.get(User, trust["lead"].id), session.get(Ward, trust["ward"].id)
        )


def test_completing_with_feedback_given_today_is_one_record_for_the_ward_page_and_the_board_pack(
    app, factory
):
    lead = factory.user(Role.EXECUTIVE, email="lead@example.org")
    ward = factory.ward(name="Ash Ward")
    walkabout = factory.walkabout(ward, lead, start=at(FRIDAY), status=WalkaboutStatus.IN_PROGRESS)
    with app.app_context(), session_scope(app) as session:
        concern = factory.concern(walkabout, text="Call bells slow")
        loaded = session.get(Walkabout, walkabout.id)
        loaded.started_at = at(FRIDAY, time(10, 5))
        session.flush()
        app.config["FEEDBACK_DAYS"] = 10
        capture.complete(
            session,
            session.get(User, lead.id),
            loaded,
            summary_notes=None,
            participation={},
            feedback_given=True,
            feedback_notes="Told the huddle what we heard",
            version=loaded.version,
            feedback_days=app.config["FEEDBACK_DAYS"],
        )
    with session_scope(app) as session:
        delivery = session.exec(select(FeedbackDelivery)).one()
        assert delivery.walkabout_id == walkabout.id and delivery.method == "At the walkabout"
        assert session.get(Concern, concern.id).feedback_due_on == FRIDAY + timedelta(days=10)
    client = signed_in(app, factory.get(User, lead.id))
    ward_page = text_of(client.get(f"/wards/{ward.id}/feedback").get_data(as_text=True))
    assert "No feedback recorded yet" not in ward_page and "Told the huddle what we heard" in ward_page
    with session_scope(app) as session:
        figures = headline(session, Period(date(2026, 12, 1), date(2027, 1, 1), LONDON))
    assert figures["walkabouts"]["feedback_given"] == 1 and figures["walkabouts"]["feedback_share"] == 100


def test_home_counts_concerns_without_action_oldest_first_and_feedback_overdue(app, factory, trust):
    older = factory.walkabout(
        trust["ward"],
        trust["lead"],
        start=at(FRIDAY - timedelta(days=7)),
        status=WalkaboutStatus.COMPLETED,
        completed_at=at(FRIDAY - timedelta(days=7), time(11)),
    )
    factory.concern(older, text="Oldest: drug fridge warm", feedback_due_on=FRIDAY + timedelta(days=7))
    with time_machine.travel(at(FRIDAY + timedelta(days=3)), tick=False):
        home = text_of(signed_in(app, trust["lead"]).get("/").get_data(as_text=True))
    assert "4 concerns from your walkabouts have no action yet" in home
    assert home.index("Oldest: drug fridge warm") < home.index("Hoist battery fails at night")
    assert "Feedback to staff is overdue" not in home
    # The colleague on the team sees them too; an executive who was not there does not.
    with time_machine.travel(at(FRIDAY + timedelta(days=3)), tick=False):
        assert "3 concerns from your walkabouts" in text_of(
            signed_in(app, trust["colleague"]).get("/").get_data(as_text=True)
        )
        assert "no action yet" not in text_of(
            signed_in(app, trust["outsider"]).get("/").get_data(as_text=True)
        )
    # Past the 14-day clock.
    with time_machine.travel(at(FRIDAY + timedelta(days=15)), tick=False):
        home = text_of(signed_in(app, trust["lead"]).get("/").get_data(as_text=True))
    assert "Feedback to staff is overdue on 4 concerns" in home


def test_home_shows_what_other_people_just_did_at_once(app, factory, trust):
    """Home's lists change on the next request after another user's change, in another session."""
    hoist, sluice, _ = trust["concerns"]
    with time_machine.travel(at(FRIDAY + timedelta(days=15)), tick=False):
        lead, colleague = signed_in(app, trust["lead"]), signed_in(app, trust["colleague"])
        manager = signed_in(app, trust["manager"])

        def home(client) -> str:
            return text_of(client.get("/").get_data(as_text=True))

        for _ in range(2):  # the second request as the first: nothing changed in between
            shown = home(lead)
            assert "3 concerns from your walkabouts have no action yet" in shown
            assert "Feedback to staff is overdue on 3 concerns" in shown
        assert "You have no open actions." in home(manager)

        # The colleague gives feedback: it stops the lead's clock on that concern.
        path = f"/concerns/{hoist.id}/feedback"
        assert post_form(colleague, path, {"kind": "interim", "text": "Batteries ordered"}).status_code == 303
        with session_scope(app) as session:
            assert session.get(Concern, hoist.id).first_feedback_at is not None
            assert session.get(Concern, sluice.id).first_feedback_at is None
        shown = home(lead)
        assert "Feedback to staff is overdue on 2 concerns" in shown
        assert "Hoist battery fails at night" in shown  # still without an action

        # The colleague makes it the ward's fix: an action for the manager, gone from "no action yet".
        fixed = post_form(
            colleague,
            f"/concerns/{sluice.id}/actions/ward-fix",
            {"version": "1", "back": "walkabout"},
            token_from=f"/walkabouts/{trust['walkabout'].id}",
        )
        assert fixed.status_code == 303
        assert "2 concerns from your walkabouts have no action yet" in home(lead)
        shown = home(manager)
        assert "Fix on the ward: Sluice door sticks" in shown and "1 open" in shown


def test_the_digest_lists_concerns_without_action_after_two_working_days_and_late_feedback(
    app, tmp_path, trust
):
    app.instance_path = str(tmp_path / "instance")
    hoist = trust["concerns"][0]

    def digest_on(day: date) -> str | None:
        with time_machine.travel(at(day, time(8, 5)), tick=False):
            daily_cycle(app)
            send_cycle(app)
        mine = [m for m in read_outbox(app) if m["To"].addresses[0].addr_spec == "lead@example.org"]
        if len(mine) == len(seen):
            return None
        seen.append(mine[-1])
        return mine[-1].get_body(("plain",)).get_content()

    seen: list = []
    assert digest_on(FRIDAY + timedelta(days=3)) is None  # Monday: one working day has passed
    assert digest_on(FRIDAY + timedelta(days=4)) is None  # Tuesday morning: Monday only
    body = digest_on(FRIDAY + timedelta(days=5))  # Wednesday: Monday and Tuesday have passed
    assert body and "Concerns from your walkabouts with no action yet" in body
    assert "Hoist battery fails at night" in body and f"#concern-{hoist.id}" in body
    subject = str(seen[-1]["Subject"])
    assert "3 concerns with no action" in subject
    # Everything followed up; then the feedback clock runs out.
    with app.app_context(), session_scope(app) as session:
        lead = session.get(User, trust["lead"].id)
        for concern in trust["concerns"]:
            actions.mark_no_action_needed(session, lead, session.get(Concern, concern.id), "Fine", version=1)
    thursday = digest_on(FRIDAY + timedelta(days=6))
    assert thursday is None, thursday
    body = digest_on(FRIDAY + timedelta(days=15))
    assert body and "Staff are still waiting to hear back on these concerns (3)" in body
    assert f"/concerns/{hoist.id}/feedback" in body
    with app.app_context(), session_scope(app) as session:
        lead = session.get(User, trust["lead"].id)
        for concern in trust["concerns"]:
            follow_up.write_feedback(
                session, lead, follow_up.load_concern(session, concern.id), kind="final", text=HOSTILE
            )
    assert digest_on(FRIDAY + timedelta(days=16)) is None


def test_the_digest_email_escapes_feedback_text(app, tmp_path, trust):
    app.instance_path = str(tmp_path / "instance")
    hostile_walkabout_text = HOSTILE
    with app.app_context(), session_scope(app) as session:
        session.get(Concern, trust["concerns"][0].id).text = hostile_walkabout_text
    with time_machine.travel(at(FRIDAY + timedelta(days=5), time(8, 5)), tick=False):
        daily_cycle(app)
        send_cycle(app)
    message = next(m for m in read_outbox(app) if "lead@example.org" in str(m["To"]))
    body = message.get_body(("html",)).get_content()
    assert "<script>alert" not in body and "&lt;script&gt;" in body


def pdf_text(data: bytes) -> str:
    return re.sub(r"\s+", " ", " ".join(page.extract_text() for page in PdfReader(BytesIO(data)).pages))


def test_the_follow_up_summary_marks_concerns_without_action_and_shows_the_visit_times(app, factory, trust):
    hoist, sluice, _ = trust["concerns"]
    factory.action(sluice, trust["manager"], description="Plane the sluice door")
    factory.delivery(factory.get(Walkabout, trust["walkabout"].id))
    with app.app_context(), session_scope(app) as session:
        session.get(Concern, hoist.id).no_action_reason = None
        session.add(
            FeedbackUpdate(concern_id=hoist.id, kind="interim", text=HOSTILE, author_id=trust["lead"].id)
        )
    response = signed_in(app, trust["lead"]).get(f"/walkabouts/{trust['walkabout'].id}/summary.pdf")
    assert response.status_code == 200
    text = pdf_text(response.data)
    assert text.count("No action yet") == 2  # the hoist and the noise; the sluice has its action
    assert f"Scheduled: Fri 4 Dec 2026, 10:00{DASH}11:00" in text
    assert f"Held: Fri 4 Dec 2026, 10:05{DASH}10:55" in text
    assert "by Fri 18 Dec 2026" in text  # the feedback due date
    assert "Feedback on this visit was given to staff" in text


def test_the_ward_page_shows_visit_times_and_for_executives_feedback_overdue(app, trust):
    with time_machine.travel(at(FRIDAY + timedelta(days=15)), tick=False):
        lead_page = text_of(
            signed_in(app, trust["lead"]).get(f"/wards/{trust['ward'].id}/feedback").get_data(as_text=True)
        )
        manager_page = text_of(
            signed_in(app, trust["manager"]).get(f"/wards/{trust['ward'].id}/feedback").get_data(as_text=True)
        )
    assert "Feedback overdue 3" in lead_page and "feedback was due Fri 18 Dec 2026" in lead_page
    assert f"Scheduled 10:00{DASH}11:00 · held 10:05{DASH}10:55" in lead_page
    assert "Feedback overdue" not in manager_page and f"Scheduled 10:00{DASH}11:00" in manager_page


def test_working_days_cutoff_skips_the_weekend():
    cutoff = follow_up.working_days_cutoff(FRIDAY + timedelta(days=5), LONDON)  # Wednesday
    assert cutoff == datetime.combine(FRIDAY + timedelta(days=3), time.min, tzinfo=LONDON)  # Monday 00:00
    cutoff = follow_up.working_days_cutoff(FRIDAY + timedelta(days=6), LONDON)  # Thursday
    assert cutoff == datetime.combine(FRIDAY + timedelta(days=4), time.min, tzinfo=LONDON)


def test_the_migration_moves_the_walkabout_flags_into_feedback_deliveries(database_url):
    app = make_app(database_url, create_tables=False)
    migrate.upgrade(app, "0005")
    engine = get_db(app).engine
    with engine.begin() as connection:
        now = {"now": datetime.now(UTC)}
        connection.execute(
            sa.text("INSERT INTO site (name, active, created_at) VALUES ('Main', TRUE, :now)"), now
        )
        connection.execute(
            sa.text(
                "INSERT INTO ward (site_id, name, active, created_at) VALUES "
                "((SELECT id FROM site), 'Oak Ward', TRUE, :now)"
            ),
            now,
        )
        connection.execute(
            sa.text(
                'INSERT INTO "user" (email, name, password_hash, active, must_change_password, created_at) '
                "VALUES ('e@example.org', 'Eve', 'x', TRUE, FALSE, :now)"
            ),
            now,
        )
        base = (
            "INSERT INTO walkabout (ward_id, lead_id, scheduled_start, duration_minutes, status, is_adhoc, "
            "started_at, completed_at, feedback_given, feedback_given_at, feedback_notes, calendar_sequence, "
            'version, created_at, updated_at) VALUES ((SELECT id FROM ward), (SELECT id FROM "user"), '
            ":start, 60, 'completed', FALSE, :start, :start, :given, :start, :notes, 0, 1, :start, :start)"
        )
        start = at(FRIDAY)
        connection.execute(sa.text(base), {"start": start, "given": True, "notes": "Told the team"})
        connection.execute(sa.text(base), {"start": start, "given": False, "notes": None})
        connection.execute(
            sa.text(
                "INSERT INTO concern (walkabout_id, kind, text, ward_can_fix, status, created_at, "
                "updated_at, version) SELECT id, 'concern', 'Said', FALSE, 'open', :start, :start, 1 "
                "FROM walkabout"
            ),
            {"start": start},
        )
    migrate.upgrade(app)
    with session_scope(app) as session:
        delivery = session.exec(select(FeedbackDelivery)).one()
        assert delivery.notes == "Told the team" and delivery.delivered_at == start
        dues = session.exec(select(Concern.feedback_due_on)).all()
        assert dues == [FRIDAY + timedelta(days=14)] * 2
    columns = {column["name"] for column in sa.inspect(engine).get_columns("walkabout")}
    assert not columns & {"feedback_given", "feedback_given_at", "feedback_notes"}
    migrate.downgrade(app, "0005")
    with engine.connect() as connection:
        assert (
            connection.execute(sa.text("SELECT COUNT(*) FROM walkabout WHERE feedback_given")).scalar() == 1
        )
