"""The action services: the status machine, the concern-status rule, defaults and bad input."""

from datetime import date, timedelta

import pytest
from sqlmodel import select

from walkabout.db import session_scope
from walkabout.models import (
    Action,
    ActionStatus,
    ActionUpdate,
    AuditEvent,
    Concern,
    ConcernStatus,
    RiskBand,
    Role,
)
from walkabout.services import Conflict, Forbidden, ServiceError, actions

TODAY = date(2026, 3, 10)
S = ActionStatus
# The specification, written out: which statuses each status may move to.
ALLOWED = {
    (S.OPEN, S.IN_PROGRESS),
    (S.OPEN, S.COMPLETED),
    (S.IN_PROGRESS, S.COMPLETED),
    (S.REOPENED, S.IN_PROGRESS),
    (S.REOPENED, S.COMPLETED),
    (S.COMPLETED, S.VERIFIED),
    (S.COMPLETED, S.REOPENED),
    (S.VERIFIED, S.REOPENED),
}


@pytest.fixture
def world(factory):
    executive = factory.user(Role.EXECUTIVE, name="Erin Exec")
    manager = factory.user(Role.WARD_MANAGER, name="Mo Manager")
    ward = factory.ward(managers=(manager,))
    walkabout = factory.walkabout(ward, executive)
    concern = factory.concern(walkabout, likelihood=3, consequence=4)  # 12: high
    return {
        "executive": executive,
        "manager": manager,
        "ward": ward,
        "walkabout": walkabout,
        "concern": concern,
        "factory": factory,
    }


def run(app, fn):
    """Call fn(session) in one transaction (committed when it returns)."""
    with app.app_context(), session_scope(app) as session:
        return fn(session)


def load(session, model, ident):
    return session.get(model, ident)


@pytest.mark.parametrize("current", list(ActionStatus))
@pytest.mark.parametrize("target", list(ActionStatus))
def test_status_machine_table(current, target):
    assert actions.can_transition(current, target) == ((current, target) in ALLOWED)


VERBS = {
    S.IN_PROGRESS: lambda s, user, a: actions.post_update(s, user, a, "Started on it"),
    S.COMPLETED: lambda s, user, a: actions.complete(s, user, a, "Fixed the hoist", a.version),
    S.VERIFIED: lambda s, user, a: actions.verify(s, user, a, None, a.version),
    S.REOPENED: lambda s, user, a: actions.reopen(s, user, a, "Still broken", a.version),
}


@pytest.mark.parametrize("current", list(ActionStatus))
@pytest.mark.parametrize("target", list(VERBS))
def test_every_transition_through_the_services(app, world, current, target):
    action = world["factory"].action(world["concern"], world["manager"], status=current)

    def attempt(session):
        loaded = load(session, Action, action.id)
        executive = load(session, type(world["executive"]), world["executive"].id)
        VERBS[target](session, executive, loaded)
        return loaded.status

    if (current, target) in ALLOWED:
        assert run(app, attempt) == target
    elif target == S.IN_PROGRESS and current in (S.IN_PROGRESS, S.COMPLETED, S.VERIFIED):
        assert run(app, attempt) == current  # a progress note on its own changes no status
    else:
        with pytest.raises(ServiceError):
            run(app, attempt)
        assert run(app, lambda s: load(s, Action, action.id).status) == current


