"""Running a walkabout: start it (scheduled or ad hoc), capture, read back, complete.

Only executives on the walkabout's team (its lead or an attendee) capture;
capture is open while the walkabout is in progress. A completed walkabout is
read-only, except for late notes that any executive may add (audited).
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import joinedload, selectinload
from sqlmodel import Session, select

from .. import rules
from ..db_types import utcnow
from ..models import (
    Category,
    PromptKind,
    PromptQuestion,
    Role,
    Site,
    StaffRole,
    User,
    Walkabout,
    WalkaboutStatus,
    Ward,
)
from ..timeutil import format_datetime
from . import (
    Conflict,
    Forbidden,
    NotFound,
    ServiceError,
    audit,
    check_version,
    choice_cache,
    data_version,
    feedback,
    flush_or_conflict,
    follow_up,
    idempotency,
    lock_latest,
    versioned_cache,
)

STALE_WALKABOUT = "This walkabout was changed by someone else. Check the read-back and try again."
ADHOC_SCOPE = "adhoc_walkabout"

CLOSED_MESSAGES = {
    WalkaboutStatus.PLANNED: "This walkabout has not been started yet. Start it first.",
    WalkaboutStatus.COMPLETED: "This walkabout is completed, so nothing more can be logged. "
    "Executives can add a late note on the read-back page.",
    WalkaboutStatus.CANCELLED: "This walkabout was cancelled, so nothing can be logged.",
}


@dataclass(frozen=True)
class PromptScript:
    opening: tuple[str, ...]
    questions: tuple[str, ...]
    closing: tuple[str, ...]
    readback: tuple[str, ...]


def load_walkabout(session: Session, walkabout_id: int) -> Walkabout:
    walkabout = session.exec(
        select(Walkabout)
        .where(Walkabout.id == walkabout_id)
        .options(
            joinedload(Walkabout.ward).joinedload(Ward.site),
            joinedload(Walkabout.lead),
            selectinload(Walkabout.attendees),
        )
    ).first()
    if walkabout is None:
        raise NotFound("That walkabout does not exist.")
    return walkabout


def team(walkabout: Walkabout) -> list[User]:
    return [walkabout.lead] + [u for u in walkabout.attendees if u.id != walkabout.lead_id]


def is_on_team(walkabout: Walkabout, user: User) -> bool:
    return walkabout.lead_id == user.id or any(u.id == user.id for u in walkabout.attendees)


def can_capture(walkabout: Walkabout, user: User) -> bool:
    return user.has_role(Role.EXECUTIVE) and is_on_team(walkabout, user)


def require_team(walkabout: Walkabout, user: User) -> None:
    if not user.has_role(Role.EXECUTIVE):
        raise Forbidden("Only executives log walkabouts.")
    if not is_on_team(walkabout, user):
        raise Forbidden(
            "You are not on this walkabout's team, so you cannot log it. Ask its lead "
            f"({walkabout.lead.name}) to add you."
        )


def require_capture(walkabout: Walkabout, user: User) -> None:
    """Forbidden unless `user` is an executive on the team; Conflict unless in progress."""
    require_team(walkabout, user)
    if walkabout.status != WalkaboutStatus.IN_PROGRESS:
        raise Conflict(CLOSED_MESSAGES[walkabout.status])


def start(session: Session, user: User, walkabout: Walkabout, started_at: datetime | None = None) -> None:
    """Mark a planned walkabout in progress (starting one already in progress is a no-op);
    `started_at` is when a phone with no signal started it (default: now)."""
    require_team(walkabout, user)
    lock_latest(session, walkabout)  # two of the team pressing Start at once: both see it started
    if walkabout.status == WalkaboutStatus.IN_PROGRESS:
        return
    if walkabout.status != WalkaboutStatus.PLANNED:
        raise Conflict(CLOSED_MESSAGES[walkabout.status])
    walkabout.status = WalkaboutStatus.IN_PROGRESS
    walkabout.started_at = started_at or utcnow()
    _save(session, walkabout)
    audit.record(session, user, walkabout, "started", {"offline": True} if started_at else None)


def start_adhoc(session: Session, user: User, ward_id: int | None, key: str | None = None) -> Walkabout:
    """A walkabout not scheduled beforehand, on `ward_id`, led by `user` and in progress now."""
    if not user.has_role(Role.EXECUTIVE):
        raise Forbidden("Only executives start walkabouts.")
    if key:
        row = idempotency.find(session, user, key, ADHOC_SCOPE)
        if row is not None and row.entity_id is not None:
            return load_walkabout(session, row.entity_id)
    ward = session.get(Ward, ward_id) if ward_id else None
    if ward is None or not ward.active:
        raise ServiceError("Choose a ward from the list.")
    claim = idempotency.claim(session, user, key, ADHOC_SCOPE) if key else None
    now = utcnow()
    walkabout = Walkabout(
        ward_id=ward.id,
        lead_id=user.id,
        scheduled_start=now,
        is_adhoc=True,
        status=WalkaboutStatus.IN_PROGRESS,
        started_at=now,
        created_by_id=user.id,
    )
    session.add(walkabout)
    session.flush()
    if claim is not None:
        idempotency.attach(claim, walkabout)
    audit.record(session, user, walkabout, "created", {"ward_id": ward.id, "adhoc": True})
    audit.record(session, user, walkabout, "started")
    return walkabout


def complete(
    session: Session,
    user: User,
    walkabout: Walkabout,
    *,
    summary_notes: str | None,
    participation: dict[str, int],
    feedback_given: bool,
    feedback_notes: str | None,
    version: int | None,
    feedback_days: int = rules.FEEDBACK_DAYS,
) -> None:
    """Close the visit; start each concern's feedback clock; "feedback given today" is a delivery."""
    require_capture(walkabout, user)
    check_version(walkabout, version, STALE_WALKABOUT)
    participation = {role: count for role, count in participation.items() if count}
    for role, count in participation.items():
        if not 0 <= count <= rules.MAX_PARTICIPANTS or not role.strip() or len(role) > rules.OTHER_ROLE.limit:
            raise ServiceError(f"Check the number of staff for {role or 'the other role'}.")
    summary = (summary_notes or "").strip() or None
    if problem := rules.SUMMARY_NOTES.problem(summary or "", required=False):
        raise ServiceError(problem)
    fed_back = (feedback_notes or "").strip() or None
    if problem := rules.FEEDBACK_NOTES.problem(fed_back or "", required=False):
        raise ServiceError(problem)
    now = utcnow()
    changes = audit.diff(
        walkabout,
        {
            "status": WalkaboutStatus.COMPLETED,
            "completed_at": now,
            "summary_notes": summary,
            "staff_participation": participation or None,
        },
    )
    _save(session, walkabout)
    changes["feedback_due_on"] = follow_up.start_feedback_clock(session, walkabout, feedback_days)
    if feedback_given:
        feedback.record_walkabout_delivery(session, user, walkabout, fed_back)
    changes["feedback_given"] = feedback_given
    audit.record(session, user, walkabout, "completed", changes)


