"""Reports: months with data, issuing board packs (versioned), the follow-up summary."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import defer, selectinload
from sqlmodel import Session, col, select

from ..db_types import utcnow
from ..models import (
    Action,
    BoardPack,
    BoardPackStatus,
    Concern,
    FeedbackDelivery,
    Photo,
    User,
    Walkabout,
    WalkaboutStatus,
    Ward,
)
from ..periods import Period
from . import Conflict, NotFound, audit
from .access import visible_ward_ids
from .follow_up import PriorityFixRate, priority_fix_rate

STALE_AFTER = timedelta(minutes=15)  # a pack "running" this long died with its process
EARLIER_VISITS = 3


@dataclass
class MonthRow:
    key: str
    label: str
    planned: int
    held: int
    latest: BoardPack | None


def months_with_data(session: Session, zone, today: date) -> list[MonthRow]:
    """Every month up to this one with a walkabout scheduled, newest first, with its latest pack."""
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for start, status in session.exec(select(Walkabout.scheduled_start, Walkabout.status)).all():
        local = start.astimezone(zone).date()
        if local.replace(day=1) <= today:
            entry = counts[local.strftime("%Y-%m")]
            entry[0] += 1
            entry[1] += status == WalkaboutStatus.COMPLETED
    latest = latest_ready_packs(session)
    return [
        MonthRow(key, date.fromisoformat(key + "-01").strftime("%B %Y"), planned, held, latest.get(key))
        for key, (planned, held) in sorted(counts.items(), reverse=True)
    ]


def latest_ready_packs(session: Session) -> dict[str, BoardPack]:
    newest = (
        select(BoardPack.month, sa.func.max(BoardPack.version).label("version"))
        .where(BoardPack.status == BoardPackStatus.READY)
        .group_by(BoardPack.month)
        .subquery()
    )
    packs = session.exec(
        select(BoardPack)
        .options(defer(BoardPack.pdf))
        .join(newest, sa.and_(newest.c.month == BoardPack.month, newest.c.version == BoardPack.version))
    ).all()
    return {pack.month: pack for pack in packs}


def archive(session: Session, limit: int = 200) -> list[BoardPack]:
    """Issued and in-progress packs, newest first, without their PDF bytes."""
    return list(
        session.exec(
            select(BoardPack)
            .options(defer(BoardPack.pdf))
            .order_by(col(BoardPack.month).desc(), col(BoardPack.version).desc())
            .limit(limit)
        ).all()
    )


def requesters(session: Session, packs: list[BoardPack]) -> dict[int, str]:
    ids = {pack.requested_by_id for pack in packs if pack.requested_by_id}
    if not ids:
        return {}
    return dict(session.exec(select(User.id, User.name).where(col(User.id).in_(ids))).all())


def get_pack(session: Session, pack_id: int, with_pdf: bool = False) -> BoardPack:
    query = select(BoardPack).where(BoardPack.id == pack_id)
    if not with_pdf:
        query = query.options(defer(BoardPack.pdf))
    pack = session.exec(query).first()
    if pack is None:
        raise NotFound("That board pack does not exist.")
    return pack


def is_stalled(pack: BoardPack) -> bool:
    """Pending or running for longer than any real build: its process stopped."""
    busy = pack.status in (BoardPackStatus.PENDING, BoardPackStatus.RUNNING)
    return busy and utcnow() - pack.requested_at > STALE_AFTER


def latest_ready_pack(session: Session, month: str, version: int | None = None) -> BoardPack:
    query = select(BoardPack).where(BoardPack.month == month, BoardPack.status == BoardPackStatus.READY)
    if version is not None:
        query = query.where(BoardPack.version == version)
    pack = session.exec(query.order_by(col(BoardPack.version).desc())).first()
    if pack is None:
        raise NotFound(
            f"No board pack has been generated for {date.fromisoformat(month + '-01'):%B %Y} yet."
            if version is None
            else f"There is no version {version} of that board pack."
        )
    return pack


def first_walkabout_day(session: Session, zone) -> date | None:
    """The trust-local day of the first walkabout ever scheduled (None: there are none)."""
    first = session.exec(select(sa.func.min(Walkabout.scheduled_start))).one()
    if first is None:
        return None
    if isinstance(first, str):  # SQLite hands an aggregate back as text
        first = datetime.fromisoformat(first)
    if first.tzinfo is None:
        first = first.replace(tzinfo=UTC)
    return first.astimezone(zone).date()


def check_reportable(session: Session, period: Period) -> None:
    """NotFound when `period` ends before the trust's first walkabout: nothing to report."""
    first = first_walkabout_day(session, period.zone)
    if first is None:
        raise NotFound("No walkabout has been planned yet, so there is no board pack to make.")
    if period.end <= first:
        raise NotFound(
            f"{period.label} is before the first walkabout ({first.day} {first:%B %Y}), "
            "so there is nothing to report for it."
        )


