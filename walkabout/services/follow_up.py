"""After the visit: every concern of a completed walkabout followed up (an action, the
ward's own fix, or "no action needed" with a reason), and staff told what happened
("you said, we did") by each concern's feedback due date.

A concern's feedback clock starts when its walkabout is completed
(`feedback_due_on` = the day of the visit + WALKABOUT_FEEDBACK_DAYS); it stops at the
first "you said, we did" update (interim or final). Updates are append-only.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import selectinload
from sqlmodel import Session, col, or_, select

from .. import rules
from ..models import (
    Action,
    Concern,
    ConcernKind,
    ConcernStatus,
    FeedbackKind,
    FeedbackUpdate,
    Role,
    User,
    Walkabout,
    WalkaboutAttendee,
    WalkaboutStatus,
    Ward,
)
from ..timeutil import to_local
from . import Forbidden, NotFound, ServiceError, audit

DIGEST_AFTER_WORKING_DAYS = 2  # a concern without an action is listed in the digest after this
FEEDBACK_KIND_LABELS = {FeedbackKind.INTERIM: "Interim update", FeedbackKind.FINAL: "Final feedback"}


def visit_day(walkabout: Walkabout) -> date:
    """The trust-local day the visit happened (its actual start, else its scheduled one)."""
    return to_local(walkabout.started_at or walkabout.scheduled_start).date()


def start_feedback_clock(session: Session, walkabout: Walkabout, days: int) -> date:
    """Give every concern of `walkabout` without one a feedback due date; returns it."""
    due = visit_day(walkabout) + timedelta(days=days)
    session.execute(
        sa.update(Concern)
        .where(
            Concern.walkabout_id == walkabout.id,
            Concern.kind == ConcernKind.CONCERN,
            col(Concern.feedback_due_on).is_(None),
        )
        .values(feedback_due_on=due)
        .execution_options(synchronize_session="fetch")
    )
    return due


# --- who may do what --------------------------------------------------------------


def on_team(walkabout: Walkabout, user: User) -> bool:
    return walkabout.lead_id == user.id or any(person.id == user.id for person in walkabout.attendees)


def can_write_feedback(user: User, concern: Concern) -> bool:
    """The walkabout's executives (lead and team) and the owner of one of its actions."""
    if user.has_role(Role.EXECUTIVE) and on_team(concern.walkabout, user):
        return True
    return any(a.owner_id == user.id and a.deleted_at is None for a in concern.actions)


# --- one concern's state -----------------------------------------------------------


@dataclass
class ConcernFollowUp:
    """A concern of a completed walkabout as its follow-up list shows it."""

    concern: Concern
    actions: list[Action]
    updates: list[FeedbackUpdate]  # oldest first
    state: str
    needs_decision: bool  # open, no action yet: assign, ward can fix, or no action needed
    feedback_due_on: date | None
    feedback_overdue: bool

    @property
    def has_final(self) -> bool:
        return any(update.kind == FeedbackKind.FINAL for update in self.updates)


def follow_up_of(concern: Concern, today: date) -> ConcernFollowUp:
    actions = [a for a in concern.actions if a.deleted_at is None]
    updates = sorted(concern.feedback_updates, key=lambda u: (u.created_at, u.id or 0))
    if concern.status == ConcernStatus.NO_ACTION_NEEDED:
        state = "No action needed"
    elif concern.status == ConcernStatus.RESOLVED:
        state = "Resolved: every action verified"
    elif actions:
        done = sum(1 for a in actions if a.is_closed)
        state = f"{len(actions)} action{'s' if len(actions) != 1 else ''}, {done} done"
    else:
        state = "No action yet"
    due = concern.feedback_due_on
    return ConcernFollowUp(
        concern=concern,
        actions=actions,
        updates=updates,
        state=state,
        needs_decision=concern.status == ConcernStatus.OPEN and not actions,
        feedback_due_on=due,
        feedback_overdue=bool(due and due < today and not updates),
    )


