"""The month's concerns and actions as CSV: one row each, stable columns, Excel-safe.

UTF-8 with a byte order mark (so Excel detects the encoding) and cells that
start with = + - @ (or a tab / carriage return) prefixed with an apostrophe, so a
spreadsheet never runs them as formulas (CSV injection).
"""

import csv
import io

from sqlmodel import Session, col, select

from ..models import Action, Category, Concern, Site, User, Walkabout, Ward, risk_band
from ..periods import Period

COLUMNS = [
    "record_type",
    "id",
    "concern_id",
    "walkabout_id",
    "walkabout_date",
    "site",
    "ward",
    "kind",
    "category",
    "text",
    "likelihood",
    "consequence",
    "risk_score",
    "risk_band",
    "raised_by_role",
    "concern_status",
    "action_owner",
    "action_due_date",
    "action_status",
    "action_priority",
    "created_at",
    "completed_at",
    "verified_at",
]
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value) -> str:
    """The cell as text, with a leading apostrophe when a spreadsheet would read a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def _iso(value) -> str:
    return value.isoformat() if value is not None else ""


def month_csv(session: Session, period: Period) -> bytes:
    """Concerns logged and actions created in `period`, as UTF-8-with-BOM CSV bytes."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)

    def local(moment) -> str:
        return moment.astimezone(period.zone).date().isoformat()

    concern_rows = session.exec(
        select(Concern, Walkabout.scheduled_start, Ward.name, Site.name, Category.name)
        .join(Walkabout, Walkabout.id == Concern.walkabout_id)
        .join(Ward, Ward.id == Walkabout.ward_id)
        .join(Site, Site.id == Ward.site_id)
        .outerjoin(Category, Category.id == Concern.category_id)
        .where(
            Concern.created_at >= period.start_utc,
            Concern.created_at < period.end_utc,
            col(Concern.deleted_at).is_(None),
        )
        .order_by(Concern.created_at, Concern.id)
    ).all()
    for concern, start, ward, site, category in concern_rows:
        band = risk_band(concern.risk_score)
        writer.writerow(
            [
                neutralise(v)
                for v in (
                    "concern",
                    concern.id,
                    concern.id,
                    concern.walkabout_id,
                    local(start),
                    site,
                    ward,
                    concern.kind.value,
                    category,
                    concern.text,
                    concern.likelihood,
                    concern.consequence,
                    concern.risk_score,
                    band.value if band else "",
                    concern.raised_by_role,
                    concern.status.value,
                    "",
                    "",
                    "",
                    "",
                    _iso(concern.created_at),
                    "",
                    "",
                )
            ]
        )
    action_rows = session.exec(
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
        .where(
            Action.created_at >= period.start_utc,
            Action.created_at < period.end_utc,
            col(Action.deleted_at).is_(None),
        )
        .order_by(Action.created_at, Action.id)
    ).all()
    for action, walkabout_id, start, ward, site, category, owner in action_rows:
        writer.writerow(
            [
                neutralise(v)
                for v in (
                    "action",
                    action.id,
                    action.concern_id,
                    walkabout_id,
                    local(start),
                    site,
                    ward,
                    "",
                    category,
                    action.description,
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    owner,
                    action.due_date.isoformat(),
                    action.status.value,
                    action.priority.value,
                    _iso(action.created_at),
                    _iso(action.completed_at),
                    _iso(action.verified_at),
                )
            ]
        )
    return ("\ufeff" + out.getvalue()).encode("utf-8")
