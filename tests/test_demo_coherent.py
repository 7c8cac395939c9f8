"""The demo trust reads as one coherent trust (issue 19): unique names, actions that fit
their concern, varied feedback, moves and cancellations, and a status history the
board pack can use."""

from collections import Counter
from datetime import timedelta

from sqlmodel import select

from walkabout import demo
from walkabout.db import session_scope
from walkabout.models import (
    Action,
    Concern,
    FeedbackDelivery,
    StatusChange,
    User,
    Walkabout,
    WalkaboutReschedule,
    WalkaboutStatus,
)


def test_every_demo_concern_has_actions_written_for_it():
    texts = [text for texts in demo.CONCERNS.values() for text in texts]
    assert set(texts) == set(demo.ACTIONS_FOR)
    assert all(len(actions) >= 2 for actions in demo.ACTIONS_FOR.values())


def test_the_demo_trust_is_coherent(app, runner):
    result = runner.invoke(args=["seed-demo", "--password", "demo-password-123"])
    assert result.exit_code == 0, result.output
    with app.app_context(), session_scope(app, write=False) as session:
        names = [user.name for user in session.exec(select(User)).all()]
        assert len(names) == len(set(names)), Counter(names).most_common(3)
        pairs = session.exec(select(Action.description, Concern.text).join(Concern)).all()
        assert pairs and all(action in demo.ACTIONS_FOR[concern] for action, concern in pairs)
        notes = session.exec(select(FeedbackDelivery.notes)).all()
        assert len(notes) > 20 and len(set(notes)) > len(notes) // 2  # varied, not one sentence
        summaries = {w.summary_notes for w in session.exec(select(Walkabout)).all() if w.summary_notes}
        assert len(summaries) >= 4
        walkabouts = session.exec(select(Walkabout)).all()
        assert any(w.status == WalkaboutStatus.CANCELLED for w in walkabouts)
        assert session.exec(select(WalkaboutReschedule)).first() is not None
        # The status history ends in each record's status now, so month-end figures are known.
        last: dict[tuple[str, int], str] = {}
        for kind, ident, status in session.exec(
            select(StatusChange.entity_type, StatusChange.entity_id, StatusChange.to_status).order_by(
                StatusChange.changed_at, StatusChange.id
            )
        ).all():
            last[(kind, ident)] = status
        for action in session.exec(select(Action)).all():
            assert last[("action", action.id)] == action.status.value, action.id
        for concern in session.exec(select(Concern)).all():
            assert last.get(("concern", concern.id), "open") == concern.status.value, concern.id


def test_the_demo_trust_has_a_pack_archive_with_versions(app, runner):
    from walkabout.models import BoardPack

    assert runner.invoke(args=["seed-demo", "--password", "demo-password-123"]).exit_code == 0
    with app.app_context(), session_scope(app, write=False) as session:
        packs = session.exec(select(BoardPack).order_by(BoardPack.month, BoardPack.version)).all()
    assert [(p.version, p.status.value) for p in packs] == [(1, "ready"), (1, "ready"), (2, "ready")]
    assert packs[1].month == packs[2].month and all(p.pdf.startswith(b"%PDF-") for p in packs)
    assert all(p.figures["open_high_risks_at_end"] is not None for p in packs)  # history known


