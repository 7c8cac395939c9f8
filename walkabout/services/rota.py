"""The rota helper: a year's walkabouts visiting every ward N times, spread across executives.

The proposal is deterministic (same request and same existing walkabouts give the
same plan), so the page shows it and accepting recomputes and saves it at once.
"""

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy.orm import selectinload
from sqlmodel import Session, select

from ..db_types import utcnow
from ..models import User, Walkabout, WalkaboutStatus, Ward
from ..timeutil import trust_zone
from . import ServiceError, invitations
from .walkabouts import Resolved, WalkaboutDetails, executives, schedule_walkabout

MAX_ROTA = 2000
SEARCH_DAYS = 60


@dataclass
class RotaRequest:
    first_day: date
    visits_per_ward: int
    at: time
    duration_minutes: int = 60
    weekdays: list[int] = field(default_factory=lambda: [0, 1, 2, 3, 4])
    executive_ids: list[int] = field(default_factory=list)
    site_id: int | None = None


@dataclass
class RotaSlot:
    ward: Ward
    lead: User
    start: datetime


def propose_rota(session: Session, request: RotaRequest, today: date) -> list[RotaSlot]:
    """The proposed walkabouts, by date; existing planned walkabouts are worked around."""
    if request.first_day < today:
        raise ServiceError("The rota cannot start in the past.")
    if not 1 <= request.visits_per_ward <= 52:
        raise ServiceError("Visit each ward between 1 and 52 times a year.")
    if not request.weekdays:
        raise ServiceError("Choose at least one day of the week.")
    leads = [
        user for user in executives(session) if not request.executive_ids or user.id in request.executive_ids
    ]
    if request.executive_ids and len(leads) != len(set(request.executive_ids)):
        raise ServiceError("One of the chosen executives does not exist or is no longer active.")
    if not leads:
        raise ServiceError("There are no active executives to lead the walkabouts.")
    wards_query = select(Ward).where(Ward.active).options(selectinload(Ward.site)).order_by(Ward.id)
    if request.site_id:
        wards_query = wards_query.where(Ward.site_id == request.site_id)
    wards = list(session.exec(wards_query).all())
    if not wards:
        raise ServiceError("There are no active wards to visit.")
    if len(wards) * request.visits_per_ward > MAX_ROTA:
        raise ServiceError(f"That is more than {MAX_ROTA} walkabouts. Visit fewer times or choose one site.")

    zone = trust_zone()
    last_day = request.first_day + timedelta(days=365 + SEARCH_DAYS)
    busy_lead, busy_ward = _existing(session, request.first_day, last_day, zone)
    load: Counter[int] = Counter()
    interval = 365 / request.visits_per_ward
    slots = []
    for index, ward in enumerate(wards):
        offset = index * interval / len(wards)
        for k in range(request.visits_per_ward):
            target = request.first_day + timedelta(days=int(offset + k * interval))
            slot = _place(ward, target, request, leads, busy_lead, busy_ward, load, zone)
            if slot is None:
                raise ServiceError(
                    f"No free day found for {ward.name} near {target:%d %b %Y}. "
                    "Add executives or days of the week."
                )
            slots.append(slot)
    slots.sort(key=lambda slot: (slot.start, slot.ward.name))
    return slots


def _place(ward, target, request, leads, busy_lead, busy_ward, load, zone) -> RotaSlot | None:
    for step in range(SEARCH_DAYS):
        day = target + timedelta(days=step)
        if day.weekday() not in request.weekdays or (ward.id, day) in busy_ward:
            continue
        free = [lead for lead in leads if (lead.id, day) not in busy_lead]
        if not free:
            continue
        start = datetime.combine(day, request.at, tzinfo=zone).astimezone(UTC)
        if start < utcnow():
            continue
        lead = min(free, key=lambda user: (load[user.id], user.name))
        load[lead.id] += 1
        busy_lead.add((lead.id, day))
        busy_ward.add((ward.id, day))
        return RotaSlot(ward=ward, lead=lead, start=start)
    return None


def _existing(session: Session, first: date, last: date, zone) -> tuple[set, set]:
    """(lead, day) and (ward, day) pairs already taken by planned or held walkabouts."""
    rows = session.exec(
        select(Walkabout.lead_id, Walkabout.ward_id, Walkabout.scheduled_start)
        .where(Walkabout.status != WalkaboutStatus.CANCELLED)
        .where(Walkabout.scheduled_start >= datetime.combine(first, time.min, tzinfo=zone))
        .where(Walkabout.scheduled_start < datetime.combine(last, time.min, tzinfo=zone))
    ).all()
    busy_lead, busy_ward = set(), set()
    for lead_id, ward_id, start in rows:
        day = start.astimezone(zone).date()
        busy_lead.add((lead_id, day))
        busy_ward.add((ward_id, day))
    return busy_lead, busy_ward


def accept_rota(session: Session, actor: User, request: RotaRequest, today: date) -> list[Walkabout]:
    """Schedule every proposed walkabout, all or nothing."""
    slots = propose_rota(session, request, today)
    created = []
    for slot in slots:
        details = WalkaboutDetails(
            ward_id=slot.ward.id,
            lead_id=slot.lead.id,
            start=slot.start,
            duration_minutes=request.duration_minutes,
        )
        created.append(
            schedule_walkabout(
                session,
                actor,
                details,
                check_clashes=False,
                resolved=Resolved(ward=slot.ward, lead=slot.lead, attendees=[]),
                invite=False,
            )
        )
    invitations.plan_rota(session, created)  # one email per executive, not one per walkabout
    return created


def lead_loads(slots: list[RotaSlot]) -> list[tuple[User, int]]:
    counts = Counter(slot.lead.id for slot in slots)
    leads = {slot.lead.id: slot.lead for slot in slots}
    return sorted(((leads[i], n) for i, n in counts.items()), key=lambda pair: (-pair[1], pair[0].name))