def is_provisional(period: Period) -> bool:
    """The period is not over yet: its pack's figures will still change."""
    return period.end_utc > utcnow()


def newest_pack(session: Session, month: str) -> BoardPack | None:
    """The month's highest version, whatever its status (without its PDF bytes)."""
    return session.exec(
        select(BoardPack)
        .options(defer(BoardPack.pdf))
        .where(BoardPack.month == month)
        .order_by(col(BoardPack.version).desc())
    ).first()


def request_board_pack(
    session: Session, user: User, period: Period, seen_version: int | None = None
) -> tuple[BoardPack, bool]:
    """A new pending version of the month's pack, or the one already being built (double submit).

    `seen_version` is the newest version the requester's page showed: when a newer one
    exists (the same form sent again, e.g. after Back), that one is returned, not a copy.
    Returns (pack, created). The caller commits, then hands the pack to the runner.
    NotFound for a month before the first walkabout.
    """
    check_reportable(session, period)
    month = period.month_key
    in_flight = session.exec(
        select(BoardPack)
        .options(defer(BoardPack.pdf))
        .where(
            BoardPack.month == month,
            col(BoardPack.status).in_((BoardPackStatus.PENDING, BoardPackStatus.RUNNING)),
        )
        .order_by(col(BoardPack.version).desc())
    ).first()
    if in_flight is not None:
        if not is_stalled(in_flight):
            return in_flight, False
        in_flight.status = BoardPackStatus.FAILED
        in_flight.error = "Interrupted: the generating process stopped before it finished."
        audit.record(session, user, in_flight, "failed", {"error": in_flight.error})
    top = session.exec(select(sa.func.max(BoardPack.version)).where(BoardPack.month == month)).one() or 0
    if seen_version is not None and top > seen_version:
        return newest_pack(session, month), False
    pack = BoardPack(month=month, version=top + 1, status=BoardPackStatus.PENDING, requested_by_id=user.id)
    session.add(pack)
    audit.record(session, user, pack, "requested", {"month": month, "version": pack.version})
    return pack, True


# --- the follow-up summary of one walkabout -----------------------------------


@dataclass
class FollowUp:
    walkabout: Walkabout
    concerns_by_category: list[tuple[str, list[Concern]]]
    good_practice: list[Concern]
    actions: list[Action]
    earlier: list[Walkabout]
    photo_ids: set[int]
    deliveries: list[FeedbackDelivery]
    priorities: list[Concern] = field(default_factory=list)  # staff's, chosen at read-back

    @property
    def priority_fix_rate(self) -> PriorityFixRate:
        return priority_fix_rate(self.priorities)

    @property
    def feedback_due_on(self) -> date | None:
        """When staff hear back on the concerns (their feedback due date)."""
        dues = [
            c.feedback_due_on for _, group in self.concerns_by_category for c in group if c.feedback_due_on
        ]
        return min(dues, default=None)


