"""Reading actions: the filtered, sorted, paginated list with its count summary,
one action with its timeline, and the people who may own an action.
Each loads in a fixed number of queries."""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import selectinload
from sqlmodel import Session, col, func, select

from ..models import (
    Action,
    ActionStatus,
    ActionUpdate,
    AuditEvent,
    Concern,
    Photo,
    RiskBand,
    Site,
    User,
    UserRole,
    Walkabout,
    Ward,
)
from ..urls import ascii_int
from . import NotFound, choice_cache
from .access import managed_ward_ids, sees_all_wards
from .actions import OPEN_STATUSES, OWNER_ROLES

SORTS = {
    "due": "Overdue first, then due date",
    "-due": "Latest due date first",
    "priority": "Highest risk first",
    "newest": "Newest first",
    "ward": "Ward",
}
STATUS_FILTERS = {
    "active": "Not yet completed",
    "open": "Open",
    "in_progress": "In progress",
    "reopened": "Reopened",
    "completed": "Completed, awaiting verification",
    "verified": "Verified",
    "all": "All",
}
CLOSED_LAST = sa.case((col(Action.status).in_((ActionStatus.COMPLETED, ActionStatus.VERIFIED)), 1), else_=0)


@dataclass
class ActionFilters:
    mine: bool = False
    status: str = "active"
    ward: int | None = None
    site: int | None = None
    owner: int | None = None
    overdue: bool = False
    due_week: bool = False
    band: str | None = None
    sort: str = "due"
    page: int = 1

    @classmethod
    def from_args(cls, args) -> "ActionFilters":
        """From the query string; unknown or malformed values fall back to the defaults."""

        def number(name):
            return ascii_int(args.get(name))

        status = args.get("status", "active")
        band = args.get("band") or None
        sort = args.get("sort", "due")
        return cls(
            mine=args.get("mine") == "1",
            status=status if status in STATUS_FILTERS else "active",
            ward=number("ward"),
            site=number("site"),
            owner=number("owner"),
            overdue=args.get("overdue") == "1",
            due_week=args.get("due") == "week",
            band=band if band in {b.value for b in RiskBand} else None,
            sort=sort if sort in SORTS else "due",
            page=number("page") or 1,
        )

    def query_args(self, **changes) -> dict:
        """The query-string arguments for these filters (for links and pagination)."""
        values = {
            "mine": "1" if self.mine else None,
            "status": self.status if self.status != "active" else None,
            "ward": self.ward,
            "site": self.site,
            "owner": self.owner,
            "overdue": "1" if self.overdue else None,
            "due": "week" if self.due_week else None,
            "band": self.band,
            "sort": self.sort if self.sort != "due" else None,
            "page": self.page if self.page > 1 else None,
        }
        values.update(changes)
        return {key: value for key, value in values.items() if value is not None}


@dataclass
class ActionSummary:
    open: int = 0
    overdue: int = 0
    awaiting_verification: int = 0


@dataclass(frozen=True, slots=True)
class ActionRow:
    """What a line of an action list shows, as plain data (no ORM objects to build per row)."""

    id: int
    description: str
    status: ActionStatus
    priority: RiskBand
    due_date: date
    owner_id: int
    owner_name: str
    concern_text: str
    ward_name: str
    walkabout_start: datetime

    def is_overdue(self, today: date) -> bool:
        """Open past its due date (as Action.is_overdue); `today` is the trust-local date."""
        return self.status in OPEN_STATUSES and self.due_date < today


@dataclass
class ActionPage:
    actions: list[ActionRow]
    total: int
    page: int
    per_page: int
    summary: ActionSummary
    wards: list[Ward] = field(default_factory=list)
    sites: list[Site] = field(default_factory=list)
    owners: list[User] = field(default_factory=list)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


# Soft-deleted concerns are few: "not among them" reads from the action's own index, no join.
LIVE_CONCERN = col(Action.concern_id).not_in(select(Concern.id).where(col(Concern.deleted_at).is_not(None)))


