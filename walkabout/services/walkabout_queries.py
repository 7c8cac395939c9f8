"""Read side of walkabouts: the filtered, paginated list, one walkabout, its pre-visit brief."""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy.orm import selectinload
from sqlmodel import Session, col, func, or_, select

from ..models import (
    Action,
    ActionStatus,
    Concern,
    ConcernKind,
    ConcernStatus,
    Role,
    Site,
    User,
    UserRole,
    Walkabout,
    WalkaboutAttendee,
    WalkaboutReschedule,
    WalkaboutStatus,
    Ward,
)
from ..timeutil import trust_zone
from . import NotFound, choice_cache
from .access import visible_ward_ids

TABS = ("today", "upcoming", "past")
OPEN_ACTION_STATUSES = (ActionStatus.OPEN, ActionStatus.IN_PROGRESS, ActionStatus.REOPENED)
BRIEF_LIMIT = 50


@dataclass
class ListFilters:
    tab: str = "upcoming"
    ward_id: int | None = None
    site_id: int | None = None
    lead_id: int | None = None
    status: WalkaboutStatus | None = None
    mine: bool = False
    page: int = 1

    def query_args(self, **overrides) -> dict:
        """URL parameters for these filters (for tabs, pages and hx-push-url)."""
        args = {
            "tab": self.tab,
            "ward": self.ward_id,
            "site": self.site_id,
            "lead": self.lead_id,
            "status": self.status.value if self.status else None,
            "mine": "1" if self.mine else "0",
            "page": self.page if self.page > 1 else None,
        }
        args.update(overrides)
        return {key: value for key, value in args.items() if value not in (None, "")}


@dataclass(frozen=True, slots=True)
class WalkaboutRow:
    """What a line of the walkabout list shows, as plain data (no ORM objects per row)."""

    id: int
    scheduled_start: datetime
    status: WalkaboutStatus
    focus: str | None
    lead_id: int
    lead_name: str
    ward_name: str
    site_name: str
    attendee_count: int


@dataclass
class ListPage:
    walkabouts: list[WalkaboutRow]
    total: int
    page: int
    per_page: int
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _day_bounds(today: date) -> tuple[datetime, datetime]:
    start = datetime.combine(today, time.min, tzinfo=trust_zone())
    return start, datetime.combine(today + timedelta(days=1), time.min, tzinfo=trust_zone())


def list_walkabouts(
    session: Session, user: User, filters: ListFilters, today: date, per_page: int
) -> ListPage:
    """One page of walkabouts the user may see: a count and one query of the columns shown."""
    conditions = []
    ward_ids = visible_ward_ids(session, user)
    if ward_ids is not None:
        conditions.append(col(Walkabout.ward_id).in_(ward_ids))
    if filters.ward_id:
        conditions.append(Walkabout.ward_id == filters.ward_id)
    if filters.site_id:
        conditions.append(col(Walkabout.ward_id).in_(select(Ward.id).where(Ward.site_id == filters.site_id)))
    if filters.lead_id:
        conditions.append(Walkabout.lead_id == filters.lead_id)
    if filters.status:
        conditions.append(Walkabout.status == filters.status)
    if filters.mine:
        attending = select(WalkaboutAttendee.walkabout_id).where(WalkaboutAttendee.user_id == user.id)
        conditions.append(or_(Walkabout.lead_id == user.id, col(Walkabout.id).in_(attending)))
    day_start, day_end = _day_bounds(today)
    conditions += {
        "today": [Walkabout.scheduled_start >= day_start, Walkabout.scheduled_start < day_end],
        "upcoming": [Walkabout.scheduled_start >= day_end],
        "past": [Walkabout.scheduled_start < day_start],
    }[filters.tab]
    total = session.exec(select(func.count(Walkabout.id)).where(*conditions)).one()
    order = col(Walkabout.scheduled_start).desc() if filters.tab == "past" else col(Walkabout.scheduled_start)
    attendees = (
        select(func.count(WalkaboutAttendee.user_id))
        .where(WalkaboutAttendee.walkabout_id == Walkabout.id)
        .scalar_subquery()
    )
    rows = session.exec(
        select(*ROW_COLUMNS, attendees)
        .join(Ward, Ward.id == Walkabout.ward_id)
        .join(Site, Site.id == Ward.site_id)
        .join(User, User.id == Walkabout.lead_id)
        .where(*conditions)
        .order_by(order, Walkabout.id)
        .offset((filters.page - 1) * per_page)
        .limit(per_page)
    ).all()
    return ListPage(
        walkabouts=[WalkaboutRow(*row) for row in rows], total=total, page=filters.page, per_page=per_page
    )


# What a row of the list shows, and no more (no password hashes, no calendar tokens).
ROW_COLUMNS = (
    Walkabout.id,
    Walkabout.scheduled_start,
    Walkabout.status,
    Walkabout.focus,
    Walkabout.lead_id,
    User.name,
    Ward.name,
    Site.name,
)