def test_each_change_writes_an_update_and_an_audit_entry(app, world):
    def flow(session):
        executive = load(session, type(world["executive"]), world["executive"].id)
        concern = load(session, Concern, world["concern"].id)
        action = actions.create_action(
            session,
            executive,
            concern,
            description="Fix it",
            owner_id=world["manager"].id,
            due_date=TODAY + timedelta(days=5),
            today=TODAY,
        )
        actions.post_update(session, executive, action, "Ordered the part")
        actions.change_due_date(
            session, executive, action, TODAY + timedelta(days=9), "Part delayed", 2, TODAY
        )
        actions.complete(session, executive, action, "Part fitted", 3)
        actions.verify(session, executive, action, "Seen it", 4)
        return action.id, action.version

    action_id, version = run(app, flow)
    assert version == 5
    with session_scope(app) as session:
        kinds = session.exec(
            select(ActionUpdate.kind).where(ActionUpdate.action_id == action_id).order_by(ActionUpdate.id)
        ).all()
        assert kinds == ["created", "comment", "due_date_change", "status_change", "status_change"]
        verbs = session.exec(
            select(AuditEvent.verb)
            .where(AuditEvent.entity_type == "action", AuditEvent.entity_id == action_id)
            .order_by(AuditEvent.id)
        ).all()
        assert verbs == ["created", "progress_update", "due_date_changed", "completed", "verified"]
        slip = session.exec(select(AuditEvent.changes).where(AuditEvent.verb == "due_date_changed")).one()
        assert slip["slip"] is True and slip["reason"] == "Part delayed"


def test_concern_is_open_until_every_action_is_verified(app, world):
    factory = world["factory"]
    first = factory.action(world["concern"], world["manager"], status=S.COMPLETED)
    second = factory.action(world["concern"], world["manager"], status=S.COMPLETED)

    def verify(action_id):
        def go(session):
            action = load(session, Action, action_id)
            actions.verify(
                session,
                load(session, type(world["executive"]), world["executive"].id),
                action,
                None,
                action.version,
            )
            return load(session, Concern, world["concern"].id).status

        return go

    assert run(app, verify(first.id)) == ConcernStatus.OPEN
    assert run(app, verify(second.id)) == ConcernStatus.RESOLVED

    def reopen(session):
        action = load(session, Action, second.id)
        actions.reopen(
            session,
            load(session, type(world["executive"]), world["executive"].id),
            action,
            "Not done after all",
            action.version,
        )
        return load(session, Concern, world["concern"].id).status

    assert run(app, reopen) == ConcernStatus.OPEN
    with session_scope(app) as session:
        events = session.exec(select(AuditEvent.verb).where(AuditEvent.entity_type == "concern")).all()
        assert events.count("status_changed") == 2


def test_no_action_needed_with_a_reason_until_an_action_is_added(app, world):
    executive_id, concern_id = world["executive"].id, world["concern"].id

    def mark(reason):
        def go(session):
            concern = load(session, Concern, concern_id)
            actions.mark_no_action_needed(
                session,
                load(session, type(world["executive"]), executive_id),
                concern,
                reason,
                concern.version,
            )
            return concern.status, concern.no_action_reason

        return go

    with pytest.raises(ServiceError, match="why no action is needed"):
        run(app, mark("   "))
    assert run(app, mark("Already on the estates plan")) == (
        ConcernStatus.NO_ACTION_NEEDED,
        "Already on the estates plan",
    )

    def add(session):
        actions.create_action(
            session,
            load(session, type(world["executive"]), executive_id),
            load(session, Concern, concern_id),
            description="Chase estates",
            owner_id=world["manager"].id,
            due_date=TODAY,
            today=TODAY,
        )
        concern = load(session, Concern, concern_id)
        return concern.status, concern.no_action_reason

    assert run(app, add) == (ConcernStatus.OPEN, None)
    with pytest.raises(ServiceError, match="already has actions"):
        run(app, mark("Changed my mind"))


@pytest.mark.parametrize(
    "likelihood, consequence, band, days",
    [
        (5, 5, RiskBand.EXTREME, 7),
        (3, 4, RiskBand.HIGH, 14),
        (2, 3, RiskBand.MODERATE, 30),
        (1, 2, RiskBand.LOW, 60),
    ],
)
def test_due_date_and_priority_defaults_follow_the_risk_band(world, likelihood, consequence, band, days):
    concern = world["factory"].concern(world["walkabout"], likelihood=likelihood, consequence=consequence)
    assert actions.priority_for(concern) == band
    assert actions.default_due_date(concern, TODAY) == TODAY + timedelta(days=days)
    assert actions.default_due_date(concern, TODAY, {band.value: 3}) == TODAY + timedelta(days=3)


