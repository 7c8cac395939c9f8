"""Status history of concerns and actions: each move and its time, so a month's
"at month end" figures are what they were then, not what they are now.

`record` is called by the services that change a status. `rebuild` fills the
history of what happened before it was kept: actions from their timelines
(ActionUpdate rows carry from/to statuses), concerns from the audit trail.
"""

from datetime import UTC, datetime

from sqlmodel import Session, col, delete, select

from ..db_types import utcnow
from ..models import ActionUpdate, AuditEvent, StatusChange

CONCERN, ACTION = "concern", "action"
INITIAL_STATUS = "open"  # concerns and actions start open


def record(
    session: Session, entity_type: str, entity_id: int, from_status, to_status, at: datetime | None = None
) -> None:
    """Add one move of `entity_type` `entity_id` (at `at`, default now)."""
    session.add(
        StatusChange(
            entity_type=entity_type,
            entity_id=entity_id,
            from_status=None if from_status is None else str(from_status),
            to_status=str(to_status),
            changed_at=at or utcnow(),
        )
    )


def rebuild(session: Session) -> int:
    """Recreate the "rebuilt" rows for records with no live history; returns how many were written."""
    session.exec(delete(StatusChange).where(col(StatusChange.source) == "rebuilt"))
    live = {
        (kind, ident)
        for kind, ident in session.exec(
            select(StatusChange.entity_type, StatusChange.entity_id).where(StatusChange.source == "live")
        ).all()
    }
    written = 0
    for action_id, from_status, to_status, at in session.exec(
        select(
            ActionUpdate.action_id, ActionUpdate.from_status, ActionUpdate.to_status, ActionUpdate.created_at
        )
        .where(col(ActionUpdate.to_status).is_not(None))
        .order_by(ActionUpdate.created_at, ActionUpdate.id)
    ).all():
        if (ACTION, action_id) not in live:
            session.add(_rebuilt(ACTION, action_id, from_status, to_status, at))
            written += 1
    for concern_id, changes, at in session.exec(
        select(AuditEvent.entity_id, AuditEvent.changes, AuditEvent.created_at)
        .where(AuditEvent.entity_type == CONCERN, col(AuditEvent.entity_id).is_not(None))
        .order_by(AuditEvent.created_at, AuditEvent.id)
    ).all():
        moved = (changes or {}).get("status")
        if isinstance(moved, list) and len(moved) == 2 and (CONCERN, concern_id) not in live:
            session.add(_rebuilt(CONCERN, concern_id, moved[0], moved[1], at))
            written += 1
    return written


def _rebuilt(entity_type: str, entity_id: int, from_status, to_status, at) -> StatusChange:
    return StatusChange(
        entity_type=entity_type,
        entity_id=entity_id,
        from_status=None if from_status is None else str(from_status),
        to_status=str(to_status),
        changed_at=at,
        source="rebuilt",
    )


def statuses_at(
    session: Session, entity_type: str, records: list[tuple[int, str, datetime, datetime]], moment: datetime
) -> dict[int, str | None]:
    """Each record's status at `moment`, or None where the history cannot tell.

    `records` are (id, current status, created_at, updated_at). A record whose history
    does not end in its current status changed without a trace, somewhere between its
    last recorded move (or creation) and its last update: inside that window it is unknown.
    """
    if not records:
        return {}
    ids = [ident for ident, *_ in records]
    moves: dict[int, list[tuple[datetime, str]]] = {}
    for ident, to_status, at in session.exec(
        select(StatusChange.entity_id, StatusChange.to_status, StatusChange.changed_at)
        .where(StatusChange.entity_type == entity_type, col(StatusChange.entity_id).in_(ids))
        .order_by(StatusChange.changed_at, StatusChange.id)
    ).all():
        moves.setdefault(ident, []).append((_aware(at), to_status))
    result: dict[int, str | None] = {}
    for ident, current, created, updated in records:
        history = moves.get(ident, [])
        final = history[-1][1] if history else INITIAL_STATUS
        before = [status for at, status in history if at < moment]
        status = before[-1] if before else INITIAL_STATUS
        if final != str(current):
            last = history[-1][0] if history else _aware(created)
            end = _aware(updated) if _aware(updated) > last else None  # by then it had its status now
            if moment >= last and (end is None or moment < end):
                status = None
            elif end is not None and moment >= end:
                status = str(current)
        result[ident] = status
    return result


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)
