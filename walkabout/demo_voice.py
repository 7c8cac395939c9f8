"""Staff voice in the demo trust (issue 18): staff's priorities at read-back, "did this fix
it?" answers on items with final feedback, a quarterly ward pulse (some wards at or above
rules.PULSE_MIN_RESPONSES a quarter, others below, so suppression shows) and leaders'
answers at completion, more hopeful than staff's, so the board sees a gap."""

import string
from datetime import date, datetime, timedelta

from sqlmodel import select

from . import rules
from .models import (
    ConcernKind,
    ConcernStatus,
    FeedbackKind,
    FixAnswer,
    LeaderPulseAnswer,
    PulseResponse,
    PulseStatement,
    WalkaboutStatus,
)
from .services.pulse import quarter_of

QUARTERS = 4  # the pulse runs for the last four quarters
DEVICE_ALPHABET = string.ascii_letters + string.digits + "-_"


def _device(rng) -> str:
    return "".join(rng.choice(DEVICE_ALPHABET) for _ in range(22))


def _quarters(today: date) -> list[tuple[date, date]]:
    """(first day, day after the last) of the last QUARTERS quarters, the current one last."""
    start = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    out = []
    for _ in range(QUARTERS):
        end = date(start.year + (start.month == 10), (start.month + 2) % 12 + 1, 1)
        out.append((start, end))
        start = date(start.year - (start.month == 1), (start.month - 4) % 12 + 1, 1)
    return out[::-1]


def _priorities(seeder, walkabouts: list[dict], concerns: list[dict]) -> None:
    for concern in concerns:
        concern["priority"] = False
    by_walkabout: dict[int, list[dict]] = {}
    for concern in concerns:
        if concern["kind"] == ConcernKind.CONCERN.value:
            by_walkabout.setdefault(concern["walkabout_id"], []).append(concern)
    for walkabout in walkabouts:
        raised = by_walkabout.get(walkabout["id"], [])
        if walkabout["status"] != WalkaboutStatus.COMPLETED.value or len(raised) < 2:
            continue
        if seeder.rng.random() < 0.7:
            chosen = sorted(raised, key=lambda c: -(c["risk_score"] or 0))[: seeder.rng.choice([2, 3])]
            for concern in chosen:
                concern["priority"] = True


def _fix_answers(seeder, concerns: list[dict], feedback_updates: list[dict]) -> list[dict]:
    finals = {
        u["concern_id"]: u["created_at"] for u in feedback_updates if u["kind"] == FeedbackKind.FINAL.value
    }
    rows = []
    for concern in concerns:
        told = finals.get(concern["id"])
        if told is None or concern["kind"] != ConcernKind.CONCERN.value:
            continue
        fixed_chance = 0.85 if concern["status"] == ConcernStatus.RESOLVED.value else 0.55
        for _ in range(seeder.rng.choice([0, 0, 1, 2, 3, 4, 6])):
            rows.append(
                dict(
                    concern_id=concern["id"],
                    device=_device(seeder.rng),
                    fixed=seeder.rng.random() < fixed_chance,
                    answered_at=min(told + timedelta(days=seeder.rng.randint(1, 20)), seeder.now),
                )
            )
    return rows


def _moment(seeder, start: date, end: date) -> datetime:
    """A weekday moment between `start` and `end` (trust days), never after now."""
    days = max(1, min((end - start).days, (seeder.today - start).days + 1))
    day = start + timedelta(days=seeder.rng.randrange(days))
    return min(seeder._local(day, seeder.rng.randint(7, 19), seeder.rng.choice([0, 15, 30, 45])), seeder.now)


