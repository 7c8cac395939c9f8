"""What the role-aware home page shows: today's walkabouts and my open actions."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import or_
from sqlalchemy.orm import selectinload
from sqlmodel import Session, col, select

from ..models import Action, ActionStatus, Concern, Role, User, Walkabout, WalkaboutStatus, Ward
from . import capture
from .access import managed_ward_ids, visible_ward_ids

OPEN_ACTION_STATUSES = (ActionStatus.OPEN, ActionStatus.IN_PROGRESS, ActionStatus.REOPENED)


@dataclass
class HomeOverview:
    today_walkabouts: list[Walkabout]
    my_actions: list[Action]
    my_overdue_count: int
    adhoc_wards: list | None = None  # executives: wards an ad-hoc walkabout can start on


def overview(session: Session, user: User, today: date, zone) -> HomeOverview:
    """Load the home page in a fixed number of queries."""
    day_start = datetime.combine(today, time.min, tzinfo=zone)
    walkabouts_query = (
        select(Walkabout)
        .where(Walkabout.scheduled_start >= day_start)
        .where(Walkabout.scheduled_start < day_start + timedelta(days=1))
        .where(Walkabout.status != WalkaboutStatus.CANCELLED)
        .options(
            selectinload(Walkabout.ward).selectinload(Ward.site),
            selectinload(Walkabout.lead),
            selectinload(Walkabout.attendees),
        )
        .order_by(Walkabout.scheduled_start)
    )
    ward_ids = visible_ward_ids(session, user)
    if ward_ids is not None:
        walkabouts_query = walkabouts_query.where(col(Walkabout.ward_id).in_(ward_ids))
    # What the user owns, and for ward managers what belongs to their wards.
    mine = Action.owner_id == user.id
    if user.has_role(Role.WARD_MANAGER):
        mine = or_(
            mine,
            col(Action.concern_id).in_(
                select(Concern.id)
                .join(Walkabout, Walkabout.id == Concern.walkabout_id)
                .where(col(Walkabout.ward_id).in_(managed_ward_ids(session, user)))
            ),
        )
    actions = session.exec(
        select(Action)
        .where(mine)
        .where(col(Action.status).in_(OPEN_ACTION_STATUSES))
        .where(col(Action.deleted_at).is_(None))
        .options(
            selectinload(Action.owner),
            selectinload(Action.concern)
            .selectinload(Concern.walkabout)
            .selectinload(Walkabout.ward)
            .selectinload(Ward.site),
        )
        .order_by(Action.due_date, Action.id)
    ).all()
    return HomeOverview(
        today_walkabouts=list(session.exec(walkabouts_query).all()),
        my_actions=list(actions),
        my_overdue_count=sum(1 for action in actions if action.is_overdue(today)),
        adhoc_wards=capture.adhoc_wards(session) if user.has_role(Role.EXECUTIVE) else None,
    )