def walkabout_follow_up(session: Session, walkabout: Walkabout, today: date) -> list[ConcernFollowUp]:
    """Every live concern of `walkabout` (not good practice), staff's priorities first, then
    highest risk, in 3 queries."""
    concerns = session.exec(
        select(Concern)
        .where(
            Concern.walkabout_id == walkabout.id,
            Concern.kind == ConcernKind.CONCERN,
            col(Concern.deleted_at).is_(None),
        )
        .options(
            selectinload(Concern.category),
            selectinload(Concern.actions).selectinload(Action.owner),
            selectinload(Concern.feedback_updates),
        )
        .order_by(
            col(Concern.priority).desc(),
            sa.func.coalesce(Concern.risk_score, 0).desc(),
            Concern.created_at,
            Concern.id,
        )
    ).all()
    for concern in concerns:
        concern.walkabout = walkabout
    return [follow_up_of(concern, today) for concern in concerns]


@dataclass(frozen=True)
class PriorityFixRate:
    """How many of staff's priorities are fixed (resolved: every action verified)."""

    fixed: int
    total: int


def priority_fix_rate(concerns) -> PriorityFixRate:
    """The fix rate of the priorities among `concerns` (live concerns only)."""
    chosen = [c for c in concerns if c.priority and c.deleted_at is None and c.kind == ConcernKind.CONCERN]
    return PriorityFixRate(sum(1 for c in chosen if c.status == ConcernStatus.RESOLVED), len(chosen))


# --- writing feedback ------------------------------------------------------------------


def load_concern(session: Session, concern_id: int) -> Concern:
    """A live concern with its walkabout (ward, team), actions and feedback, or NotFound."""
    concern = session.exec(
        select(Concern)
        .where(Concern.id == concern_id, col(Concern.deleted_at).is_(None))
        .options(
            selectinload(Concern.walkabout).selectinload(Walkabout.ward).selectinload(Ward.site),
            selectinload(Concern.walkabout).selectinload(Walkabout.attendees),
            selectinload(Concern.category),
            selectinload(Concern.actions).selectinload(Action.owner),
            selectinload(Concern.feedback_updates),
        )
    ).first()
    if concern is None or concern.kind != ConcernKind.CONCERN:
        raise NotFound("That concern does not exist.")
    return concern


def write_feedback(
    session: Session, actor: User, concern: Concern, *, kind: str | None, text: str | None
) -> FeedbackUpdate:
    """Publish a "you said, we did" update on `concern` (append-only, so never a conflict)."""
    if concern.deleted_at is not None or concern.kind != ConcernKind.CONCERN:
        raise ServiceError("Feedback is written on concerns that are still recorded.")
    if concern.walkabout.status != WalkaboutStatus.COMPLETED:
        raise ServiceError("Feedback is written once the walkabout is completed.")
    if not can_write_feedback(actor, concern):
        raise Forbidden(
            "Only the walkabout's executives or the owner of one of its actions write its feedback."
        )
    try:
        feedback_kind = FeedbackKind(kind or "")
    except ValueError:
        raise ServiceError("Say whether this is an interim update or the final feedback.") from None
    text = (text or "").strip()
    if problem := rules.FEEDBACK_UPDATE.problem(text):
        raise ServiceError(problem)
    update = FeedbackUpdate(concern_id=concern.id, kind=feedback_kind, text=text, author_id=actor.id)
    session.add(update)
    session.flush()
    audit.record(session, actor, concern, "feedback_written", {"kind": feedback_kind, "text": text})
    return update


# --- lists for Home, the digest and the ward page ----------------------------------------


def _team_walkabouts(user_id: int):
    attending = select(WalkaboutAttendee.walkabout_id).where(WalkaboutAttendee.user_id == user_id)
    return or_(Walkabout.lead_id == user_id, col(Walkabout.id).in_(attending))