@dataclass
class _Scope:
    """What `user` may see under `filters`, split by the tables each condition needs."""

    on_action: list  # conditions on the action row alone
    on_place: list  # conditions that need the concern, walkabout and ward joined
    user_id: int
    ward_ids: set[int] | None  # None: every ward; else own actions and these wards' only

    def visible_ids(self, conditions: list) -> sa.Select | sa.CompoundSelect:
        """Ids of "my actions" UNION "my wards' actions" meeting `conditions`: each arm walks an
        index (owner, status, due date; ward, walkabout, concern) instead of an OR across tables."""
        where = [*self.on_action, *conditions]
        mine = select(Action.id).where(Action.owner_id == self.user_id, *where)
        if not self.ward_ids:
            return mine
        on_wards = (
            select(Action.id)
            .join(Concern, Concern.id == Action.concern_id)
            .join(Walkabout, Walkabout.id == Concern.walkabout_id)
            .where(col(Walkabout.ward_id).in_(self.ward_ids), *where)
        )
        return sa.union(mine, on_wards)

    def where(self, conditions: list) -> list:
        """Every condition of a query over the actions in scope, `conditions` included."""
        if self.ward_ids is None:
            return [*self.on_action, *conditions, *self.on_place]
        return [col(Action.id).in_(self.visible_ids(conditions)), *self.on_place]


def _scope(session: Session, user: User, filters: ActionFilters) -> _Scope:
    on_action = [col(Action.deleted_at).is_(None), LIVE_CONCERN]
    on_place = []
    if filters.ward:
        on_place.append(Walkabout.ward_id == filters.ward)
    if filters.site:
        on_place.append(Ward.site_id == filters.site)
    if filters.owner:
        on_action.append(Action.owner_id == filters.owner)
    if filters.band:
        on_action.append(Action.priority == filters.band)
    ward_ids = managed_ward_ids(session, user) if filters.mine or not sees_all_wards(user) else None
    return _Scope(on_action, on_place, user.id, ward_ids)


def _joined(statement):
    return (
        statement.join(Concern, Concern.id == Action.concern_id)
        .join(Walkabout, Walkabout.id == Concern.walkabout_id)
        .join(Ward, Ward.id == Walkabout.ward_id)
    )


def _status_conditions(filters: ActionFilters, today: date) -> list:
    conditions = []
    if filters.status == "active":
        conditions.append(col(Action.status).in_(OPEN_STATUSES))
    elif filters.status != "all":
        conditions.append(Action.status == ActionStatus(filters.status))
    if filters.overdue:
        conditions += [col(Action.status).in_(OPEN_STATUSES), Action.due_date < today]
    if filters.due_week:
        conditions += [Action.due_date >= today, Action.due_date <= today + timedelta(days=7)]
    return conditions


# What a row of the list shows, and no more (no concern history, no password hashes).
ROW_COLUMNS = (
    Action.id,
    Action.description,
    Action.status,
    Action.priority,
    Action.due_date,
    Action.owner_id,
    User.name,
    Concern.text,
    Ward.name,
    Walkabout.scheduled_start,
)


