"""The board pack's detailed sections: themes, overdue actions, open risks, walkabouts."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import selectinload
from sqlmodel import Session, col, select

from ..models import (
    Action,
    Category,
    Concern,
    ConcernKind,
    ConcernStatus,
    FeedbackDelivery,
    Site,
    StatusChange,
    User,
    Walkabout,
    WalkaboutStatus,
    Ward,
)
from ..periods import Period
from ..services import status_history
from .figures import band_case, cutoff, overdue_condition, overdue_day

TOP_THEMES = 3
MAX_OVERDUE_ROWS = 20
MAX_OPEN_RISKS = 12
HIGH_RISK_SCORE = 7


@dataclass
class WalkaboutNote:
    walkabout: Walkabout
    concerns: int = 0
    good_practice: int = 0
    high_or_extreme: int = 0
    feedback_given: bool = False
    categories: dict[str, int] = field(default_factory=dict)

    @property
    def top_categories(self) -> list[str]:
        ranked = sorted(self.categories.items(), key=lambda item: (-item[1], item[0]))
        return [name for name, _ in ranked[:3]]


def themes(session: Session, period: Period, by_category: list[dict]) -> list[dict]:
    """The most raised categories, each with its highest-risk example of the period."""
    top = [row for row in by_category[:TOP_THEMES] if row["total"]]
    if not top:
        return []
    examples = session.exec(
        select(Category.name, Concern.text, Concern.risk_score)
        .join(Category, Category.id == Concern.category_id)
        .where(
            col(Category.name).in_([row["name"] for row in top]),
            Concern.kind == ConcernKind.CONCERN,
            Concern.created_at >= period.start_utc,
            Concern.created_at < period.end_utc,
            col(Concern.deleted_at).is_(None),
        )
        .order_by(col(Concern.risk_score).desc().nulls_last(), col(Concern.created_at).desc())
        .limit(200)
    ).all()
    first: dict[str, str] = {}
    for name, text, _score in examples:
        first.setdefault(name, text)
    total = sum(row["total"] for row in by_category) or 1
    return [dict(row, share=round(100 * row["total"] / total), example=first.get(row["name"])) for row in top]


def overdue_by_ward_and_owner(session: Session, period: Period) -> tuple[list[dict], int]:
    """Overdue actions at the period's end, counted per ward and owner (most first)."""
    condition = overdue_condition(cutoff(period), overdue_day(period))
    number = sa.func.count(Action.id).label("number")
    rows = session.exec(
        select(Ward.name, Site.name, User.name, number, sa.func.min(Action.due_date))
        .select_from(Action)
        .join(Concern, Concern.id == Action.concern_id)
        .join(Walkabout, Walkabout.id == Concern.walkabout_id)
        .join(Ward, Ward.id == Walkabout.ward_id)
        .join(Site, Site.id == Ward.site_id)
        .join(User, User.id == Action.owner_id)
        .where(condition)
        .group_by(Ward.id, Ward.name, Site.name, User.id, User.name)
        .order_by(number.desc(), Ward.name, User.name)
    ).all()
    entries = [
        dict(ward=ward, site=site, owner=owner, count=count, oldest_due=_as_date(oldest))
        for ward, site, owner, count, oldest in rows
    ]
    return entries[:MAX_OVERDUE_ROWS], len(entries)


