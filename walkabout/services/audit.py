"""The append-only audit trail."""

from typing import Any

from sqlmodel import Session, SQLModel

from ..models import AuditEvent, User


def record(
    session: Session,
    actor: User | None,
    entity: SQLModel,
    verb: str,
    changes: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add an audit entry for `verb` on `entity` (flushing first so it has an id)."""
    if getattr(entity, "id", None) is None:
        session.flush()
    event = AuditEvent(
        actor_id=actor.id if actor is not None else None,
        entity_type=entity.__tablename__,
        entity_id=entity.id,
        verb=verb,
        changes=_jsonable(changes) if changes else None,
    )
    session.add(event)
    return event


def diff(obj: SQLModel, values: dict[str, Any]) -> dict[str, list[Any]]:
    """Apply `values` to `obj`; return {field: [old, new]} for what really changed."""
    changed = {}
    for field, new in values.items():
        old = getattr(obj, field)
        if old != new:
            changed[field] = [old, new]
            setattr(obj, field, new)
    return changed


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)
