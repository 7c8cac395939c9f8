"""Actions: assign from a concern, work, complete, verify or reopen.

Every change checks the version the user's form carried (a stale or missing one
raises Conflict), adds an ActionUpdate for the timeline and an audit entry, and
flushes so that a change which lost a race (the ORM's `WHERE version = ?` matched
no row) is a Conflict too. A progress note is append-only and never conflicts.
A concern's status follows its actions (see `refresh_concern_status`).
"""

from datetime import date, timedelta

from sqlmodel import Session, col, select

from .. import rules
from ..db_types import utcnow
from ..models import (
    Action,
    ActionStatus,
    ActionUpdate,
    ActionUpdateKind,
    Concern,
    ConcernStatus,
    Photo,
    RiskBand,
    Role,
    User,
    UserRole,
    WardManager,
)
from . import Forbidden, ServiceError, audit, check_version, flush_or_conflict, lock_latest, status_history
from .access import managed_ward_ids, sees_all_wards
from .photos import ProcessedPhoto

# The status machine: from -> the statuses it may move to.
TRANSITIONS: dict[ActionStatus, frozenset[ActionStatus]] = {
    ActionStatus.OPEN: frozenset({ActionStatus.IN_PROGRESS, ActionStatus.COMPLETED}),
    ActionStatus.IN_PROGRESS: frozenset({ActionStatus.COMPLETED}),
    ActionStatus.REOPENED: frozenset({ActionStatus.IN_PROGRESS, ActionStatus.COMPLETED}),
    ActionStatus.COMPLETED: frozenset({ActionStatus.VERIFIED, ActionStatus.REOPENED}),
    ActionStatus.VERIFIED: frozenset({ActionStatus.REOPENED}),
}
OPEN_STATUSES = (ActionStatus.OPEN, ActionStatus.IN_PROGRESS, ActionStatus.REOPENED)
OWNER_ROLES = (Role.WARD_MANAGER, Role.EXECUTIVE)
STATUS_LABELS = {
    ActionStatus.OPEN: "Open",
    ActionStatus.IN_PROGRESS: "In progress",
    ActionStatus.COMPLETED: "Completed, awaiting verification",
    ActionStatus.VERIFIED: "Verified",
    ActionStatus.REOPENED: "Reopened",
}


def can_transition(current: ActionStatus, target: ActionStatus) -> bool:
    return target in TRANSITIONS.get(ActionStatus(current), frozenset())


def _move(action: Action, target: ActionStatus) -> ActionStatus:
    current = ActionStatus(action.status)
    if not can_transition(current, target):
        raise ServiceError(
            f"This action is {STATUS_LABELS[current].lower()}; it cannot become "
            f"{STATUS_LABELS[target].lower()}."
        )
    action.status = target
    return current


# --- defaults and permissions --------------------------------------------------


def priority_for(concern: Concern) -> RiskBand:
    return concern.band or RiskBand.MODERATE


def default_due_date(concern: Concern, today: date, due_days: dict[str, int] | None = None) -> date:
    """Today plus the days configured for the concern's risk band (ACTION_DUE_DAYS)."""
    days = {**rules.ACTION_DUE_DAYS, **(due_days or {})}
    return today + timedelta(days=days[priority_for(concern).value])


def ward_id_of(action: Action) -> int:
    return action.concern.walkabout.ward_id


def can_view(session: Session, user: User, action: Action) -> bool:
    if sees_all_wards(user) or action.owner_id == user.id:
        return True
    return ward_id_of(action) in managed_ward_ids(session, user)


def can_work(session: Session, user: User, action: Action) -> bool:
    """Post updates, change the due date, complete: executives, the owner, the ward's managers."""
    if user.has_role(Role.EXECUTIVE):
        return True
    if not user.has_role(Role.WARD_MANAGER):
        return False
    return action.owner_id == user.id or ward_id_of(action) in managed_ward_ids(session, user)


def can_verify(user: User) -> bool:
    return user.has_role(Role.EXECUTIVE)


