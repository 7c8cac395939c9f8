"""What the role-aware home page shows: today's walkabouts and my open actions, as plain rows
(nothing of one request's session: Home's data may be kept across requests)."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from ..models import Site, User, Walkabout, WalkaboutAttendee, WalkaboutStatus, Ward
from . import action_queries, follow_up, versioned_cache
from .access import visible_ward_ids

MY_ACTIONS_SHOWN = 10  # the rest are a tap away in "All my actions"


@dataclass(frozen=True)
class TodayWalkabout:
    id: int
    scheduled_start: datetime
    status: str
    ward_name: str
    site_name: str
    lead_id: int
    lead_name: str
    on_team: bool  # the user leads it or attends it (an executive may start or continue it)


@dataclass(frozen=True)
class MyAction:
    id: int
    description: str
    ward_name: str
    owner_id: int
    owner_name: str
    due_date: date
    overdue: bool


@dataclass(frozen=True)
class HomeOverview:
    today_walkabouts: tuple[TodayWalkabout, ...]
    my_actions: tuple[MyAction, ...]  # the first MY_ACTIONS_SHOWN, soonest due first
    my_open_count: int
    my_overdue_count: int


@dataclass(frozen=True)
class HomeData:
    """Everything Home shows from the database (the rest is the signed-in user and the forms)."""

    overview: HomeOverview
    follow_up: follow_up.HomeFollowUp | None  # executives only


def home_data(session: Session, user: User, today: date, zone) -> HomeData:
    """Home's data for `user` on the trust-local day `today`, kept in this process until anything
    in the trust's records changes (services/versioned_cache): the user's wards and roles are
    records too, the roles are in the key only to make that plain."""
    return versioned_cache.remember(
        session,
        ("home", *data_key(user, today)),
        lambda: HomeData(
            overview(session, user, today, zone), follow_up.home_follow_up(session, user, today)
        ),
    )


def data_key(user: User, today: date) -> tuple:
    """What Home's data depends on besides the trust's records."""
    return (user.id, tuple(sorted(user.roles)), today)


def overview(session: Session, user: User, today: date, zone) -> HomeOverview:
    """Load the home page in a fixed number of queries."""
    mine, open_count, overdue_count = action_queries.first_of_mine(session, user, today, MY_ACTIONS_SHOWN)
    return HomeOverview(
        today_walkabouts=today_walkabouts(session, user, today, zone),
        my_actions=tuple(MyAction(*row, overdue=row.due_date < today) for row in mine),  # all open
        my_open_count=open_count,
        my_overdue_count=overdue_count,
    )


def today_walkabouts(session: Session, user: User, today: date, zone) -> tuple[TodayWalkabout, ...]:
    """Today's walkabouts (trust-local day) on the wards `user` sees, earliest first, in one query."""
    day_start = datetime.combine(today, time.min, tzinfo=zone)
    attends = sa.exists().where(
        WalkaboutAttendee.walkabout_id == Walkabout.id, WalkaboutAttendee.user_id == user.id
    )
    query = (
        select(
            Walkabout.id,
            Walkabout.scheduled_start,
            Walkabout.status,
            Ward.name,
            Site.name,
            Walkabout.lead_id,
            User.name,
            sa.or_(Walkabout.lead_id == user.id, attends),
        )
        .join(Ward, Ward.id == Walkabout.ward_id)
        .join(Site, Site.id == Ward.site_id)
        .join(User, User.id == Walkabout.lead_id)
        .where(Walkabout.scheduled_start >= day_start)
        .where(Walkabout.scheduled_start < day_start + timedelta(days=1))
        .where(Walkabout.status != WalkaboutStatus.CANCELLED)
        .order_by(Walkabout.scheduled_start, Walkabout.id)
    )
    ward_ids = visible_ward_ids(session, user)
    if ward_ids is not None:
        query = query.where(col(Walkabout.ward_id).in_(ward_ids))
    return tuple(TodayWalkabout(*row[:7], bool(row[7])) for row in session.exec(query))
