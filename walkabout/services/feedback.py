"""You said, we did: each ward's staff-facing page behind a hard-to-guess,
revocable token (with a QR code), and the record of feedback delivered."""

import hashlib
import io
import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import segno
from sqlalchemy.orm import selectinload
from sqlmodel import Session, col, func, select

from .. import rules
from ..db_types import utcnow
from ..models import (
    ActionStatus,
    Concern,
    ConcernKind,
    ConcernStatus,
    FeedbackDelivery,
    FeedbackKind,
    ReplacedLink,
    User,
    Walkabout,
    WalkaboutStatus,
    Ward,
)
from . import NotFound, ServiceError, audit

TOKEN_BYTES = 24  # 32 URL-safe characters, 192 random bits
AT_THE_WALKABOUT = "At the walkabout"  # completing a walkabout with "feedback given today"
DELIVERY_METHODS = [
    AT_THE_WALKABOUT,
    "Staff huddle",
    "Staff meeting",
    "Noticeboard",
    "Email to the team",
    "Other",
]


def new_public_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def share(session: Session, actor: User, ward: Ward) -> str:
    """Turn sharing on, or give the ward a new link (the old one stops working)."""
    old = ward.public_token
    if old:
        _remember_replaced(session, ward, old)
    ward.public_token = new_public_token()
    audit.record(session, actor, ward, "public_link_regenerated" if old else "public_link_created")
    return ward.public_token


def revoke(session: Session, actor: User, ward: Ward) -> None:
    if ward.public_token is None:
        raise ServiceError("This ward's page is not shared.")
    _remember_replaced(session, ward, ward.public_token)
    ward.public_token = None
    audit.record(session, actor, ward, "public_link_revoked")


REPLACED = "This link was replaced. Ask your ward manager for the ward's new poster or link."


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _remember_replaced(session: Session, ward: Ward, token: str) -> None:
    if session.get(ReplacedLink, _token_hash(token)) is None:
        session.add(ReplacedLink(token_hash=_token_hash(token), ward_id=ward.id))


def qr_svg(url: str) -> bytes:
    """An SVG QR code of `url` (dark modules on white, no script)."""
    out = io.BytesIO()
    segno.make(url, error="m").save(
        out,
        kind="svg",
        scale=8,
        border=2,
        xmldecl=True,
        svgns=True,
        title="QR code of the ward's You said, we did page",
    )
    return out.getvalue()


@dataclass
class PublicItem:
    raised_on: date
    category: str | None
    said: str
    status: str
    done_on_the_day: str | None
    what_we_did: list[str]
    what_we_are_doing: list[str]
    has_final: bool = False
    latest_update: str | None = None  # the latest interim "you said, we did", while no final one
    priority: bool = False  # one of the few items staff said matter most (issue 18)
    concern_id: int | None = None  # for "did this fix it?" (items with final feedback)


@dataclass
class PublicPage:
    ward_name: str
    site_name: str
    items: list[PublicItem]
    since: date


def ward_by_token(session: Session, token: str) -> Ward:
    if not token or len(token) > 64:
        raise NotFound("This link is not valid.")
    ward = session.exec(
        select(Ward).where(Ward.public_token == token, Ward.active).options(selectinload(Ward.site))
    ).first()
    if ward is None:
        if session.get(ReplacedLink, _token_hash(token)) is not None:
            raise NotFound(REPLACED)
        raise NotFound("This link is not valid (any more).")
    return ward