def _pulse(seeder, wards: list[dict], statements: list[int], walkabouts: list[dict], deliveries: list[dict]):
    """Per ward and quarter: staff's pulse (a third of the wards answer enough to be shown),
    agreeing more where feedback was given more often."""
    fed_back = {d["walkabout_id"] for d in deliveries}
    spans = _quarters(seeder.today)
    held_on: dict[tuple[int, date], list[dict]] = {}
    for w in walkabouts:
        if w["status"] == WalkaboutStatus.COMPLETED.value:
            day = w["scheduled_start"].astimezone(seeder.zone).date()
            for start, end in spans:
                if start <= day < end:
                    held_on.setdefault((w["ward_id"], start), []).append(w)
    rows = []
    for index, ward in enumerate(wards):
        for start, end in spans:
            held = held_on.get((ward["id"], start), [])
            share = sum(1 for w in held if w["id"] in fed_back) / len(held) if held else 0.0
            agree = 0.3 + 0.45 * share
            responses = (
                seeder.rng.randint(rules.PULSE_MIN_RESPONSES, 11)
                if index % 3 == 0
                else seeder.rng.randint(0, 4)
            )
            quarter = quarter_of(start)
            for _ in range(responses):
                device, at = _device(seeder.rng), _moment(seeder, start, end)
                for statement in statements:
                    agreed = seeder.rng.random() < agree
                    score = seeder.rng.choice([4, 4, 5]) if agreed else seeder.rng.choice([1, 2, 2, 3, 3])
                    rows.append(
                        dict(
                            ward_id=ward["id"],
                            statement_id=statement,
                            quarter=quarter,
                            device=device,
                            score=score,
                            answered_at=at,
                        )
                    )
    return rows


def _leaders(seeder, wards, statements, walkabouts, attendees, executives) -> list[dict]:
    """Leaders' answer sets at completion for the last four quarters: the team of most
    walkabouts answers; on the pulse wards a third executive joins, so their sets reach the
    minimum in most quarters."""
    first = _quarters(seeder.today)[0][0]
    pulse_wards = {ward["id"] for index, ward in enumerate(wards) if index % 3 == 0}
    team: dict[int, set[int]] = {}
    for row in attendees:
        team.setdefault(row["walkabout_id"], set()).add(row["user_id"])
    rows = []
    for walkabout in walkabouts:
        done = walkabout.get("completed_at")
        if walkabout["status"] != WalkaboutStatus.COMPLETED.value or done is None:
            continue
        day = done.astimezone(seeder.zone).date()
        if day < first:
            continue
        members = team.setdefault(walkabout["id"], set())
        if walkabout["ward_id"] in pulse_wards:
            extra = seeder.rng.choice(executives)
            if extra != walkabout["lead_id"] and extra not in members:
                members.add(extra)
                attendees.append(dict(walkabout_id=walkabout["id"], user_id=extra))
        for user in [walkabout["lead_id"], *sorted(members - {walkabout["lead_id"]})]:
            if seeder.rng.random() > 0.8:
                continue  # the answers are optional
            for statement in statements:
                rows.append(
                    dict(
                        walkabout_id=walkabout["id"],
                        user_id=user,
                        ward_id=walkabout["ward_id"],
                        statement_id=statement,
                        quarter=quarter_of(day),
                        score=seeder.rng.choice([3, 4, 4, 5, 5, 5]),
                        answered_at=done,
                    )
                )
    return rows


def staff_voice(seeder, wards, executives, walkabouts, attendees, concerns, feedback_updates) -> dict:
    """Mark priorities on `concerns` and add leaders' attendees; returns the rows to insert
    after the concerns, by model."""
    _priorities(seeder, walkabouts, concerns)
    statements = list(
        seeder.session.exec(
            select(PulseStatement.id).where(PulseStatement.active).order_by(PulseStatement.sort_order)
        ).all()
    )
    return {
        FixAnswer: _fix_answers(seeder, concerns, feedback_updates),
        PulseResponse: _pulse(seeder, wards, statements, walkabouts, seeder.deliveries),
        LeaderPulseAnswer: _leaders(seeder, wards, statements, walkabouts, attendees, executives),
    }