def open_high_risks(session: Session, period: Period) -> tuple[list[dict], int, bool]:
    """Concerns scored high or extreme that were open at the period's end (or now, if sooner).

    Returns (the highest listed, how many, available). From the status history; when a
    concern changed status without a recorded time around then, the figure is not
    available (False) and the list shows the concerns as they stand now instead."""
    moment = cutoff(period)
    rows = session.exec(
        select(
            Concern.id,
            Concern.status,
            Concern.created_at,
            Concern.updated_at,
            Concern.text,
            Concern.risk_score,
            band_case(col(Concern.risk_score)),
            Ward.name,
            Site.name,
            sa.func.coalesce(Category.name, "Uncategorised"),
        )
        .join(Walkabout, Walkabout.id == Concern.walkabout_id)
        .join(Ward, Ward.id == Walkabout.ward_id)
        .join(Site, Site.id == Ward.site_id)
        .outerjoin(Category, Category.id == Concern.category_id)
        .where(
            Concern.kind == ConcernKind.CONCERN,
            col(Concern.risk_score) >= HIGH_RISK_SCORE,
            Concern.created_at < moment,
            sa.or_(col(Concern.deleted_at).is_(None), col(Concern.deleted_at) >= moment),
            sa.or_(Concern.status == ConcernStatus.OPEN, sa.not_(_settled_before(moment))),
        )
        .order_by(col(Concern.risk_score).desc(), col(Concern.created_at).desc())
    ).all()
    statuses = status_history.statuses_at(
        session, status_history.CONCERN, [(r[0], r[1], r[2], r[3]) for r in rows], moment
    )
    available = None not in statuses.values()
    if available:
        chosen = [r for r in rows if statuses[r[0]] == ConcernStatus.OPEN.value]
    else:
        chosen = [r for r in rows if r[1] == ConcernStatus.OPEN]
    risks = [
        dict(text=text, score=score, band=band, raised=raised, ward=ward, site=site, category=category)
        for _id, _status, raised, _updated, text, score, band, ward, site, category in chosen[:MAX_OPEN_RISKS]
    ]
    return risks, len(chosen), available


def _settled_before(moment) -> sa.ColumnElement:
    """The concern's last status change came before `moment` and left it in the status it has now:
    statuses_at then gives that status at `moment`, so a concern not open now was not open then
    (one index probe; the history of the others is read in Python)."""
    last = (
        select(sa.and_(StatusChange.changed_at < moment, StatusChange.to_status == Concern.status))
        .where(StatusChange.entity_type == status_history.CONCERN, StatusChange.entity_id == Concern.id)
        .order_by(col(StatusChange.changed_at).desc(), col(StatusChange.id).desc())
        .limit(1)
        .scalar_subquery()
    )
    return sa.func.coalesce(last, False)


def walkabout_notes(session: Session, period: Period) -> list[WalkaboutNote]:
    """Each walkabout scheduled in the period, with what it found (two queries)."""
    walkabouts = session.exec(
        select(Walkabout)
        .where(
            Walkabout.scheduled_start >= period.start_utc,
            Walkabout.scheduled_start < period.end_utc,
            col(Walkabout.status).in_((WalkaboutStatus.COMPLETED, WalkaboutStatus.CANCELLED)),
        )
        .options(selectinload(Walkabout.ward).selectinload(Ward.site), selectinload(Walkabout.lead))
        .order_by(Walkabout.scheduled_start, Walkabout.id)
    ).all()
    notes = {walkabout.id: WalkaboutNote(walkabout) for walkabout in walkabouts}
    if not notes:
        return []
    rows = session.exec(
        select(
            Concern.walkabout_id,
            Concern.kind,
            Category.name,
            sa.func.count(),
            sa.func.sum(sa.case((col(Concern.risk_score) >= HIGH_RISK_SCORE, 1), else_=0)),
        )
        .outerjoin(Category, Category.id == Concern.category_id)
        .where(col(Concern.walkabout_id).in_(list(notes)), col(Concern.deleted_at).is_(None))
        .group_by(Concern.walkabout_id, Concern.kind, Category.name)
    ).all()
    per_category: dict[int, dict[str, int]] = defaultdict(dict)
    for walkabout_id, kind, category, number, high in rows:
        note = notes[walkabout_id]
        if kind == ConcernKind.GOOD_PRACTICE:
            note.good_practice += number
            continue
        note.concerns += number
        note.high_or_extreme += int(high or 0)
        per_category[walkabout_id][category or "Uncategorised"] = number
    for walkabout_id, categories in per_category.items():
        notes[walkabout_id].categories = categories
    fed_back = select(FeedbackDelivery.walkabout_id).where(
        col(FeedbackDelivery.walkabout_id).in_(list(notes))
    )
    for walkabout_id in session.exec(fed_back).all():
        notes[walkabout_id].feedback_given = True
    return list(notes.values())


def _as_date(value) -> date:
    return date.fromisoformat(value) if isinstance(value, str) else value