def public_page(
    session: Session, token: str, today: date, zone, days: int = 180, limit: int = 50
) -> PublicPage:
    """The ward's recent concerns, anonymous: what staff said, what was done, where it stands.

    Leaves out everything internal: names, roles of who spoke, risk scores,
    progress notes, due-date reasons, verification and reopening notes.
    """
    ward = ward_by_token(session, token)
    since = today - timedelta(days=days)
    concerns = session.exec(
        select(Concern)
        .join(Walkabout, Walkabout.id == Concern.walkabout_id)
        .where(
            Walkabout.ward_id == ward.id,
            Concern.kind == ConcernKind.CONCERN,
            col(Concern.deleted_at).is_(None),
            Concern.created_at >= datetime.combine(since, time.min, tzinfo=zone),
        )
        .options(
            selectinload(Concern.category),
            selectinload(Concern.actions),
            selectinload(Concern.feedback_updates),
        )
        .order_by(col(Concern.created_at).desc(), col(Concern.id).desc())
        .limit(limit)
    ).all()
    items = [_item(concern, zone) for concern in concerns]  # newest first ...
    # ... within final feedback first, within each status (a stable sort keeps the rest).
    # Staff's priorities come first of all.
    items.sort(key=lambda item: (not item.priority, PUBLIC_STATUSES.index(item.status), not item.has_final))
    return PublicPage(ward_name=ward.name, site_name=ward.site.name, items=items, since=since)


PUBLIC_STATUSES = [
    "Being looked at",
    "In progress",
    "Done, being checked",
    "Done",
    "No further action needed",
]


def _item(concern: Concern, zone) -> PublicItem:
    actions = [a for a in concern.actions if a.deleted_at is None]
    updates = sorted(concern.feedback_updates, key=lambda u: (u.created_at, u.id or 0))
    final = [u.text for u in updates if u.kind == FeedbackKind.FINAL]
    interim = [u.text for u in updates if u.kind == FeedbackKind.INTERIM]
    done = [
        a.closure_note or a.description
        for a in actions
        if a.status in (ActionStatus.COMPLETED, ActionStatus.VERIFIED)
    ]
    doing = [
        a.description for a in actions if a.status not in (ActionStatus.COMPLETED, ActionStatus.VERIFIED)
    ]
    if concern.status == ConcernStatus.NO_ACTION_NEEDED:
        status = "No further action needed"
        if concern.no_action_reason:
            done.append(concern.no_action_reason)
    elif concern.status == ConcernStatus.RESOLVED:
        status = "Done"
    elif actions and not doing:
        status = "Done, being checked"
    elif actions:
        status = "In progress"
    else:
        status = "Being looked at"
    return PublicItem(
        raised_on=concern.created_at.astimezone(zone).date(),
        category=concern.category.name if concern.category else None,
        said=concern.text,
        status=status,
        done_on_the_day=concern.immediate_action,
        what_we_did=final + done,
        what_we_are_doing=doing,
        has_final=bool(final),
        latest_update=interim[-1] if interim and not final else None,
        priority=concern.priority,
        concern_id=concern.id,
    )


# --- feedback delivered ---------------------------------------------------------


def record_delivery(
    session: Session,
    actor: User,
    ward: Ward,
    *,
    delivered_on: date,
    method: str | None,
    notes: str | None,
    walkabout_id: int | None,
    today: date,
    zone,
) -> FeedbackDelivery:
    if delivered_on is None:
        raise ServiceError("Give the date the feedback was delivered.")
    if delivered_on > today:
        raise ServiceError("The delivery date is in the future; record feedback once it has been given.")
    if delivered_on < today - timedelta(days=366):
        raise ServiceError("The delivery date is more than a year ago.")
    if method and method not in DELIVERY_METHODS:
        raise ServiceError("Choose how the feedback was given from the list.")
    notes = (notes or "").strip() or None
    problem = rules.DELIVERY_NOTES.problem(notes or "", required=False)
    if problem:
        raise ServiceError(problem)
    if walkabout_id is not None:
        walkabout = session.get(Walkabout, walkabout_id)
        if walkabout is None or walkabout.ward_id != ward.id:
            raise ServiceError("Choose a walkabout on this ward.")
    when = datetime.combine(delivered_on, time(12, 0), tzinfo=zone) if delivered_on != today else None
    delivery = FeedbackDelivery(
        ward_id=ward.id,
        walkabout_id=walkabout_id,
        method=method or None,
        notes=notes,
        delivered_by_id=actor.id,
        delivered_at=when or datetime.now(zone),
    )
    session.add(delivery)
    audit.record(
        session,
        actor,
        delivery,
        "created",
        {
            "ward_id": ward.id,
            "walkabout_id": walkabout_id,
            "delivered_on": delivered_on,
            "method": method,
        },
    )
    return delivery