def filter_choices(session: Session, user: User) -> dict:
    """Wards, sites and executives for the filter form (only wards the user may see), as light
    rows: a large trust lists hundreds of wards, so no ORM objects."""
    trust = choice_cache.cached(session, "walkabout_filters", lambda: _trust_choices(session))
    wards, sites = trust["wards"], trust["sites"]
    ward_ids = visible_ward_ids(session, user)
    if ward_ids is not None:
        wards = [ward for ward in wards if ward.id in ward_ids]
        site_ids = {ward.site_id for ward in wards}
        sites = [site for site in sites if site.id in site_ids]
    return {"wards": wards, "sites": sites, "executives": trust["executives"]}


def _trust_choices(session: Session) -> dict:
    """Every ward, site and active executive, for the choice cache (services/choice_cache)."""
    wards = session.exec(
        select(Ward.id, Ward.site_id, (Ward.name + ", " + Site.name).label("full_name"))
        .join(Site, Site.id == Ward.site_id)
        .order_by(Ward.name, Site.name)
    ).all()
    sites = session.exec(select(Site.id, Site.name).order_by(Site.name)).all()
    leads = session.exec(
        select(User.id, User.name, User.job_title)
        .join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == Role.EXECUTIVE, User.active)
        .order_by(User.name)
    ).all()
    return {"wards": list(wards), "sites": list(sites), "executives": list(leads)}


def load_walkabout(session: Session, user: User, walkabout_id: int) -> Walkabout:
    """The walkabout with its ward, team and history, or NotFound (also for wards the user may not see)."""
    walkabout = session.exec(
        select(Walkabout)
        .where(Walkabout.id == walkabout_id)
        .options(
            selectinload(Walkabout.ward).selectinload(Ward.site),
            selectinload(Walkabout.lead),
            selectinload(Walkabout.attendees),
        )
    ).first()
    if walkabout is None:
        raise NotFound("That walkabout does not exist.")
    ward_ids = visible_ward_ids(session, user)
    if ward_ids is not None and walkabout.ward_id not in ward_ids:
        raise NotFound("That walkabout does not exist.")
    return walkabout


@dataclass
class BriefItem:
    """One line of the pre-visit brief: an open action or an open concern from an earlier visit."""

    kind: str  # "action" or "concern"
    id: int
    text: str
    raised_on: datetime
    due_date: date | None
    days_overdue: int
    age_days: int
    owner: str | None
    risk_score: int | None
    category: str | None


def pre_visit_brief(
    session: Session, walkabout: Walkabout, today: date
) -> tuple[list[BriefItem], list[BriefItem]]:
    """The ward's open actions and open concerns from earlier visits, newest first."""
    earlier = (
        select(Walkabout.id)
        .where(Walkabout.ward_id == walkabout.ward_id, Walkabout.id != walkabout.id)
        .where(Walkabout.scheduled_start <= walkabout.scheduled_start)
    )
    actions = session.exec(
        select(Action)
        .join(Concern, Concern.id == Action.concern_id)
        .where(col(Concern.walkabout_id).in_(earlier))
        .where(col(Action.status).in_(OPEN_ACTION_STATUSES))
        .where(col(Action.deleted_at).is_(None), col(Concern.deleted_at).is_(None))
        .options(selectinload(Action.owner), selectinload(Action.concern).selectinload(Concern.category))
        .order_by(col(Action.created_at).desc(), col(Action.id).desc())
        .limit(BRIEF_LIMIT)
    ).all()
    concerns = session.exec(
        select(Concern)
        .where(col(Concern.walkabout_id).in_(earlier))
        .where(Concern.kind == ConcernKind.CONCERN, Concern.status == ConcernStatus.OPEN)
        .where(col(Concern.deleted_at).is_(None))
        .options(selectinload(Concern.category))
        .order_by(col(Concern.created_at).desc(), col(Concern.id).desc())
        .limit(BRIEF_LIMIT)
    ).all()
    zone = trust_zone()
    action_items = [
        BriefItem(
            kind="action",
            id=action.id,
            text=action.description,
            raised_on=action.created_at,
            due_date=action.due_date,
            days_overdue=max(0, (today - action.due_date).days),
            age_days=(today - action.created_at.astimezone(zone).date()).days,
            owner=action.owner.name,
            risk_score=action.concern.risk_score,
            category=action.concern.category.name if action.concern.category else None,
        )
        for action in actions
    ]
    concern_items = [
        BriefItem(
            kind="concern",
            id=concern.id,
            text=concern.text,
            raised_on=concern.created_at,
            due_date=None,
            days_overdue=0,
            age_days=(today - concern.created_at.astimezone(zone).date()).days,
            owner=None,
            risk_score=concern.risk_score,
            category=concern.category.name if concern.category else None,
        )
        for concern in concerns
    ]
    return action_items, concern_items


def history(session: Session, walkabout: Walkabout) -> list[WalkaboutReschedule]:
    """Reschedules, newest first, with who moved it."""
    return list(
        session.exec(
            select(WalkaboutReschedule)
            .where(WalkaboutReschedule.walkabout_id == walkabout.id)
            .order_by(col(WalkaboutReschedule.created_at).desc(), col(WalkaboutReschedule.id).desc())
        ).all()
    )


def user_names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(session.exec(select(User.id, User.name).where(col(User.id).in_(ids))).all())


def can_schedule(user: User) -> bool:
    return user.has_role(Role.EXECUTIVE, Role.ADMIN)
