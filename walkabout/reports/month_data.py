"""Every record a month's board pack counts, as plain rows: walkabouts, concerns,
actions and feedback deliveries. The CSV and the Excel workbook are both made
from these rows, so either one reproduces the pack's figures.

Times are given twice: in the trust's zone as `2026-12-01 14:30` (what Excel reads
as a date and time) and in UTC (`..._utc`).
"""

from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from sqlmodel import Session, col, select

from ..models import (
    Action,
    Category,
    Concern,
    ConcernKind,
    FeedbackDelivery,
    Site,
    User,
    Walkabout,
    WalkaboutReschedule,
    Ward,
    risk_band,
)
from ..periods import Period
from ..services import status_history
from .details import HIGH_RISK_SCORE
from .fidelity import open_actions_at_start
from .figures import cutoff, fed_back, overdue_condition, overdue_day
from .month_context import executives, wards
from .staff_voice import export_tables
from .stamps import aware as _aware
from .stamps import stamp


def _in(moment, period: Period) -> bool:
    moment = _aware(moment)
    return moment is not None and period.start_utc <= moment < period.end_utc


def walkabouts(session: Session, period: Period) -> list[dict]:
    """Walkabouts scheduled in the month, and those of the coverage window before its end."""
    days = current_app.config["COVERAGE_THRESHOLD_DAYS"]
    since = min(period.start_utc, period.end_utc - timedelta(days=days))
    original = (
        select(WalkaboutReschedule.walkabout_id, sa.func.min(WalkaboutReschedule.from_start).label("first"))
        .group_by(WalkaboutReschedule.walkabout_id)
        .subquery()
    )
    rows = session.exec(
        select(
            Walkabout,
            Ward.name,
            Site.name,
            User.name,
            User.job_title,
            original.c.first,
            open_actions_at_start(),
            fed_back(),
        )
        .join(Ward, Ward.id == Walkabout.ward_id)
        .join(Site, Site.id == Ward.site_id)
        .join(User, User.id == Walkabout.lead_id)
        .outerjoin(original, original.c.walkabout_id == Walkabout.id)
        .where(Walkabout.scheduled_start >= since, Walkabout.scheduled_start < period.end_utc)
        .order_by(Walkabout.scheduled_start, Walkabout.id)
    ).all()
    out = []
    for walkabout, ward, site, lead, title, first, open_at_start, delivered in rows:
        row = {
            "record_type": "walkabout",
            "id": walkabout.id,
            "walkabout_id": walkabout.id,
            "in_month": "yes" if _in(walkabout.scheduled_start, period) else "no",
            "site": site,
            "ward": ward,
            "walkabout_status": walkabout.status.value,
            "lead": lead,
            "lead_job_title": title or "",
            "lead_id": walkabout.lead_id,
            "feedback_delivered": "yes" if delivered else "no",
            "rescheduled": "yes" if first is not None else "no",
            "cancel_reason": walkabout.cancel_reason or "",
            "text": walkabout.summary_notes or "",
            "open_actions_at_start": int(open_at_start or 0),
            "open_actions_reviewed": "yes" if walkabout.open_actions_reviewed_at else "no",
        }
        stamp(row, "scheduled_start", walkabout.scheduled_start, period.zone)
        stamp(row, "started_at", walkabout.started_at, period.zone)
        stamp(row, "original_start", first, period.zone)
        stamp(row, "open_actions_reviewed_at", walkabout.open_actions_reviewed_at, period.zone)
        out.append(row)
    return out


def concerns(session: Session, period: Period) -> list[dict]:
    """Concerns and good practice logged in the month, with their status at its end; and the
    high and extreme concerns raised earlier that the pack's "still open at month end" may
    count (`in_month` "no"), including those deleted only after the month's end."""
    moment = cutoff(period)
    logged_in_month = sa.and_(
        Concern.created_at >= period.start_utc,
        Concern.created_at < period.end_utc,
        col(Concern.deleted_at).is_(None),
    )
    open_risk_then = sa.and_(
        Concern.kind == ConcernKind.CONCERN,
        col(Concern.risk_score) >= HIGH_RISK_SCORE,
        Concern.created_at < moment,
        sa.or_(col(Concern.deleted_at).is_(None), col(Concern.deleted_at) >= moment),
    )
    first_action = (
        select(sa.func.min(Action.created_at))
        .where(Action.concern_id == Concern.id, col(Action.deleted_at).is_(None))
        .correlate(Concern)
        .scalar_subquery()
    )
    rows = session.exec(
        select(Concern, Walkabout.scheduled_start, Ward.name, Site.name, Category.name, first_action)
        .join(Walkabout, Walkabout.id == Concern.walkabout_id)
        .join(Ward, Ward.id == Walkabout.ward_id)
        .join(Site, Site.id == Ward.site_id)
        .outerjoin(Category, Category.id == Concern.category_id)
        .where(sa.or_(logged_in_month, open_risk_then))
        .order_by(Concern.created_at, Concern.id)
    ).all()
    at_end = status_history.statuses_at(
        session,
        status_history.CONCERN,
        [(c.id, c.status.value, c.created_at, c.updated_at) for c, *_ in rows],
        moment,
    )
    out = []
    for concern, start, ward, site, category, first_action_at in rows:
        band = risk_band(concern.risk_score)
        row = {
            "record_type": "concern",
            "id": concern.id,
            "concern_id": concern.id,
            "walkabout_id": concern.walkabout_id,
            "in_month": "yes" if _in(concern.created_at, period) else "no",
            "walkabout_date": _aware(start).astimezone(period.zone).date().isoformat(),
            "site": site,
            "ward": ward,
            "kind": concern.kind.value,
            "category": category or "",
            "text": concern.text,
            "likelihood": concern.likelihood,
            "consequence": concern.consequence,
            "risk_score": concern.risk_score,
            "risk_band": band.value if band else "",
            "raised_by_role": concern.raised_by_role or "",
            "priority": "yes" if concern.priority else "no",
            "concern_status": concern.status.value,
            "status_at_month_end": at_end.get(concern.id) or "not known",
            "closure_note": concern.no_action_reason or "",
        }
        stamp(row, "created_at", concern.created_at, period.zone)
        stamp(row, "deleted_at", concern.deleted_at, period.zone)
        stamp(row, "first_action_at", first_action_at, period.zone)
        out.append(row)
    return out