def can_assign(session: Session, user: User, concern: Concern) -> bool:
    if user.has_role(Role.EXECUTIVE):
        return True
    return user.has_role(Role.WARD_MANAGER) and concern.walkabout.ward_id in managed_ward_ids(session, user)


def require(allowed: bool, message: str) -> None:
    if not allowed:
        raise Forbidden(message)


STALE_ACTION = (
    "Someone else changed this action since you opened it. The latest is shown below; "
    "nothing was saved. Check it and send your change again."
)
STALE_CONCERN = "Someone else changed this concern since you opened it. Check it and try again."


def _save(session: Session, action: Action) -> None:
    """Stamp the change and write it now (the UPDATE carries the version: see models.Versioned)."""
    action.updated_at = utcnow()
    flush_or_conflict(session, STALE_ACTION)


def _require_open_concern(concern: Concern) -> None:
    if concern.deleted_at is not None:
        raise ServiceError("That concern has been removed.")


def check_owner(session: Session, owner_id: int | None) -> User:
    """The owner must be an active ward manager (operational lead) or executive."""
    owner = session.get(User, owner_id) if owner_id else None
    if owner is None:
        raise ServiceError("Choose who owns this action.")
    if not owner.active:
        raise ServiceError(f"{owner.name} is deactivated; choose someone who can work on it.")
    roles = set(session.exec(select(UserRole.role).where(UserRole.user_id == owner.id)).all())
    if not roles.intersection(OWNER_ROLES):
        raise ServiceError(f"{owner.name} is not a ward manager or executive, so cannot own an action.")
    return owner


def check_due_date(due: date | None, today: date) -> date:
    if due is None:
        raise ServiceError("Give a due date.")
    if due < today:
        raise ServiceError("The due date is in the past; choose today or a later date.")
    if due > today + timedelta(days=rules.MAX_DUE_DAYS_AHEAD):
        raise ServiceError("The due date is more than three years away; choose a nearer date.")
    return due


def _text(value: str | None, rule: rules.TextRule) -> str:
    value = (value or "").strip()
    problem = rule.problem(value)
    if problem:
        raise ServiceError(problem)
    return value


# --- the concern's status -------------------------------------------------------


def refresh_concern_status(session: Session, actor: User | None, concern: Concern) -> None:
    """Open until every action is verified (then resolved); "no action needed" stays while it has none.

    The concern is re-read and locked first: its status follows the actions, so it never conflicts.
    """
    session.flush()
    lock_latest(session, concern)
    statuses = session.exec(
        select(Action.status).where(Action.concern_id == concern.id, col(Action.deleted_at).is_(None))
    ).all()
    if not statuses:
        target = (
            ConcernStatus.NO_ACTION_NEEDED
            if concern.status == ConcernStatus.NO_ACTION_NEEDED
            else ConcernStatus.OPEN
        )
    elif all(status == ActionStatus.VERIFIED for status in statuses):
        target = ConcernStatus.RESOLVED
    else:
        target = ConcernStatus.OPEN
    values = {"status": target}
    if target != ConcernStatus.NO_ACTION_NEEDED:
        values["no_action_reason"] = None
    changes = audit.diff(concern, values)
    if changes:
        concern.updated_at = utcnow()
        audit.record(session, actor, concern, "status_changed", changes)
        if "status" in changes:
            status_history.record(session, status_history.CONCERN, concern.id, *changes["status"])


def mark_no_action_needed(
    session: Session, actor: User, concern: Concern, reason: str, version: int | None = None
) -> None:
    _require_open_concern(concern)
    check_version(concern, version, STALE_CONCERN)
    reason = _text(reason, rules.NO_ACTION_REASON)
    live = [a for a in concern.actions if a.deleted_at is None]
    if live:
        raise ServiceError("This concern already has actions; it follows them instead.")
    changes = audit.diff(concern, {"status": ConcernStatus.NO_ACTION_NEEDED, "no_action_reason": reason})
    concern.updated_at = utcnow()
    flush_or_conflict(session, STALE_CONCERN)
    audit.record(session, actor, concern, "no_action_needed", changes)
    if "status" in changes:
        status_history.record(session, status_history.CONCERN, concern.id, *changes["status"])