def test_the_demo_trust_has_staff_voice_with_suppression_showing(app, runner):
    from walkabout import rules
    from walkabout.models import FeedbackKind, FeedbackUpdate, FixAnswer, LeaderPulseAnswer, PulseResponse
    from walkabout.periods import Period
    from walkabout.reports import staff_voice
    from walkabout.timeutil import local_today, trust_zone

    result = runner.invoke(args=["seed-demo", "--password", "demo-password-123"])
    assert result.exit_code == 0, result.output
    with app.test_request_context(), session_scope(app, write=False) as session:
        concerns = session.exec(select(Concern)).all()
        by_walkabout = Counter(c.walkabout_id for c in concerns if c.priority)
        assert by_walkabout and max(by_walkabout.values()) <= rules.MAX_PRIORITIES
        assert all(c.kind == "concern" for c in concerns if c.priority)
        # Staff answer only items with final feedback; some say Not yet.
        finals = set(
            session.exec(select(FeedbackUpdate.concern_id).where(FeedbackUpdate.kind == FeedbackKind.FINAL))
        )
        answers = session.exec(select(FixAnswer)).all()
        assert answers and {a.concern_id for a in answers} <= finals
        assert {a.fixed for a in answers} == {True, False}
        # Leaders answer only for walkabouts they were on, in the quarter of completion.
        for answer in session.exec(select(LeaderPulseAnswer)).all()[:200]:
            walkabout = session.get(Walkabout, answer.walkabout_id)
            assert walkabout.status == WalkaboutStatus.COMPLETED and walkabout.ward_id == answer.ward_id
            assert answer.user_id in {walkabout.lead_id, *(u.id for u in walkabout.attendees)}
        assert session.exec(select(PulseResponse)).first() is not None
        today = local_today()
        period = Period(today.replace(day=1), today + timedelta(days=1), trust_zone())
        quarters = staff_voice.pulse_quarters(session, period, staff_voice.PACK_QUARTERS)
        wards = [w for q in quarters for w in q.wards]
        assert any(w.staff.shown for w in wards) and any(not w.staff.shown for w in wards)
        assert any(w.leaders.shown for w in wards) and any(not w.leaders.shown for w in wards)
        gaps = [row["gap"] for q in quarters for row in q.gap() if row["gap"] is not None]
        assert gaps and sum(gaps) > 0  # leaders more hopeful than their staff, as the surveys found


def test_every_fidelity_figure_shows_something_in_the_demo(app, runner):
    """Series, reschedules held soon and late, cancellations, out-of-hours visits and the
    brief's revisit ticks: the board pack's programme figures are not all zero."""
    from walkabout.models import Role, UserRole, WalkaboutSeries
    from walkabout.periods import Period, add_months
    from walkabout.reports import pack_summary
    from walkabout.timeutil import local_today, trust_zone

    assert runner.invoke(args=["seed-demo", "--password", "demo-password-123"]).exit_code == 0
    with app.test_request_context(), session_scope(app, write=False) as session:
        series = session.exec(select(WalkaboutSeries)).all()
        assert len(series) >= 2
        for one in series:
            visits = session.exec(select(Walkabout).where(Walkabout.series_id == one.id)).all()
            assert len(visits) >= 5 and {(v.ward_id, v.lead_id) for v in visits} == {
                (one.ward_id, one.lead_id)
            }
        today = local_today()
        # Six months of history: the figures over the last full months.
        start = add_months(today.replace(day=1), -5)
        period = Period(start, today.replace(day=1), trust_zone())
        loop = pack_summary.loop_figures(session, period)
        assert loop["reschedules"]["rescheduled"] > loop["reschedules"]["held_within"] > 0
        assert loop["out_of_hours"]["out_of_hours"] > 0
        assert loop["revisits"]["revisits"] > loop["revisits"]["reviewed"] > 0
        assert loop["feedback"]["within"] > 0 and loop["coverage"]["visited"] > 0
        assert loop["no_action"]["counted"] > 0
        assert sum(row["held"] for row in loop["executives"]["executives"]) > 0
        cancelled = [
            w for w in session.exec(select(Walkabout)).all() if w.status == WalkaboutStatus.CANCELLED
        ]
        assert cancelled and all(w.cancel_reason for w in cancelled)
        # Everyone who can be chosen as a lead, owner or ward manager has a job title; a ward
        # manager's names their ward.
        people = session.exec(select(User).join(UserRole).where(User.active)).all()
        assert all(person.job_title for person in people)
        managers = session.exec(
            select(User).join(UserRole).where(UserRole.role == Role.WARD_MANAGER, User.active)
        ).all()
        assert all("Ward" in m.job_title.removeprefix("Ward Manager") for m in managers)