def actions(session: Session, period: Period) -> list[dict]:
    """Actions the month's figures count: opened, completed or verified in it, or overdue at its end."""
    start, end = period.start_utc, period.end_utc

    def within(column):
        return sa.and_(column.is_not(None), column >= start, column < end)

    counted = sa.or_(
        within(col(Action.created_at)),
        within(col(Action.completed_at)),
        within(col(Action.verified_at)),
        overdue_condition(cutoff(period), overdue_day(period)),
    )
    rows = session.exec(
        select(
            Action,
            Concern.walkabout_id,
            Walkabout.scheduled_start,
            Ward.name,
            Site.name,
            Category.name,
            User.name,
        )
        .join(Concern, Concern.id == Action.concern_id)
        .join(Walkabout, Walkabout.id == Concern.walkabout_id)
        .join(Ward, Ward.id == Walkabout.ward_id)
        .join(Site, Site.id == Ward.site_id)
        .outerjoin(Category, Category.id == Concern.category_id)
        .join(User, User.id == Action.owner_id)
        .where(col(Action.deleted_at).is_(None), Action.created_at < end, counted)
        .order_by(Action.created_at, Action.id)
    ).all()
    at_end = status_history.statuses_at(
        session,
        status_history.ACTION,
        [(a.id, a.status.value, a.created_at, a.updated_at) for a, *_ in rows],
        cutoff(period),
    )
    out = []
    for action, walkabout_id, visit, ward, site, category, owner in rows:
        row = {
            "record_type": "action",
            "id": action.id,
            "concern_id": action.concern_id,
            "walkabout_id": walkabout_id,
            "in_month": "yes" if _in(action.created_at, period) else "no",
            "walkabout_date": _aware(visit).astimezone(period.zone).date().isoformat(),
            "site": site,
            "ward": ward,
            "category": category or "",
            "text": action.description,
            "action_owner": owner,
            "action_due_date": action.due_date.isoformat(),
            "action_status": action.status.value,
            "action_priority": action.priority.value,
            "status_at_month_end": at_end.get(action.id) or _from_timestamps(action, cutoff(period)),
            "closure_note": action.closure_note or "",
        }
        for name in ("created_at", "completed_at", "verified_at"):
            stamp(row, name, getattr(action, name), period.zone)
        out.append(row)
    return out


def _from_timestamps(action: Action, moment) -> str:
    """An action's status at `moment` when its history cannot tell: closed if it was
    completed (or verified) before then, as the overdue figure counts it; else open."""
    if (
        action.status.value in ("completed", "verified")
        and action.completed_at
        and _aware(action.completed_at) < moment
    ):
        verified = action.verified_at and _aware(action.verified_at) < moment
        return "verified" if verified else "completed"
    return "open"


def feedback(session: Session, period: Period, walkabout_ids: set[int]) -> list[dict]:
    """Feedback deliveries of the month, and those for the walkabouts of its concerns."""
    condition = sa.and_(
        FeedbackDelivery.delivered_at >= period.start_utc, FeedbackDelivery.delivered_at < period.end_utc
    )
    if walkabout_ids:
        condition = sa.or_(condition, col(FeedbackDelivery.walkabout_id).in_(sorted(walkabout_ids)))
    rows = session.exec(
        select(FeedbackDelivery, Ward.name, Site.name)
        .join(Ward, Ward.id == FeedbackDelivery.ward_id)
        .join(Site, Site.id == Ward.site_id)
        .where(condition)
        .order_by(FeedbackDelivery.delivered_at, FeedbackDelivery.id)
    ).all()
    out = []
    for delivery, ward, site in rows:
        row = {
            "record_type": "feedback",
            "id": delivery.id,
            "walkabout_id": delivery.walkabout_id or "",
            "in_month": "yes" if _in(delivery.delivered_at, period) else "no",
            "site": site,
            "ward": ward,
            "method": delivery.method or "",
            "feedback_text": delivery.notes or "",
        }
        stamp(row, "delivered_at", delivery.delivered_at, period.zone)
        out.append(row)
    return out


def month_tables(session: Session, period: Period) -> dict[str, list[dict]]:
    """The month's tables, in the order the exports write them (staff voice last)."""
    concern_rows = concerns(session, period)
    return {
        "walkabouts": walkabouts(session, period),
        "concerns": concern_rows,
        "actions": actions(session, period),
        "feedback": feedback(session, period, {row["walkabout_id"] for row in concern_rows}),
        "wards": wards(session, period),
        "executives": executives(session, period),
        **export_tables(session, period),
    }
