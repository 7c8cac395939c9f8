"""The month's context rows for the exports: the active wards (with their last walkabout
held before the month's end, for the coverage and "not visited" figures) and the active
executives (for the even share), so those figures can be recomputed from the export too."""

import sqlalchemy as sa
from sqlmodel import Session, select

from ..models import Role, Site, User, UserRole, Walkabout, WalkaboutStatus, Ward
from ..periods import Period
from .stamps import stamp


def wards(session: Session, period: Period) -> list[dict]:
    """Every active ward with the start of its last walkabout held before the month's end."""
    last_held = (
        select(sa.func.max(Walkabout.scheduled_start))
        .where(
            Walkabout.ward_id == Ward.id,
            Walkabout.status == WalkaboutStatus.COMPLETED,
            Walkabout.scheduled_start < period.end_utc,
        )
        .correlate(Ward)
        .scalar_subquery()
    )
    rows = session.exec(
        select(Ward.id, Ward.name, Site.name, last_held)
        .join(Site, Site.id == Ward.site_id)
        .where(Ward.active.is_(True))
        .order_by(Site.name, Ward.name)
    ).all()
    out = []
    for ward_id, ward, site, last in rows:
        row = {"record_type": "ward", "id": ward_id, "site": site, "ward": ward}
        stamp(row, "last_held_start", last, period.zone)
        out.append(row)
    return out


def executives(session: Session, period: Period) -> list[dict]:
    """Every active executive (the walkabouts they led carry their id as `lead_id`)."""
    rows = session.exec(
        select(User.id, User.name, User.job_title)
        .join(UserRole, sa.and_(UserRole.user_id == User.id, UserRole.role == Role.EXECUTIVE))
        .where(User.active.is_(True))
        .order_by(User.name, User.id)
    ).all()
    return [
        {"record_type": "executive", "id": user_id, "person": name, "job_title": title or ""}
        for user_id, name, title in rows
    ]