def _live_concerns():
    return (
        select(Concern)
        .join(Walkabout, Walkabout.id == Concern.walkabout_id)
        .where(
            Walkabout.status == WalkaboutStatus.COMPLETED,
            Concern.kind == ConcernKind.CONCERN,
            col(Concern.deleted_at).is_(None),
        )
    )


def _with_walkabout(query):
    return query.options(selectinload(Concern.walkabout).selectinload(Walkabout.ward).selectinload(Ward.site))


def _has_live_action():
    return sa.exists().where(Action.concern_id == Concern.id, col(Action.deleted_at).is_(None))


def _without_action_query(user_id: int):
    return _live_concerns().where(
        _team_walkabouts(user_id), Concern.status == ConcernStatus.OPEN, ~_has_live_action()
    )


WITHOUT_ACTION_ORDER = (Walkabout.completed_at, Concern.created_at, Concern.id)
FEEDBACK_OVERDUE_ORDER = (Concern.feedback_due_on, Concern.id)


def without_action(session: Session, user_id: int, completed_before: datetime | None = None) -> list[Concern]:
    """Open concerns of `user_id`'s completed walkabouts with no action yet, oldest visit first."""
    query = _without_action_query(user_id)
    if completed_before is not None:
        query = query.where(col(Walkabout.completed_at) < completed_before)
    return list(session.exec(_with_walkabout(query).order_by(*WITHOUT_ACTION_ORDER)).all())


def _no_feedback():
    """No "you said, we did" update yet (the stored stamp, models._stamp_first_feedback)."""
    return col(Concern.first_feedback_at).is_(None)


def _feedback_overdue_query(today: date):
    return _live_concerns().where(col(Concern.feedback_due_on) < today, _no_feedback())


def feedback_overdue(
    session: Session, today: date, *, user_id: int | None = None, ward_id: int | None = None
) -> list[Concern]:
    """Concerns past their feedback due date with no "you said, we did" yet, most overdue first."""
    query = _feedback_overdue_query(today)
    if user_id is not None:
        query = query.where(_team_walkabouts(user_id))
    if ward_id is not None:
        query = query.where(Walkabout.ward_id == ward_id)
    return list(session.exec(_with_walkabout(query).order_by(*FEEDBACK_OVERDUE_ORDER)).all())


HOME_SHOWN = 10  # the first ten of each list; the rest are counted


@dataclass(frozen=True)
class FollowUpItem:
    """A concern as Home's follow-up lists show it (plain data)."""

    concern_id: int
    walkabout_id: int
    text: str
    ward_name: str
    visited: datetime  # the walkabout's scheduled start
    feedback_due_on: date | None


@dataclass(frozen=True)
class HomeFollowUp:
    """What an executive's Home shows of their walkabouts' follow-up: the first HOME_SHOWN of
    each list and how many there are in all."""

    without_action: tuple[FollowUpItem, ...]  # oldest visit first
    without_action_count: int
    feedback_overdue: tuple[FollowUpItem, ...]  # most overdue first
    feedback_overdue_count: int


def _completed_team_walkabouts(session: Session, user_id: int) -> list[int]:
    """The completed walkabouts `user_id` led or attended, each arm of the UNION one index seek
    (an OR across the two tables is served by neither). The lists below then seek each one's
    concerns in an index, whatever the trust's size, on SQLite and PostgreSQL alike."""
    completed = Walkabout.status == WalkaboutStatus.COMPLETED
    led = select(Walkabout.id).where(Walkabout.lead_id == user_id, completed)
    attended = (
        select(WalkaboutAttendee.walkabout_id)
        .join(Walkabout, Walkabout.id == WalkaboutAttendee.walkabout_id)
        .where(WalkaboutAttendee.user_id == user_id, completed)
    )
    return list(session.exec(sa.union(led, attended)).scalars())