# --- the verbs ------------------------------------------------------------------


def create_action(
    session: Session,
    actor: User,
    concern: Concern,
    *,
    description: str,
    owner_id: int | None,
    due_date: date | None,
    today: date,
) -> Action:
    """The single way an action is created (assign page, one-tap ward fix, other screens)."""
    _require_open_concern(concern)
    description = _text(description, rules.ACTION_DESCRIPTION)
    owner = check_owner(session, owner_id)
    due = check_due_date(due_date, today)
    action = Action(
        concern_id=concern.id,
        description=description,
        owner_id=owner.id,
        due_date=due,
        priority=priority_for(concern),
        created_by_id=actor.id,
    )
    session.add(action)
    session.flush()
    session.add(
        ActionUpdate(
            action_id=action.id,
            author_id=actor.id,
            kind=ActionUpdateKind.CREATED,
            to_status=ActionStatus.OPEN,
            new_due_date=due,
        )
    )
    status_history.record(session, status_history.ACTION, action.id, None, ActionStatus.OPEN)
    audit.record(
        session,
        actor,
        action,
        "created",
        {
            "concern_id": concern.id,
            "description": description,
            "owner_id": owner.id,
            "due_date": due,
            "priority": action.priority,
        },
    )
    refresh_concern_status(session, actor, concern)
    return action


def ward_managers_of(session: Session, ward_id: int) -> list[User]:
    return list(
        session.exec(
            select(User)
            .join(WardManager, WardManager.user_id == User.id)
            .where(WardManager.ward_id == ward_id, User.active)
            .order_by(User.name, User.id)
        ).all()
    )


def assign_to_ward_manager(
    session: Session,
    actor: User,
    concern: Concern,
    today: date,
    due_days: dict[str, int] | None = None,
    version: int | None = None,
) -> Action:
    """One tap for "the ward can fix this itself": the ward's manager, the band's due date.

    The concern is marked "ward can fix" with the version the user saw, so of two people
    following it up at once, one wins and the other is told."""
    _require_open_concern(concern)
    check_version(concern, version, STALE_CONCERN)
    if concern.status != ConcernStatus.OPEN:
        raise ServiceError("This concern is already followed up: no action is needed.")
    managers = ward_managers_of(session, concern.walkabout.ward_id)
    if not managers:
        raise ServiceError("This ward has no active ward manager; choose an owner below.")
    if not concern.ward_can_fix:
        audit.record(session, actor, concern, "ward_can_fix", {"ward_can_fix": [False, True]})
    concern.ward_can_fix = True
    concern.updated_at = utcnow()
    flush_or_conflict(session, STALE_CONCERN)
    text = concern.text.strip()
    description = "Fix on the ward: " + (text if len(text) <= 1900 else text[:1899] + "…")
    return create_action(
        session,
        actor,
        concern,
        description=description,
        owner_id=managers[0].id,
        due_date=default_due_date(concern, today, due_days),
        today=today,
    )


def post_update(session: Session, actor: User, action: Action, text: str) -> None:
    """A progress note (append-only, never a conflict); an open or reopened action becomes "in progress"."""
    text = _text(text, rules.PROGRESS_UPDATE)
    lock_latest(session, action)
    update = ActionUpdate(action_id=action.id, author_id=actor.id, kind=ActionUpdateKind.COMMENT, text=text)
    changes: dict = {"comment": text}
    if action.status in (ActionStatus.OPEN, ActionStatus.REOPENED):
        previous = _move(action, ActionStatus.IN_PROGRESS)
        update.from_status, update.to_status = previous, ActionStatus.IN_PROGRESS
        changes["status"] = [previous, ActionStatus.IN_PROGRESS]
        _save(session, action)
        status_history.record(session, status_history.ACTION, action.id, previous, ActionStatus.IN_PROGRESS)
    session.add(update)
    audit.record(session, actor, action, "progress_update", changes)


