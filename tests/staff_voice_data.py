"""Staff voice on top of report_data.seed_month: priorities, staff's "did this fix it?"
answers, a ward pulse at the minimum on Beech Ward and below it on Cedar Ward, and leaders'
answer sets (five on Beech Ward, one on Cedar Ward), all in the seeded month."""

from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import select

from walkabout import rules
from walkabout.db import session_scope
from walkabout.models import (
    Concern,
    ConcernStatus,
    FixAnswer,
    LeaderPulseAnswer,
    PulseResponse,
    PulseStatement,
    Role,
    Walkabout,
)
from walkabout.services.pulse import quarter_of

from .report_data import local

HOSTILE_STATEMENT = '=HYPERLINK("http://evil.example") <script>alert(1)</script> leaders act'


@dataclass
class StaffVoice:
    quarter: str
    statements: list[int]  # [hostile, plain]


def seed_staff_voice(app, factory, month) -> StaffVoice:
    day = month.first_day.replace(day=12)
    quarter = quarter_of(day)
    leaders = [month.executive] + [
        factory.user(Role.EXECUTIVE, name=f"Leader {n}") for n in range(rules.PULSE_MIN_RESPONSES)
    ]
    with app.app_context(), session_scope(app) as session:
        for statement in session.exec(select(PulseStatement)).all():
            statement.active = False
        hostile = PulseStatement(text=HOSTILE_STATEMENT, sort_order=100)
        plain = PulseStatement(text="I would feel safe being treated here", sort_order=101)
        session.add_all([hostile, plain])
        session.flush()
        ids = [hostile.id, plain.id]
        # Beech: 5 devices (shown); hostile statement 3 of 5 agree, plain 5 of 5.
        for n in range(rules.PULSE_MIN_RESPONSES):
            for ident, score in ((hostile.id, 4 if n < 3 else 2), (plain.id, 5)):
                session.add(
                    PulseResponse(
                        ward_id=month.ward.id,
                        statement_id=ident,
                        quarter=quarter,
                        device=f"beech-device-{n:010d}xx",
                        score=score,
                        answered_at=local(day, 9 + n),
                    )
                )
        # Cedar: 3 devices (suppressed).
        for n in range(3):
            for ident in ids:
                session.add(
                    PulseResponse(
                        ward_id=month.other_ward.id,
                        statement_id=ident,
                        quarter=quarter,
                        device=f"cedar-device-{n:010d}xx",
                        score=1,
                        answered_at=local(day, 9 + n),
                    )
                )
        held = session.get(Walkabout, month.held.id)
        other = session.exec(
            select(Walkabout).where(
                Walkabout.ward_id == month.other_ward.id, Walkabout.completed_at.is_not(None)
            )
        ).first()
        # Beech: five leaders' answer sets on the held walkabout (all agree with both).
        for leader in leaders[: rules.PULSE_MIN_RESPONSES]:
            for ident in ids:
                session.add(
                    LeaderPulseAnswer(
                        walkabout_id=held.id,
                        user_id=leader.id,
                        ward_id=held.ward_id,
                        statement_id=ident,
                        quarter=quarter,
                        score=5,
                        answered_at=local(day, 11),
                    )
                )
        for ident in ids:  # Cedar: one set (suppressed)
            session.add(
                LeaderPulseAnswer(
                    walkabout_id=other.id,
                    user_id=month.executive.id,
                    ward_id=other.ward_id,
                    statement_id=ident,
                    quarter=quarter,
                    score=4,
                    answered_at=local(day, 11),
                )
            )
        concerns = session.exec(
            select(Concern)
            .where(Concern.walkabout_id == held.id, Concern.kind == "concern")
            .order_by(Concern.id)
        ).all()
        lock, scanner = concerns[0], concerns[1]
        lock.priority = scanner.priority = True
        lock.status = ConcernStatus.RESOLVED
        lock.updated_at = local(day)
        for n, fixed in enumerate((True, True, True, False)):
            session.add(
                FixAnswer(
                    concern_id=lock.id,
                    device=f"fix-device-{n:011d}x",
                    fixed=fixed,
                    answered_at=local(day + timedelta(days=1), 9),
                )
            )
    return StaffVoice(quarter, ids)
