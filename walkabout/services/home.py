"""What the role-aware home page shows: today's walkabouts and my open actions."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy.orm import selectinload
from sqlmodel import Session, col, select

from ..models import Role, User, Walkabout, WalkaboutStatus, Ward
from . import action_queries, capture
from .access import visible_ward_ids

MY_ACTIONS_SHOWN = 10  # the rest are a tap away in "All my actions"


@dataclass
class HomeOverview:
    today_walkabouts: list[Walkabout]
    my_actions: list[action_queries.ActionRow]  # the first MY_ACTIONS_SHOWN, soonest due first
    my_open_count: int
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
        .options(  # what the list shows: names, not whole rows with password hashes
            selectinload(Walkabout.ward).load_only(Ward.id, Ward.name, Ward.site_id).selectinload(Ward.site),
            selectinload(Walkabout.lead).load_only(User.id, User.name),
            selectinload(Walkabout.attendees).load_only(User.id),
        )
        .order_by(Walkabout.scheduled_start)
    )
    ward_ids = visible_ward_ids(session, user)
    if ward_ids is not None:
        walkabouts_query = walkabouts_query.where(col(Walkabout.ward_id).in_(ward_ids))
    # What the user owns and what belongs to their wards: the first of "my actions", with its counts.
    mine = action_queries.list_actions(
        session, user, action_queries.ActionFilters(mine=True), today, per_page=MY_ACTIONS_SHOWN
    )
    return HomeOverview(
        today_walkabouts=list(session.exec(walkabouts_query).all()),
        my_actions=mine.actions,
        my_open_count=mine.summary.open,
        my_overdue_count=mine.summary.overdue,
        adhoc_wards=capture.adhoc_wards(session) if user.has_role(Role.EXECUTIVE) else None,
    )