def _first_and_count(session: Session, conditions: list, order, limit: int) -> tuple[tuple, int]:
    """The first `limit` live concerns meeting `conditions`, as plain rows, and how many there are
    (counted from the index alone, in the same statement)."""
    live = [Concern.kind == ConcernKind.CONCERN, col(Concern.deleted_at).is_(None), *conditions]
    total = select(sa.func.count()).select_from(Concern).where(*live).correlate(None).scalar_subquery()
    rows = session.exec(
        select(
            Concern.id,
            Concern.walkabout_id,
            Concern.text,
            Ward.name,
            Walkabout.scheduled_start,
            Concern.feedback_due_on,
            total,
        )
        .join(Walkabout, Walkabout.id == Concern.walkabout_id)
        .join(Ward, Ward.id == Walkabout.ward_id)
        .where(*live)
        .order_by(*order)
        .limit(limit)
    ).all()
    return tuple(FollowUpItem(*row[:6]) for row in rows), (rows[0][6] if rows else 0)


def home_follow_up(session: Session, user: User, today: date) -> HomeFollowUp | None:
    """Executives only: their completed walkabouts' concerns with no action yet, and feedback
    overdue, read per walkabout from indexes of their own (ix_concern_walkabout_status,
    ix_concern_walkabout_feedback), in three queries."""
    if not user.has_role(Role.EXECUTIVE):
        return None
    team = col(Concern.walkabout_id).in_(_completed_team_walkabouts(session, user.id))
    waiting, waiting_count = _first_and_count(
        session,
        [team, Concern.status == ConcernStatus.OPEN, ~_has_live_action()],
        WITHOUT_ACTION_ORDER,
        HOME_SHOWN,
    )
    late, late_count = _first_and_count(
        session,
        [team, _no_feedback(), col(Concern.feedback_due_on) < today],
        FEEDBACK_OVERDUE_ORDER,
        HOME_SHOWN,
    )
    return HomeFollowUp(waiting, waiting_count, late, late_count)


def working_days_cutoff(today: date, zone, working_days: int = DIGEST_AFTER_WORKING_DAYS) -> datetime:
    """The instant before which a walkabout was completed for `working_days` whole working days
    (Monday to Friday) to have passed by `today`: e.g. completed on a Friday, listed on Wednesday."""
    day, counted = today, 0
    while counted < working_days:
        day -= timedelta(days=1)
        if day.weekday() < 5:
            counted += 1
    return datetime.combine(day, time.min, tzinfo=zone)


def digest_recipients(session: Session, today: date, zone) -> set[int]:
    """Executives whose digest today lists concerns without an action, or overdue feedback."""
    base = (
        select(Walkabout.lead_id, WalkaboutAttendee.user_id)
        .join(Concern, Concern.walkabout_id == Walkabout.id)
        .outerjoin(WalkaboutAttendee, WalkaboutAttendee.walkabout_id == Walkabout.id)
        .where(
            Walkabout.status == WalkaboutStatus.COMPLETED,
            Concern.kind == ConcernKind.CONCERN,
            col(Concern.deleted_at).is_(None),
        )
    )
    waiting = base.where(
        Concern.status == ConcernStatus.OPEN,
        ~_has_live_action(),
        col(Walkabout.completed_at) < working_days_cutoff(today, zone),
    )
    late = base.where(col(Concern.feedback_due_on) < today, _no_feedback())
    ids: set[int] = set()
    for query in (waiting, late):
        for lead_id, attendee_id in session.exec(query).all():
            ids.update(i for i in (lead_id, attendee_id) if i)
    if not ids:
        return ids
    executives = select(User.id).where(col(User.id).in_(ids), User.active)
    return {
        user.id
        for user in session.exec(
            select(User).where(col(User.id).in_(executives)).options(selectinload(User.role_rows))
        ).all()
        if user.has_role(Role.EXECUTIVE)
    }
