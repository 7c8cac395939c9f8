"""A small, fully known month of walkabouts for the report tests (last calendar month)."""

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from walkabout.db import session_scope
from walkabout.models import ActionStatus, ConcernKind, Role, WalkaboutStatus
from walkabout.periods import add_months

ZONE = ZoneInfo("Europe/London")


def local(day, hour=10) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=ZONE).astimezone(UTC)


@dataclass
class SeededMonth:
    key: str
    first_day: object
    secretary: object
    executive: object
    manager: object
    ward: object
    other_ward: object
    held: object
    planned_walkabout: object
    expected: dict


def seed_month(factory) -> SeededMonth:
    """Last month: 4 walkabouts scheduled (2 held, 1 cancelled, 1 never held), known concerns and actions."""
    today = factory.today()
    first = add_months(today, -1)
    secretary = factory.user(Role.BOARD_SECRETARY, name="Priya Patel")
    executive = factory.user(Role.EXECUTIVE, name="Sarah Okafor")
    manager = factory.user(Role.WARD_MANAGER, name="Tom Bennett")
    site = factory.site("Riverside General Hospital")
    ward = factory.ward(site, "Beech Ward", managers=(manager,))
    other_ward = factory.ward(site, "Cedar Ward")
    idle_ward = factory.ward(site, "Elm Ward")  # never visited

    day = first.replace(day=5)
    held = factory.walkabout(
        ward,
        executive,
        start=local(day),
        status=WalkaboutStatus.COMPLETED,
        completed_at=local(day, 11),
        staff_participation={"Staff nurse": 3},
    )
    factory.delivery(held, at=local(day, 11))  # "feedback given today": the one record of feedback
    factory.reschedule(held)
    held_two = factory.walkabout(
        other_ward,
        executive,
        start=local(day + timedelta(days=3)),
        status=WalkaboutStatus.COMPLETED,
        completed_at=local(day + timedelta(days=3), 11),
    )
    factory.walkabout(
        ward,
        executive,
        start=local(day + timedelta(days=8)),
        status=WalkaboutStatus.CANCELLED,
        cancel_reason="Ward closed for an outbreak.",
    )
    planned = factory.walkabout(other_ward, executive, start=local(day + timedelta(days=10)))

    at = local(day, 10)
    extreme = factory.categorised_concern(
        held, "Environment", "Sluice room door lock is broken", 5, 4, created_at=at
    )
    high = factory.categorised_concern(
        held, "Equipment", "Only one working bladder scanner", 3, 3, created_at=at
    )
    low = factory.categorised_concern(
        held_two,
        "Infection prevention",
        "Hand gel dispensers empty",
        1,
        2,
        created_at=local(day + timedelta(days=3)),
    )
    factory.concern(held, "Safety huddle every morning", kind=ConcernKind.GOOD_PRACTICE, created_at=at)

    # Closed in the month: created day 5, verified day 10 -> 5 days to close.
    factory.action(
        extreme,
        manager,
        due=day + timedelta(days=7),
        status=ActionStatus.VERIFIED,
        description="Replace the sluice lock",
        created_at=at,
        completed_at=local(day + timedelta(days=4)),
        verified_at=local(day + timedelta(days=5)),
    )
    # Overdue at the month's end: due day 12, still open.
    factory.action(
        high, manager, due=day + timedelta(days=7), description="Order a second scanner", created_at=at
    )
    # Open but due next month: not overdue at the month's end.
    factory.action(
        low,
        manager,
        due=add_months(first, 1) + timedelta(days=20),
        description="Refill the gel",
        created_at=local(day + timedelta(days=3)),
    )
    expected = {
        "walkabouts": {
            "planned": 4,
            "held": 2,
            "cancelled": 1,
            "rescheduled": 1,
            "feedback_given": 1,
            "feedback_share": 50,
        },
        "wards": {
            "active": 3,
            "covered": 2,
            "not_visited_90": 1,
            "not_visited": [{"ward": idle_ward.name, "site": site.name}],
        },
        "concerns": {
            "raised": 3,
            "good_practice": 1,
            "by_band": {"low": 1, "moderate": 0, "high": 1, "extreme": 1, "unscored": 0},
        },
        "actions": {
            "opened": 3,
            "completed": 1,
            "verified": 1,
            "overdue": 1,
            "closed": 1,
            "median_days_to_close": 5.0,
        },
    }
    return SeededMonth(
        first.strftime("%Y-%m"),
        first,
        secretary,
        executive,
        manager,
        ward,
        other_ward,
        held,
        planned,
        expected,
    )


def board_pack_rows(app):
    from sqlmodel import select

    from walkabout.models import BoardPack

    with app.app_context(), session_scope(app, write=False) as session:
        return [
            (p.month, p.version, p.status.value, p.id)
            for p in session.exec(select(BoardPack).order_by(BoardPack.id)).all()
        ]