def add_late_note(session: Session, user: User, walkabout: Walkabout, text: str) -> None:
    """Append a dated, signed note to a completed walkabout (executives only)."""
    if not user.has_role(Role.EXECUTIVE):
        raise Forbidden("Only executives add late notes.")
    lock_latest(session, walkabout)  # append-only: never a conflict
    if walkabout.status != WalkaboutStatus.COMPLETED:
        raise Conflict("Late notes are for completed walkabouts; this one is still open.")
    text = (text or "").strip()
    if problem := rules.LATE_NOTE.problem(text):
        raise ServiceError(problem)
    entry = f"{format_datetime(utcnow())}, {user.name}: {text}"
    new_notes = f"{walkabout.late_notes}\n\n{entry}" if walkabout.late_notes else entry
    if len(new_notes) > rules.SUMMARY_NOTES.limit:
        raise ServiceError("The late notes are full for this walkabout.")
    walkabout.late_notes = new_notes
    _save(session, walkabout)
    audit.record(session, user, walkabout, "late_note_added", {"note": text})


def prompt_script(session: Session) -> PromptScript:
    """The conversation script's active lines by kind, built again when the admin lists change."""

    def build() -> PromptScript:
        rows = session.exec(
            select(PromptQuestion.kind, PromptQuestion.text)
            .where(PromptQuestion.active)
            .order_by(PromptQuestion.sort_order, PromptQuestion.id)
        ).all()
        by_kind = {kind: tuple(text for row_kind, text in rows if row_kind == kind) for kind in PromptKind}
        return PromptScript(
            by_kind[PromptKind.OPENING],
            by_kind[PromptKind.QUESTION],
            by_kind[PromptKind.CLOSING],
            by_kind[PromptKind.READBACK],
        )

    return versioned_cache.remember(session, ("prompt_script",), build, scope=data_version.CHOICES)


def active_categories(session: Session) -> list[Category]:
    return list(
        session.exec(select(Category).where(Category.active).order_by(Category.sort_order, Category.name))
    )


def adhoc_wards(session: Session) -> list:
    """Active wards as light (id, full_name) rows: Home lists every one for executives (from the
    choice cache, services/choice_cache; starting the walkabout checks the ward again)."""

    def build() -> list:
        return list(
            session.exec(
                select(Ward.id, (Ward.name + ", " + Site.name).label("full_name"))
                .join(Site, Site.id == Ward.site_id)
                .where(Ward.active)
                .order_by(Ward.name, Site.name)
            )
        )

    return choice_cache.cached(session, "adhoc_wards", build)


def staff_roles(session: Session, with_retired: bool = False) -> list[StaffRole]:
    """The staff roles offered for "raised by" and participation (active ones, in order)."""
    query = select(StaffRole).order_by(StaffRole.sort_order, StaffRole.id)
    if not with_retired:
        query = query.where(StaffRole.active)
    return list(session.exec(query))


def _save(session: Session, walkabout: Walkabout) -> None:
    """Stamp the change and write it now (the UPDATE carries the version: see models.Versioned)."""
    walkabout.updated_at = utcnow()
    flush_or_conflict(session, STALE_WALKABOUT)
