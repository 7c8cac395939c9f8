"""Logging what staff said during a walkabout: concerns and good practice.

A concern carries a risk score on the NHS 5x5 matrix (likelihood x consequence);
good practice carries none. Edits check the version the form carried; deletes
are soft and can be undone while the walkabout is in progress.
"""

from dataclasses import dataclass

from sqlalchemy.orm import joinedload, selectinload
from sqlmodel import Session, col, func, select

from .. import rules
from ..db_types import utcnow
from ..models import Category, Concern, ConcernKind, Photo, User, Walkabout, risk_band
from . import Conflict, NotFound, ServiceError, audit, check_version, flush_or_conflict, idempotency
from .capture import require_capture, require_team
from .photos import process_upload

IDEMPOTENCY_SCOPE = "concern"
# Lists show thumbnails by URL: never load the image bytes with the concerns.
PHOTO_IDS_ONLY = selectinload(Concern.photos).load_only(Photo.id, Photo.concern_id, Photo.deleted_at)


class ConcernInvalid(ServiceError):
    """Bad input for one field; `field` names the form field the message belongs to."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


@dataclass
class ConcernInput:
    text: str
    kind: ConcernKind = ConcernKind.CONCERN
    category_id: int | None = None
    likelihood: int | None = None
    consequence: int | None = None
    raised_by_role: str | None = None
    immediate_action: str | None = None
    ward_can_fix: bool = False


def risk_score(likelihood: int | None, consequence: int | None) -> int | None:
    """Likelihood x consequence (1-25), or None unless both are given."""
    if likelihood is None or consequence is None:
        return None
    for value, name in ((likelihood, "likelihood"), (consequence, "consequence")):
        if not rules.RISK_SCALE[0] <= value <= rules.RISK_SCALE[1]:
            raise ConcernInvalid(name, rules.score_out_of_range(name))
    return likelihood * consequence


def validated(session: Session, data: ConcernInput, kept_category_id: int | None = None) -> dict:
    """Column values for `data`, or ConcernInvalid naming the field at fault.

    A retired category is refused, except `kept_category_id`: an edited concern keeps its own."""
    text = (data.text or "").strip()
    if problem := rules.CONCERN_TEXT.problem(text):
        raise ConcernInvalid("text", problem)
    try:
        kind = ConcernKind(data.kind)
    except ValueError:
        raise ConcernInvalid("kind", "Choose concern or good practice.") from None
    if data.category_id is not None:
        category = session.get(Category, data.category_id)
        if category is None or not (category.active or category.id == kept_category_id):
            raise ConcernInvalid("category_id", "Choose a category from the list.")
    role = (data.raised_by_role or "").strip() or None
    if problem := rules.RAISED_BY_ROLE.problem(role or "", required=False):
        raise ConcernInvalid("raised_by_role", problem)
    action = (data.immediate_action or "").strip() or None
    if problem := rules.IMMEDIATE_ACTION.problem(action or "", required=False):
        raise ConcernInvalid("immediate_action", problem)
    likelihood, consequence = data.likelihood, data.consequence
    if kind == ConcernKind.GOOD_PRACTICE:
        likelihood = consequence = None
    elif (likelihood is None) != (consequence is None):
        missing = "consequence" if consequence is None else "likelihood"
        raise ConcernInvalid(missing, f"Choose a {missing} too, or neither.")
    return {
        "text": text,
        "kind": kind,
        "category_id": data.category_id,
        "likelihood": likelihood,
        "consequence": consequence,
        "risk_score": risk_score(likelihood, consequence),
        "raised_by_role": role,
        "immediate_action": action,
        "ward_can_fix": bool(data.ward_can_fix) and kind == ConcernKind.CONCERN,
    }


def log_concern(
    session: Session,
    user: User,
    walkabout: Walkabout,
    data: ConcernInput,
    photo: bytes | None = None,
    key: str | None = None,
) -> tuple[Concern, bool]:
    """Log a concern; returns (concern, created). A repeated key returns the first concern,
    even once the walkabout is completed (the phone may resend after a lost response)."""
    require_team(walkabout, user)
    if key:
        existing = _replayed(session, user, walkabout, key)
        if existing is not None:
            return existing, False
    require_capture(walkabout, user)
    values = validated(session, data)
    processed = process_upload(photo) if photo else None
    claim = idempotency.claim(session, user, key, IDEMPOTENCY_SCOPE) if key else None
    if key and claim is None:  # a concurrent twin committed first
        existing = _replayed(session, user, walkabout, key)
        if existing is not None:
            return existing, False
        raise Conflict("This submission is already being saved. Reload the page to see it.")
    concern = Concern(walkabout_id=walkabout.id, created_by_id=user.id, **values)
    session.add(concern)
    session.flush()
    if processed is not None:
        session.add(Photo(concern_id=concern.id, uploaded_by_id=user.id, **processed.fields))
    if claim is not None:
        idempotency.attach(claim, concern)
    audit.record(session, user, concern, "created", _audit_values(values, photo=processed is not None))
    return concern, True


def _replayed(session: Session, user: User, walkabout: Walkabout, key: str) -> Concern | None:
    row = idempotency.find(session, user, key, IDEMPOTENCY_SCOPE)
    if row is None or row.entity_id is None:
        return None
    concern = session.get(Concern, row.entity_id)
    if concern is None or concern.walkabout_id != walkabout.id:
        raise Conflict("This submission was already used for another walkabout. Reload the page.")
    return concern


def get_concern(session: Session, walkabout: Walkabout, concern_id: int, deleted: bool = False) -> Concern:
    concern = session.get(Concern, concern_id, options=[PHOTO_IDS_ONLY])
    if concern is None or concern.walkabout_id != walkabout.id or (concern.deleted_at is not None) != deleted:
        raise NotFound("That item does not exist or has been removed.")
    return concern


def update_concern(
    session: Session,
    user: User,
    concern: Concern,
    data: ConcernInput,
    version: int | None,
    photo: bytes | None = None,
) -> None:
    require_capture(concern.walkabout, user)
    check_version(concern, version, STALE_CONCERN)
    values = validated(session, data, kept_category_id=concern.category_id)
    processed = process_upload(photo) if photo else None
    changes = audit.diff(concern, values)
    if processed is not None:
        session.add(Photo(concern_id=concern.id, uploaded_by_id=user.id, **processed.fields))
        changes["photo"] = [None, "added"]
    if changes:
        concern.updated_at = utcnow()
        flush_or_conflict(session, STALE_CONCERN)
        audit.record(session, user, concern, "updated", changes)


def delete_concern(session: Session, user: User, concern: Concern) -> None:
    require_capture(concern.walkabout, user)
    concern.deleted_at = utcnow()
    flush_or_conflict(session, STALE_CONCERN)
    audit.record(session, user, concern, "deleted")


def restore_concern(session: Session, user: User, concern: Concern) -> None:
    require_capture(concern.walkabout, user)
    concern.deleted_at = None
    flush_or_conflict(session, STALE_CONCERN)
    audit.record(session, user, concern, "restored")


def set_priority(session: Session, user: User, concern: Concern, priority: bool) -> None:
    """Mark (or unmark) `concern` as one of the walkabout's priorities, until it is completed."""
    require_capture(concern.walkabout, user)
    if concern.deleted_at is not None:
        raise NotFound("That item was deleted.")
    if concern.kind != ConcernKind.CONCERN:
        raise ServiceError("Only concerns can be priorities, not good practice.")
    if concern.priority == priority:
        return  # a double tap: already as asked
    if priority:
        marked = session.exec(
            select(func.count(Concern.id)).where(
                Concern.walkabout_id == concern.walkabout_id,
                Concern.priority,
                col(Concern.deleted_at).is_(None),
                Concern.id != concern.id,
            )
        ).one()
        if marked >= rules.MAX_PRIORITIES:
            raise ServiceError(rules.TOO_MANY_PRIORITIES)
    concern.priority = priority
    flush_or_conflict(session, STALE_CONCERN)
    audit.record(session, user, concern, "prioritised" if priority else "unprioritised")


def live_concerns(session: Session, walkabout_id: int, newest_first: bool = True) -> list[Concern]:
    """The walkabout's concerns (not deleted) with category and photos, in two queries."""
    order = (
        (Concern.created_at.desc(), Concern.id.desc()) if newest_first else (Concern.created_at, Concern.id)
    )
    return list(
        session.exec(
            select(Concern)
            .where(Concern.walkabout_id == walkabout_id, Concern.deleted_at.is_(None))
            .options(joinedload(Concern.category), PHOTO_IDS_ONLY)
            .order_by(*order)
        )
        .unique()
        .all()
    )


STALE_CONCERN = (
    "Someone changed this item while you were editing it. The form now shows the latest "
    "version; make your change again."
)


def _audit_values(values: dict, photo: bool) -> dict:
    logged = {k: v for k, v in values.items() if v not in (None, False)}
    if photo:
        logged["photo"] = True
    logged["band"] = risk_band(values["risk_score"])
    return logged