def record_walkabout_delivery(
    session: Session, actor: User, walkabout: Walkabout, notes: str | None
) -> FeedbackDelivery:
    """Completing a walkabout with "feedback given today": a delivery now, by the completer."""
    delivery = FeedbackDelivery(
        ward_id=walkabout.ward_id,
        walkabout_id=walkabout.id,
        method=AT_THE_WALKABOUT,
        notes=notes,
        delivered_by_id=actor.id,
        delivered_at=utcnow(),
    )
    session.add(delivery)
    audit.record(
        session, actor, delivery, "created", {"ward_id": walkabout.ward_id, "walkabout_id": walkabout.id}
    )
    return delivery


def walkabout_deliveries(session: Session, walkabout_ids: list[int]) -> dict[int, list[FeedbackDelivery]]:
    """The feedback deliveries recorded for each of `walkabout_ids`, oldest first."""
    found: dict[int, list[FeedbackDelivery]] = {i: [] for i in walkabout_ids}
    if walkabout_ids:
        for delivery in session.exec(
            select(FeedbackDelivery)
            .where(col(FeedbackDelivery.walkabout_id).in_(walkabout_ids))
            .order_by(FeedbackDelivery.delivered_at, FeedbackDelivery.id)
        ).all():
            found[delivery.walkabout_id].append(delivery)
    return found


def recent_walkabouts(session: Session, ward_id: int, limit: int = 12) -> list[Walkabout]:
    return list(
        session.exec(
            select(Walkabout)
            .where(Walkabout.ward_id == ward_id, Walkabout.status == WalkaboutStatus.COMPLETED)
            .order_by(col(Walkabout.scheduled_start).desc())
            .limit(limit)
        ).all()
    )


def deliveries(session: Session, ward_id: int, limit: int = 20) -> list[FeedbackDelivery]:
    return list(
        session.exec(
            select(FeedbackDelivery)
            .where(FeedbackDelivery.ward_id == ward_id)
            .order_by(col(FeedbackDelivery.delivered_at).desc(), col(FeedbackDelivery.id).desc())
            .limit(limit)
        ).all()
    )


@dataclass
class WardFeedbackRow:
    ward: Ward
    last_delivered: datetime | None
    deliveries: int


def wards_overview(session: Session, ward_ids: set[int] | None) -> list[WardFeedbackRow]:
    """Every active ward (or those in `ward_ids`) with its latest feedback delivery."""
    query = select(Ward).where(Ward.active).options(selectinload(Ward.site)).order_by(Ward.name, Ward.id)
    if ward_ids is not None:
        query = query.where(col(Ward.id).in_(ward_ids))
    wards = list(session.exec(query).all())
    stats = {
        ward_id: (last, count)
        for ward_id, last, count in session.exec(
            select(
                FeedbackDelivery.ward_id,
                func.max(FeedbackDelivery.delivered_at),
                func.count(FeedbackDelivery.id),
            ).group_by(FeedbackDelivery.ward_id)
        ).all()
    }
    return [
        WardFeedbackRow(
            ward=ward,
            last_delivered=stats.get(ward.id, (None, 0))[0],
            deliveries=stats.get(ward.id, (None, 0))[1],
        )
        for ward in wards
    ]


def people(session: Session, ids: set[int]) -> dict[int, User]:
    ids = {i for i in ids if i}
    if not ids:
        return {}
    return {user.id: user for user in session.exec(select(User).where(col(User.id).in_(ids))).all()}