def follow_up(session: Session, user: User, walkabout_id: int) -> FollowUp:
    """What the ward's follow-up summary shows; NotFound if unseen, Conflict until completed."""
    walkabout = session.exec(
        select(Walkabout)
        .where(Walkabout.id == walkabout_id)
        .options(
            selectinload(Walkabout.ward).selectinload(Ward.site),
            selectinload(Walkabout.lead),
            selectinload(Walkabout.attendees),
            selectinload(Walkabout.concerns).selectinload(Concern.category),
            selectinload(Walkabout.concerns).selectinload(Concern.photos),
            selectinload(Walkabout.concerns).selectinload(Concern.actions).selectinload(Action.owner),
            selectinload(Walkabout.concerns).selectinload(Concern.feedback_updates),
        )
    ).first()
    allowed = visible_ward_ids(session, user)
    if walkabout is None or (allowed is not None and walkabout.ward_id not in allowed):
        raise NotFound("That walkabout does not exist, or it is not on one of your wards.")
    if walkabout.status != WalkaboutStatus.COMPLETED:
        raise Conflict(
            "The follow-up summary is available once the walkabout is completed. "
            f"This one is {walkabout.status.replace('_', ' ')}."
        )
    concerns = sorted(
        (c for c in walkabout.concerns if c.deleted_at is None),
        key=lambda c: (not c.priority, -(c.risk_score or 0), c.created_at),
    )
    grouped: dict[str, list[Concern]] = {}
    for concern in concerns:
        if concern.kind == "concern":
            name = concern.category.name if concern.category else "Uncategorised"
            grouped.setdefault(name, []).append(concern)
    earlier = session.exec(
        select(Walkabout)
        .where(
            Walkabout.ward_id == walkabout.ward_id,
            Walkabout.id != walkabout.id,
            Walkabout.status == WalkaboutStatus.COMPLETED,
            Walkabout.scheduled_start < walkabout.scheduled_start,
        )
        .order_by(col(Walkabout.scheduled_start).desc())
        .limit(EARLIER_VISITS)
        .options(selectinload(Walkabout.concerns).selectinload(Concern.actions))
    ).all()
    return FollowUp(
        walkabout=walkabout,
        concerns_by_category=sorted(grouped.items(), key=lambda item: (-len(item[1]), item[0])),
        good_practice=[c for c in concerns if c.kind == "good_practice"],
        actions=sorted(
            (a for c in concerns for a in c.actions if a.deleted_at is None), key=lambda a: (a.due_date, a.id)
        ),
        earlier=list(earlier),
        priorities=[c for c in concerns if c.kind == "concern" and c.priority],
        photo_ids={p.id for c in concerns for p in c.photos if p.deleted_at is None},
        deliveries=list(
            session.exec(
                select(FeedbackDelivery)
                .where(FeedbackDelivery.walkabout_id == walkabout.id)
                .order_by(FeedbackDelivery.delivered_at, FeedbackDelivery.id)
            ).all()
        ),
    )


def photo_thumbnail(session: Session, photo_id: int) -> bytes | None:
    return session.exec(select(Photo.thumbnail).where(Photo.id == photo_id)).first()


def scheduler_pack(session: Session, month: str) -> BoardPack:
    """The scheduler's own version of `month`'s pack (requested by nobody): the ready or
    building one, else a new pending one (a stalled build is marked failed first).

    A pack someone generated by hand during the month may be incomplete, so the
    monthly run makes its own version and sends that.
    """
    own = session.exec(
        select(BoardPack)
        .options(defer(BoardPack.pdf))
        .where(BoardPack.month == month, col(BoardPack.requested_by_id).is_(None))
        .order_by(col(BoardPack.version).desc())
    ).first()
    if own is not None and own.status == BoardPackStatus.RUNNING and is_stalled(own):
        own.status = BoardPackStatus.FAILED  # its process died; build a new version
        own.error = "Interrupted: the scheduler stopped before the pack was finished."
        own = None
    if own is not None and own.status in (
        BoardPackStatus.READY,
        BoardPackStatus.PENDING,
        BoardPackStatus.RUNNING,
    ):
        return own
    top = session.exec(select(sa.func.max(BoardPack.version)).where(BoardPack.month == month)).one() or 0
    pack = BoardPack(month=month, version=top + 1, status=BoardPackStatus.PENDING)
    session.add(pack)
    session.flush()
    return pack