def list_actions(
    session: Session, user: User, filters: ActionFilters, today: date, per_page: int = 25
) -> ActionPage:
    """One page of the actions `user` may see under `filters`, its total and the count summary
    (two or three queries after the user's wards, whatever the trust's size)."""
    scope = _scope(session, user, filters)
    where = scope.where(_status_conditions(filters, today))
    summary_statuses = [col(Action.status).in_((*OPEN_STATUSES, ActionStatus.COMPLETED))]
    counts = select(
        func.count(Action.id).filter(col(Action.status).in_(OPEN_STATUSES)),
        func.count(Action.id).filter(col(Action.status).in_(OPEN_STATUSES), Action.due_date < today),
        func.count(Action.id).filter(Action.status == ActionStatus.COMPLETED),
    )
    counts = session.exec(
        (_joined(counts) if scope.on_place else counts).where(*scope.where(summary_statuses))
    ).one()
    summary = ActionSummary(*counts)
    total = _total_from_summary(filters, summary)
    if total is None:
        counted = select(func.count(Action.id))
        total = session.exec((_joined(counted) if scope.on_place else counted).where(*where)).one()
    closed_last = [CLOSED_LAST] if filters.status == "all" else []  # otherwise all open or all closed
    order = {
        "due": [*closed_last, Action.due_date, Action.id],
        "-due": [col(Action.due_date).desc(), col(Action.id).desc()],
        "priority": [Action.risk_rank, Action.due_date, Action.id],  # closed last: in the rank
        "newest": [col(Action.created_at).desc(), col(Action.id).desc()],
        "ward": [Ward.name, *closed_last, Action.due_date, Action.id],
    }[filters.sort]
    page = min(filters.page, max(1, -(-total // per_page)))  # past the end: the last page
    rows = session.exec(
        _joined(select(*ROW_COLUMNS))
        .join(User, User.id == Action.owner_id)
        .where(*where)
        .order_by(*order)
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    return ActionPage(
        actions=[ActionRow(*row) for row in rows],
        total=total,
        page=page,
        per_page=per_page,
        summary=summary,
    )


def _total_from_summary(filters: ActionFilters, summary: ActionSummary) -> int | None:
    """The list's total when the summary already counted it (the common lists), else None."""
    if filters.due_week or filters.status not in ("active", "completed"):
        return None
    if filters.overdue:
        return summary.overdue if filters.status == "active" else 0  # overdue ones are open
    return summary.open if filters.status == "active" else summary.awaiting_verification


def first_of_mine(session: Session, user: User, today: date, limit: int) -> tuple[list, int, int]:
    """Home's "my actions": the first `limit` open actions of "my actions" (soonest due first) as
    plain rows (id, description, ward name, owner id, owner name, due date), and how many are open
    and overdue; the scope of list_actions(mine=True), without loading ORM rows (two queries after
    the user's wards)."""
    where = _scope(session, user, ActionFilters(mine=True)).where([col(Action.status).in_(OPEN_STATUSES)])
    open_count, overdue_count = session.exec(
        select(func.count(Action.id), func.count(Action.id).filter(Action.due_date < today)).where(*where)
    ).one()
    rows = session.exec(
        _joined(select(Action.id, Action.description, Ward.name, Action.owner_id, User.name, Action.due_date))
        .join(User, User.id == Action.owner_id)
        .where(*where)
        .order_by(Action.due_date, Action.id)
        .limit(limit)
    ).all()
    return list(rows), open_count, overdue_count


@dataclass
class Choice:
    id: int
    name: str
    site_id: int | None = None
    site_name: str | None = None
    job_title: str | None = None  # people only: shown beside the name

    @property
    def full_name(self) -> str:
        return f"{self.name}, {self.site_name}" if self.site_name else self.name


def filter_choices(session: Session, user: User) -> tuple[list[Choice], list[Choice], list[Choice]]:
    """Wards, sites and owners for the filter form (only wards the user sees), as light rows; the
    trust's lists come from the choice cache (services/choice_cache)."""
    wards = choice_cache.cached(session, "action_filter_wards", lambda: _active_wards(session))
    if not sees_all_wards(user):
        mine = managed_ward_ids(session, user)
        wards = [ward for ward in wards if ward.id in mine]
    sites = sorted(
        {ward.site_id: Choice(ward.site_id, ward.site_name) for ward in wards}.values(),
        key=lambda site: site.name,
    )
    owners = choice_cache.cached(session, "action_filter_owners", lambda: _owners(session))
    return wards, sites, owners


def _active_wards(session: Session) -> list[Choice]:
    rows = session.exec(
        select(Ward.id, Ward.name, Site.id, Site.name)
        .join(Site, Site.id == Ward.site_id)
        .where(Ward.active)
        .order_by(Ward.name, Site.name)
    ).all()
    return [Choice(*row) for row in rows]


def _owners(session: Session) -> list[Choice]:
    owner_ids = select(UserRole.user_id).where(col(UserRole.role).in_(OWNER_ROLES))
    rows = session.exec(
        select(User.id, User.name, User.job_title)
        .where(User.active, col(User.id).in_(owner_ids))
        .order_by(User.name, User.id)
    ).all()
    return [Choice(row.id, row.name, job_title=row.job_title) for row in rows]


def possible_owners(session: Session) -> list[User]:
    """Active users who may own an action (ward managers and executives)."""
    ids = select(UserRole.user_id).where(col(UserRole.role).in_(OWNER_ROLES))
    return list(
        session.exec(
            select(User)
            .where(User.active, col(User.id).in_(ids))
            .options(selectinload(User.role_rows))
            .order_by(User.name, User.id)
        ).all()
    )


def load_action(session: Session, action_id: int) -> Action:
    """One action with its concern, walkabout, ward and people, or NotFound."""
    action = session.exec(
        select(Action)
        .where(Action.id == action_id, col(Action.deleted_at).is_(None))
        .options(
            selectinload(Action.owner),
            selectinload(Action.concern).selectinload(Concern.category),
            selectinload(Action.concern).selectinload(Concern.walkabout).selectinload(Walkabout.lead),
            selectinload(Action.concern)
            .selectinload(Concern.walkabout)
            .selectinload(Walkabout.ward)
            .selectinload(Ward.site),
        )
    ).first()
    if action is None or action.concern.deleted_at is not None:
        raise NotFound("There is no such action.")
    return action


def load_concern(session: Session, concern_id: int) -> Concern:
    concern = session.exec(
        select(Concern)
        .where(Concern.id == concern_id, col(Concern.deleted_at).is_(None))
        .options(
            selectinload(Concern.category),
            selectinload(Concern.walkabout).selectinload(Walkabout.lead),
            selectinload(Concern.walkabout).selectinload(Walkabout.ward).selectinload(Ward.site),
            selectinload(Concern.actions).selectinload(Action.owner),
        )
    ).first()
    if concern is None:
        raise NotFound("There is no such concern.")
    return concern


def concern_photo_ids(session: Session, concern_id: int) -> list[int]:
    return list(
        session.exec(
            select(Photo.id)
            .where(Photo.concern_id == concern_id, col(Photo.deleted_at).is_(None))
            .order_by(Photo.id)
        ).all()
    )


@dataclass
class Timeline:
    updates: list[ActionUpdate]
    photos: dict[int, list[int]]  # action update id -> photo ids
    audit: list[AuditEvent]
    actors: dict[int, User]
    slips: int


def timeline(session: Session, action: Action) -> Timeline:
    """The action's updates (newest first) with their photos, and its audit trail."""
    updates = list(
        session.exec(
            select(ActionUpdate)
            .where(ActionUpdate.action_id == action.id)
            .options(selectinload(ActionUpdate.author))
            .order_by(col(ActionUpdate.created_at).desc(), col(ActionUpdate.id).desc())
        ).all()
    )
    photos: dict[int, list[int]] = {}
    if updates:
        rows = session.exec(
            select(Photo.action_update_id, Photo.id)
            .where(col(Photo.action_update_id).in_([u.id for u in updates]), col(Photo.deleted_at).is_(None))
            .order_by(Photo.id)
        ).all()
        for update_id, photo_id in rows:
            photos.setdefault(update_id, []).append(photo_id)
    events = list(
        session.exec(
            select(AuditEvent)
            .where(AuditEvent.entity_type == "action", AuditEvent.entity_id == action.id)
            .order_by(col(AuditEvent.created_at).desc(), col(AuditEvent.id).desc())
        ).all()
    )
    actor_ids = {event.actor_id for event in events if event.actor_id}
    actors = (
        {user.id: user for user in session.exec(select(User).where(col(User.id).in_(actor_ids))).all()}
        if actor_ids
        else {}
    )
    slips = sum(1 for u in updates if u.old_due_date and u.new_due_date and u.new_due_date > u.old_due_date)
    return Timeline(updates=updates, photos=photos, audit=events, actors=actors, slips=slips)


def overdue_actions(
    session: Session,
    today: date,
    owner_id: int | None = None,
    lead_id: int | None = None,
    older_than_days: int = 0,
) -> list[Action]:
    """Open actions past due (in the trust's calendar), for an owner or a walkabout lead."""
    query = (
        select(Action)
        .join(Concern)
        .join(Walkabout)
        .where(col(Action.status).in_(OPEN_STATUSES), col(Action.deleted_at).is_(None))
        .where(Action.due_date < today - timedelta(days=older_than_days))
        .options(
            selectinload(Action.owner),
            selectinload(Action.concern).selectinload(Concern.walkabout).selectinload(Walkabout.ward),
        )
        .order_by(Action.due_date, Action.id)
    )
    if owner_id is not None:
        query = query.where(Action.owner_id == owner_id)
    if lead_id is not None:
        query = query.where(Walkabout.lead_id == lead_id)
    return list(session.exec(query).all())
