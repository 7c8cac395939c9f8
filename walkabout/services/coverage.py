"""Ward coverage: when each active ward was last visited, when it is next, how often in a year."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.orm import selectinload
from sqlmodel import Session, col, func, select

from ..db_types import utcnow
from ..models import User, Walkabout, WalkaboutStatus, Ward
from ..timeutil import to_local
from .access import visible_ward_ids

MAX_THRESHOLD_DAYS = 3650  # a "neglected after N days" threshold beyond ten years is a typo
SORTS = {
    "ward": "Ward",
    "site": "Site",
    "days": "Days since last visit",
    "next": "Next walkabout",
    "count": "Walkabouts in 12 months",
}


@dataclass
class WardCoverage:
    ward: Ward
    last_visit: datetime | None
    next_visit: datetime | None
    visits_12_months: int
    days_since: int | None  # None: never visited
    neglected: bool


def ward_coverage(
    session: Session,
    user: User,
    today: date,
    threshold_days: int,
    site_id: int | None = None,
    sort: str = "days",
) -> list[WardCoverage]:
    """Every active ward the user sees, in four queries whatever the number of wards."""
    wards_query = select(Ward).where(Ward.active).options(selectinload(Ward.site))
    ward_ids = visible_ward_ids(session, user)
    if ward_ids is not None:
        wards_query = wards_query.where(col(Ward.id).in_(ward_ids))
    if site_id:
        wards_query = wards_query.where(Ward.site_id == site_id)
    wards = list(session.exec(wards_query).all())
    now = utcnow()
    completed = Walkabout.status == WalkaboutStatus.COMPLETED
    last = dict(
        session.exec(
            select(Walkabout.ward_id, func.max(Walkabout.scheduled_start))
            .where(completed)
            .group_by(Walkabout.ward_id)
        ).all()
    )
    upcoming = dict(
        session.exec(
            select(Walkabout.ward_id, func.min(Walkabout.scheduled_start))
            .where(Walkabout.status == WalkaboutStatus.PLANNED, Walkabout.scheduled_start >= now)
            .group_by(Walkabout.ward_id)
        ).all()
    )
    counts = dict(
        session.exec(
            select(Walkabout.ward_id, func.count())
            .where(completed, Walkabout.scheduled_start >= now - timedelta(days=365))
            .group_by(Walkabout.ward_id)
        ).all()
    )
    rows = []
    for ward in wards:
        last_visit = _aware(last.get(ward.id))
        days_since = (today - to_local(last_visit).date()).days if last_visit else None
        rows.append(
            WardCoverage(
                ward=ward,
                last_visit=last_visit,
                next_visit=_aware(upcoming.get(ward.id)),
                visits_12_months=counts.get(ward.id, 0),
                days_since=days_since,
                neglected=days_since is None or days_since > threshold_days,
            )
        )
    return sort_rows(rows, sort)


def sort_rows(rows: list[WardCoverage], sort: str) -> list[WardCoverage]:
    far = datetime.max.replace(tzinfo=None)
    keys = {
        "ward": lambda r: (r.ward.name.lower(), r.ward.site.name.lower()),
        "site": lambda r: (r.ward.site.name.lower(), r.ward.name.lower()),
        # Never visited first, then the longest gap.
        "days": lambda r: (r.days_since is not None, -(r.days_since or 0), r.ward.name.lower()),
        "next": lambda r: (
            r.next_visit is not None,
            r.next_visit.replace(tzinfo=None) if r.next_visit else far,
            r.ward.name.lower(),
        ),
        "count": lambda r: (r.visits_12_months, r.ward.name.lower()),
    }
    return sorted(rows, key=keys.get(sort, keys["days"]))


def _aware(value: datetime | None) -> datetime | None:
    """Aggregates bypass the column type on some databases: make them aware UTC."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value