def test_good_practice_without_a_score_defaults_to_moderate(world):
    from walkabout.models import ConcernKind

    concern = world["factory"].concern(world["walkabout"], kind=ConcernKind.GOOD_PRACTICE)
    assert actions.priority_for(concern) == RiskBand.MODERATE
    assert actions.default_due_date(concern, TODAY) == TODAY + timedelta(days=30)


def test_bad_input_is_refused_and_changes_nothing(app, world):
    factory = world["factory"]
    inactive = factory.user(Role.WARD_MANAGER, active=False, name="Ina Active")
    secretary = factory.user(Role.BOARD_SECRETARY, name="Sec Retary")

    def create(**overrides):
        values = dict(description="Fix it", owner_id=world["manager"].id, due_date=TODAY, today=TODAY)
        values.update(overrides)
        return lambda session: actions.create_action(
            session,
            load(session, type(world["executive"]), world["executive"].id),
            load(session, Concern, world["concern"].id),
            **values,
        )

    cases = [
        (dict(due_date=TODAY - timedelta(days=1)), "in the past"),
        (dict(owner_id=inactive.id), "deactivated"),
        (dict(owner_id=secretary.id), "not a ward manager or executive"),
        (dict(owner_id=999_999), "Choose who owns"),
        (dict(description="  "), "what needs doing"),
        (dict(description="x" * 2001), "under 2,000"),
        (dict(due_date=None), "due date"),
    ]
    for overrides, message in cases:
        with pytest.raises(ServiceError, match=message):
            run(app, create(**overrides))
    with session_scope(app) as session:
        assert session.exec(select(Action)).all() == []

    action = factory.action(world["concern"], world["manager"])

    def complete_without_note(session):
        loaded = load(session, Action, action.id)
        actions.complete(session, load(session, type(world["manager"]), world["manager"].id), loaded, " ", 1)

    with pytest.raises(ServiceError, match="closure note"):
        run(app, complete_without_note)

    def manager_verifies(session):
        loaded = load(session, Action, action.id)
        actions.verify(session, load(session, type(world["manager"]), world["manager"].id), loaded, None, 1)

    with pytest.raises(Forbidden, match="Only an executive"):
        run(app, manager_verifies)

    def stale(session):
        loaded = load(session, Action, action.id)
        actions.complete(
            session, load(session, type(world["manager"]), world["manager"].id), loaded, "Done", 7
        )

    with pytest.raises(Conflict):
        run(app, stale)

    def past_due(session):
        loaded = load(session, Action, action.id)
        actions.change_due_date(
            session,
            load(session, type(world["manager"]), world["manager"].id),
            loaded,
            TODAY - timedelta(days=1),
            "oops",
            1,
            TODAY,
        )

    with pytest.raises(ServiceError, match="in the past"):
        run(app, past_due)
    with session_scope(app) as session:
        loaded = session.get(Action, action.id)
        assert (loaded.status, loaded.version) == (S.OPEN, 1)


def test_one_tap_ward_fix_goes_to_the_wards_manager(app, world):
    concern = world["factory"].concern(
        world["walkabout"], text="Sluice door sticks", likelihood=1, consequence=3, ward_can_fix=True
    )

    def tap(session):
        action = actions.assign_to_ward_manager(
            session,
            load(session, type(world["executive"]), world["executive"].id),
            load(session, Concern, concern.id),
            TODAY,
            {"low": 60},
            version=1,
        )
        return action.owner_id, action.due_date, action.priority, action.description

    assert run(app, tap) == (
        world["manager"].id,
        TODAY + timedelta(days=60),
        RiskBand.LOW,
        "Fix on the ward: Sluice door sticks",
    )
