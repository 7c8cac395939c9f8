"""Reading the audit trail (administrators and board secretaries): every entry, newest
first, filtered by person, kind of record, record id and trust-local date range."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

from sqlmodel import Session, col, func, select

from ..models import AuditEvent, User
from ..periods import local_midnight
from ..timeutil import trust_zone


@dataclass
class AuditFilters:
    """The audit log's filters; None means any."""

    actor: int | None = None
    entity_type: str | None = None
    entity_id: int | None = None
    since: date | None = None  # trust-local days, both included
    until: date | None = None
    page: int = 1

    def query(self, **changes) -> dict:
        """The filters as query-string arguments (for links and the CSV export)."""
        values = {
            "actor": self.actor,
            "type": self.entity_type,
            "record": self.entity_id,
            "from": self.since.isoformat() if self.since else None,
            "to": self.until.isoformat() if self.until else None,
            "page": self.page if self.page > 1 else None,
        }
        values.update(changes)
        return {key: value for key, value in values.items() if value not in (None, "")}


@dataclass
class AuditPage:
    rows: list[tuple[AuditEvent, str | None]]  # (entry, the actor's name)
    total: int
    page: int
    pages: int


def entity_types(session: Session) -> list[str]:
    """The kinds of record the log holds, for the filter's choices."""
    return list(session.exec(select(AuditEvent.entity_type).distinct().order_by(AuditEvent.entity_type)))


def actors(session: Session) -> list[User]:
    """People who appear in the log, for the filter's choices."""
    ids = select(AuditEvent.actor_id).where(col(AuditEvent.actor_id).is_not(None)).distinct()
    return list(session.exec(select(User).where(col(User.id).in_(ids)).order_by(User.name)))


def _filtered(query, filters: AuditFilters):
    if filters.actor is not None:
        query = query.where(AuditEvent.actor_id == filters.actor)
    if filters.entity_type is not None:
        query = query.where(AuditEvent.entity_type == filters.entity_type)
    if filters.entity_id is not None:
        query = query.where(AuditEvent.entity_id == filters.entity_id)
    zone = trust_zone()
    if filters.since is not None:
        query = query.where(AuditEvent.created_at >= local_midnight(filters.since, zone))
    if filters.until is not None:
        query = query.where(AuditEvent.created_at < local_midnight(filters.until + timedelta(days=1), zone))
    return query


def _entries(filters: AuditFilters):
    query = select(AuditEvent, User.name).outerjoin(User, User.id == AuditEvent.actor_id)
    return _filtered(query, filters).order_by(col(AuditEvent.created_at).desc(), col(AuditEvent.id).desc())


def page(session: Session, filters: AuditFilters, per_page: int) -> AuditPage:
    """One page of matching entries (two queries); a page past the end shows the last one."""
    total = session.exec(_filtered(select(func.count()).select_from(AuditEvent), filters)).one()
    pages = max(1, -(-total // per_page))
    number = min(filters.page, pages)
    rows = session.exec(_entries(filters).offset((number - 1) * per_page).limit(per_page)).all()
    return AuditPage(rows=[(event, name) for event, name in rows], total=total, page=number, pages=pages)


def every_entry(session: Session, filters: AuditFilters) -> Iterator[tuple[AuditEvent, str | None]]:
    """Every matching entry, newest first, streamed in batches (for the CSV export)."""
    yield from session.exec(_entries(filters).execution_options(yield_per=1000))