def change_due_date(
    session: Session,
    actor: User,
    action: Action,
    new_due: date | None,
    reason: str,
    version: int | None,
    today: date,
) -> None:
    """Move the due date with a reason (a later date counts as a slip)."""
    check_version(action, version, STALE_ACTION)
    if action.is_closed:
        raise ServiceError("This action is completed; reopen it before changing its due date.")
    new_due = check_due_date(new_due, today)
    if new_due == action.due_date:
        raise ServiceError("That is already the due date.")
    reason = _text(reason, rules.DUE_DATE_REASON)
    old = action.due_date
    action.due_date = new_due
    session.add(
        ActionUpdate(
            action_id=action.id,
            author_id=actor.id,
            kind=ActionUpdateKind.DUE_DATE_CHANGE,
            text=reason,
            old_due_date=old,
            new_due_date=new_due,
        )
    )
    _save(session, action)
    audit.record(
        session,
        actor,
        action,
        "due_date_changed",
        {"due_date": [old, new_due], "reason": reason, "slip": new_due > old},
    )


def _status_change(
    session: Session, actor: User, action: Action, previous: ActionStatus, text: str | None
) -> ActionUpdate:
    """The timeline entry for the move from `previous` to the action's status now."""
    update = ActionUpdate(
        action_id=action.id,
        author_id=actor.id,
        kind=ActionUpdateKind.STATUS_CHANGE,
        text=text,
        from_status=previous,
        to_status=action.status,
    )
    session.add(update)
    status_history.record(session, status_history.ACTION, action.id, previous, action.status)
    return update


def complete(
    session: Session,
    actor: User,
    action: Action,
    closure_note: str,
    version: int | None,
    photo: ProcessedPhoto | None = None,
) -> None:
    """Mark done with a closure note (what was done) and an optional evidence photo."""
    check_version(action, version, STALE_ACTION)
    note = _text(closure_note, rules.CLOSURE_NOTE)
    previous = _move(action, ActionStatus.COMPLETED)
    now = utcnow()
    action.closure_note, action.completed_at, action.completed_by_id = note, now, actor.id
    _save(session, action)  # before the flush below, so the row is written (and versioned) once
    update = _status_change(session, actor, action, previous, note)
    session.flush()
    if photo is not None:
        session.add(Photo(action_update_id=update.id, uploaded_by_id=actor.id, **photo.fields))
    audit.record(
        session,
        actor,
        action,
        "completed",
        {
            "status": [previous, ActionStatus.COMPLETED],
            "closure_note": note,
            "photo": photo is not None,
        },
    )
    refresh_concern_status(session, actor, action.concern)


def verify(session: Session, actor: User, action: Action, note: str | None, version: int | None) -> None:
    """An executive confirms the work was done and closes the action."""
    require(can_verify(actor), "Only an executive can verify an action.")
    check_version(action, version, STALE_ACTION)
    note = (note or "").strip() or None
    problem = rules.VERIFY_NOTE.problem(note or "", required=False)
    if problem:
        raise ServiceError(problem)
    previous = _move(action, ActionStatus.VERIFIED)
    action.verified_at, action.verified_by_id = utcnow(), actor.id
    _status_change(session, actor, action, previous, note)
    _save(session, action)
    audit.record(
        session, actor, action, "verified", {"status": [previous, ActionStatus.VERIFIED], "note": note}
    )
    refresh_concern_status(session, actor, action.concern)


def reopen(session: Session, actor: User, action: Action, reason: str, version: int | None) -> None:
    """An executive sends completed (or verified) work back, with the reason."""
    require(can_verify(actor), "Only an executive can reopen an action.")
    check_version(action, version, STALE_ACTION)
    reason = _text(reason, rules.REOPEN_REASON)
    previous = _move(action, ActionStatus.REOPENED)
    action.verified_at = action.verified_by_id = None
    action.completed_at = action.completed_by_id = None
    _status_change(session, actor, action, previous, reason)
    _save(session, action)
    audit.record(
        session, actor, action, "reopened", {"status": [previous, ActionStatus.REOPENED], "reason": reason}
    )
    refresh_concern_status(session, actor, action.concern)
