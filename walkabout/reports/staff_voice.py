"""Staff voice in reporting (issues 18 and 19): staff's priorities fixed, staff-confirmed
fixes, the ward pulse against walkabout exposure and feedback delivered, and the gap
between leaders' and staff's answers. The dashboard, the board pack and the month's
exports all read these functions, so the figures agree everywhere.

Definitions (also printed in the board pack):
- priorities fixed: of the concerns raised in the period that staff chose as priorities
  at read-back, those resolved (every action verified) at the period's end.
- staff-confirmed fixes: the answers to "Did this fix it?" on the ward pages whose
  latest answer was given in the period; the share that say Yes.
- ward pulse: per ward and quarter (up to the period's end), the share of answers
  "agree" or "strongly agree" per statement, only where at least
  rules.PULSE_MIN_RESPONSES devices answered; trust-wide: over the wards shown (so a
  ward's suppressed answers can never be worked out by subtraction).
- leaders' view: the same, from executives' answer sets given at completion (one per
  executive per walkabout), suppressed alike below rules.PULSE_MIN_RESPONSES sets.
- exposure: walkabouts held on the ward (scheduled in the quarter, completed) and
  feedback deliveries to its staff in the quarter, both up to the period's end.
"""

import functools
from dataclasses import dataclass, field
from datetime import date, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from .. import rules
from ..models import (
    Concern,
    ConcernKind,
    FeedbackDelivery,
    FixAnswer,
    LeaderPulseAnswer,
    PulseResponse,
    PulseStatement,
    Site,
    Walkabout,
    WalkaboutStatus,
    Ward,
)
from ..periods import Period, local_midnight
from ..services import status_history
from ..services.pulse import quarter_of
from .figures import cutoff

MAX_QUARTERS = 8
PACK_QUARTERS = 4  # the pack trends the pulse over the last four quarters
STAFF, LEADERS = "staff", "leaders"


def _share(part: int, whole: int) -> int | None:
    return round(100 * part / whole) if whole else None


def priorities_fixed(session: Session, period: Period) -> dict:
    """Staff's priorities raised in the period, and those resolved at its end."""
    rows = session.exec(
        select(Concern.id, Concern.status, Concern.created_at, Concern.updated_at).where(
            Concern.kind == ConcernKind.CONCERN,
            col(Concern.priority).is_(True),
            col(Concern.deleted_at).is_(None),
            Concern.created_at >= period.start_utc,
            Concern.created_at < period.end_utc,
        )
    ).all()
    at_end = status_history.statuses_at(
        session,
        status_history.CONCERN,
        [(ident, status.value, created, updated) for ident, status, created, updated in rows],
        cutoff(period),
    )
    fixed = sum(1 for ident, *_ in rows if at_end.get(ident) == "resolved")
    return {"priorities": len(rows), "fixed": fixed, "share": _share(fixed, len(rows))}


def fix_answer_rows(session: Session, period: Period) -> list[tuple]:
    """(concern id, walkabout id, ward, site, yes, not yet) for answers given in the period."""
    yes = sa.func.coalesce(sa.func.sum(sa.case((col(FixAnswer.fixed).is_(True), 1), else_=0)), 0)
    return list(
        session.exec(
            select(Concern.id, Concern.walkabout_id, Ward.name, Site.name, yes, sa.func.count(FixAnswer.id))
            .join(Concern, Concern.id == FixAnswer.concern_id)
            .join(Walkabout, Walkabout.id == Concern.walkabout_id)
            .join(Ward, Ward.id == Walkabout.ward_id)
            .join(Site, Site.id == Ward.site_id)
            .where(FixAnswer.answered_at >= period.start_utc, FixAnswer.answered_at < period.end_utc)
            .group_by(Concern.id, Concern.walkabout_id, Ward.name, Site.name)
            .order_by(Concern.id)
        ).all()
    )


def confirmed_fixes(session: Session, period: Period) -> dict:
    """Staff's "Did this fix it?" answers of the period: Yes, Not yet, and the Yes share."""
    yes_count = sa.func.coalesce(sa.func.sum(sa.case((col(FixAnswer.fixed).is_(True), 1), else_=0)), 0)
    answers, yes = (
        int(value)
        for value in session.exec(
            select(sa.func.count(FixAnswer.id), yes_count).where(
                FixAnswer.answered_at >= period.start_utc, FixAnswer.answered_at < period.end_utc
            )
        ).one()
    )
    return {"answers": answers, "yes": yes, "not_yet": answers - yes, "share": _share(yes, answers)}


# --- the pulse and the leaders' view -------------------------------------------------


@dataclass
class StatementFigure:
    text: str
    answers: int
    agreeing: int

    @property
    def agree_percent(self) -> int | None:
        return _share(self.agreeing, self.answers)


@dataclass
class Side:
    """Staff's or leaders' answers for one ward (or the trust) in one quarter."""

    responses: int = 0  # staff: devices; leaders: answer sets (executive, walkabout)
    statements: dict[int, StatementFigure] = field(default_factory=dict)

    @property
    def shown(self) -> bool:
        return self.responses >= rules.PULSE_MIN_RESPONSES

    @property
    def agree_percent(self) -> int | None:
        """All statements pooled."""
        if not self.shown:
            return None
        return _share(
            sum(s.agreeing for s in self.statements.values()),
            sum(s.answers for s in self.statements.values()),
        )

    def percent(self, statement_id: int) -> int | None:
        figure = self.statements.get(statement_id)
        return figure.agree_percent if self.shown and figure else None


@dataclass
class WardQuarter:
    ward: str
    site: str
    staff: Side = field(default_factory=Side)
    leaders: Side = field(default_factory=Side)
    walkabouts_held: int = 0
    feedback_delivered: int = 0


@dataclass
class Quarter:
    key: str  # "2026-Q4"
    start: date
    end: date  # the last day counted: the quarter's, or the period's if sooner
    wards: list[WardQuarter]
    trust: WardQuarter
    statements: list[tuple[int, str]]  # answered in the quarter, in the administrators' order

    @property
    def label(self) -> str:
        return f"{self.key} (to {self.end.day} {self.end:%B %Y})"

    def gap(self) -> list[dict]:
        """Trust-wide, per statement: staff's and leaders' agree shares and the gap in points."""
        out = []
        for ident, text in self.statements:
            staff, leaders = self.trust.staff.percent(ident), self.trust.leaders.percent(ident)
            gap = None if staff is None or leaders is None else leaders - staff
            out.append({"statement": text, "staff": staff, "leaders": leaders, "gap": gap})
        return out


def _quarter_start(day: date) -> date:
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def _next_quarter(day: date) -> date:
    start = _quarter_start(day)
    return date(start.year + (start.month == 10), (start.month + 2) % 12 + 1, 1)


def quarters(period: Period, count: int | None = None) -> list[tuple[str, date, date]]:
    """(key, first day, day after the last counted) for the quarters of `period` (or, with
    `count`, the `count` quarters ending with the period's last), capped at its end."""
    last = _quarter_start(period.last_day)
    first = _quarter_start(period.start)
    if count is not None:
        first = last
        for _ in range(count - 1):
            first = _quarter_start(first - timedelta(days=1))
    out, start = [], first
    while start <= last:
        out.append((quarter_of(start), start, min(_next_quarter(start), period.end)))
        start = _next_quarter(start)
    return out[-MAX_QUARTERS:]


def _side_selects(model, side: str, unit: tuple) -> list:
    """For one side (answers before :end in the quarters :keys): (side, quarter, ward,
    statement, answers, agreeing) per quarter, ward and statement, and (side, quarter, ward,
    None, responses, None) per quarter and ward, a response being one distinct `unit`. One
    read of the answers (a CTE) serves both."""
    answered = (
        select(model.quarter, model.ward_id, model.statement_id, model.score, *unit)
        .where(
            col(model.quarter).in_(sa.bindparam("keys", expanding=True)),
            model.answered_at < sa.bindparam("end"),
        )
        .cte(f"{side}_answers")
    )
    name = sa.literal(side, sa.String)
    nothing = sa.cast(sa.null(), sa.Integer)
    agreeing = sa.func.coalesce(
        sa.func.sum(sa.case((answered.c.score >= rules.PULSE_AGREE_FROM, 1), else_=0)), 0
    )
    where = (answered.c.quarter, answered.c.ward_id)
    units = select(*where, *[answered.c[column.key] for column in unit]).distinct().subquery()
    return [
        select(name, *where, answered.c.statement_id, sa.func.count(), agreeing).group_by(
            *where, answered.c.statement_id
        ),
        select(name, units.c.quarter, units.c.ward_id, nothing, sa.func.count(), nothing).group_by(
            units.c.quarter, units.c.ward_id
        ),
    ]


# Built once (it is the same whatever the quarters): only its parameters change.
_ANSWERS = sa.union_all(
    *_side_selects(PulseResponse, STAFF, (PulseResponse.device,)),
    *_side_selects(LeaderPulseAnswer, LEADERS, (LeaderPulseAnswer.walkabout_id, LeaderPulseAnswer.user_id)),
)


def _answer_rows(session: Session, keys: list[str], end_utc) -> dict[str, list[tuple]]:
    """Staff's and leaders' (quarter, ward, statement, number, agreeing) rows (_side_selects), in
    one statement: {STAFF: [...], LEADERS: [...]}."""
    out: dict[str, list[tuple]] = {STAFF: [], LEADERS: []}
    for side, *row in session.exec(_ANSWERS, params={"keys": keys, "end": end_utc}).all():
        out[side].append(tuple(row))
    return out


def _fill(side_of, rows: list[tuple], texts: dict[int, str]) -> None:
    for quarter, ward_id, statement_id, number, agreeing in rows:
        side = side_of(quarter, ward_id)
        if statement_id is None:
            side.responses = int(number)
        else:
            side.statements[statement_id] = StatementFigure(texts[statement_id], int(number), int(agreeing))


@functools.cache
def _exposure_statement(quarters: int):
    """Walkabouts held and feedback deliveries per quarter and ward, for `quarters` quarters whose
    keys and bounds are the parameters key<i>, lo<i> and hi<i>: built once per number of quarters."""

    def counted(name: str, moment, ward, *where):
        bucket = sa.case(
            *[
                (
                    sa.and_(moment >= sa.bindparam(f"lo{i}"), moment < sa.bindparam(f"hi{i}")),
                    sa.bindparam(f"key{i}", type_=sa.String),
                )
                for i in range(quarters)
            ],
            else_=None,
        )
        # Grouped outside a subquery: PostgreSQL cannot match a CASE with bound parameters in GROUP BY.
        inner = (
            select(bucket.label("quarter"), ward.label("ward_id"))
            .where(*where, moment >= sa.bindparam("lo0"), moment < sa.bindparam(f"hi{quarters - 1}"))
            .subquery()
        )
        return select(
            sa.literal(name, sa.String), inner.c.quarter, inner.c.ward_id, sa.func.count()
        ).group_by(inner.c.quarter, inner.c.ward_id)

    held = counted(
        "held",
        col(Walkabout.scheduled_start),
        Walkabout.ward_id,
        Walkabout.status == WalkaboutStatus.COMPLETED,
    )
    return sa.union_all(
        held, counted("delivered", col(FeedbackDelivery.delivered_at), FeedbackDelivery.ward_id)
    )


def _exposure(session: Session, bounds: list[tuple[str, object, object]]) -> dict[str, dict]:
    """{"held": {(quarter, ward id): walkabouts held}, "delivered": {...: feedback deliveries}}
    whose moment falls in one of `bounds`, in one statement."""
    params = {}
    for i, (key, lo, hi) in enumerate(bounds):
        params |= {f"key{i}": key, f"lo{i}": lo, f"hi{i}": hi}
    out: dict[str, dict] = {"held": {}, "delivered": {}}
    for name, key, ward_id, number in session.exec(_exposure_statement(len(bounds)), params=params).all():
        if key is not None:
            out[name][key, ward_id] = int(number)
    return out


def _pooled(parts: list[Side]) -> Side:
    """The trust's side: the sum over the wards shown."""
    total = Side()
    for side in parts:
        if not side.shown:
            continue
        total.responses += side.responses
        for ident, figure in side.statements.items():
            pooled = total.statements.setdefault(ident, StatementFigure(figure.text, 0, 0))
            pooled.answers += figure.answers
            pooled.agreeing += figure.agreeing
    return total


def pulse_quarters(session: Session, period: Period, count: int | None = None) -> list[Quarter]:
    """Each quarter's pulse, leaders' view and exposure per ward (wards with any answers)
    and trust-wide, suppressed below rules.PULSE_MIN_RESPONSES on either side. A fixed
    number of queries, however many quarters."""
    spans = quarters(period, count)
    bounds = [
        (key, local_midnight(start, period.zone), local_midnight(end, period.zone))
        for key, start, end in spans
    ]
    keys = [key for key, *_ in spans]
    ordered = session.exec(
        select(PulseStatement.id, PulseStatement.text).order_by(PulseStatement.sort_order, PulseStatement.id)
    ).all()
    texts = dict(ordered)
    names = {
        ward_id: (ward, site)
        for ward_id, ward, site in session.exec(
            select(Ward.id, Ward.name, Site.name).join(Site, Site.id == Ward.site_id)
        ).all()
    }
    by_ward: dict[tuple[str, int], WardQuarter] = {}

    def ward_of(quarter: str, ward_id: int) -> WardQuarter:
        if (quarter, ward_id) not in by_ward:
            by_ward[quarter, ward_id] = WardQuarter(*names[ward_id])
        return by_ward[quarter, ward_id]

    rows = _answer_rows(session, keys, period.end_utc)
    _fill(lambda q, w: ward_of(q, w).staff, rows[STAFF], texts)
    _fill(lambda q, w: ward_of(q, w).leaders, rows[LEADERS], texts)
    exposure = _exposure(session, bounds)
    held, delivered = exposure["held"], exposure["delivered"]
    out = []
    for key, start, end in spans:
        wards = []
        for (quarter, ward_id), entry in by_ward.items():
            if quarter == key:
                entry.walkabouts_held = held.get((key, ward_id), 0)
                entry.feedback_delivered = delivered.get((key, ward_id), 0)
                wards.append(entry)
        wards.sort(key=lambda w: (w.ward, w.site))
        trust = WardQuarter(
            "All wards",
            "",
            _pooled([w.staff for w in wards]),
            _pooled([w.leaders for w in wards]),
            sum(n for (q, _w), n in held.items() if q == key),
            sum(n for (q, _w), n in delivered.items() if q == key),
        )
        answered = {i for w in wards for side in (w.staff, w.leaders) if side.shown for i in side.statements}
        statements = [(ident, text) for ident, text in ordered if ident in answered]
        out.append(Quarter(key, start, end - timedelta(days=1), wards, trust, statements))
    return out


def _plain_side(side: Side, statements: list[tuple[int, str]] | None) -> dict:
    out = {
        "shown": side.shown,
        "responses": side.responses if side.shown else None,  # never a count below the minimum
        "answered": side.responses > 0,  # "no answers" says nothing about anyone
        "agree_percent": side.agree_percent,
    }
    if statements is not None:
        out["statements"] = [side.percent(ident) for ident, _text in statements]
    return out


def _plain_ward(entry: WardQuarter, statements: list[tuple[int, str]] | None) -> dict:
    return {
        "ward": entry.ward,
        "site": entry.site,
        "walkabouts_held": entry.walkabouts_held,
        "feedback_delivered": entry.feedback_delivered,
        "staff": _plain_side(entry.staff, statements),
        "leaders": _plain_side(entry.leaders, statements),
    }


def plain(quarter: Quarter, by_statement: bool = True) -> dict:
    """A quarter as plain data (kept with the pack's figures, read by the templates); without
    `by_statement`, the sides have no "statements" (the dashboard shows each ward's pooled share)."""
    statements = quarter.statements if by_statement else None
    return {
        "key": quarter.key,
        "label": quarter.label,
        "statements": [text for _ident, text in quarter.statements],
        "wards": [_plain_ward(entry, statements) for entry in quarter.wards],
        "trust": _plain_ward(quarter.trust, statements),
        "gap": quarter.gap(),
    }


def figures(session: Session, period: Period, count: int | None = None, by_statement: bool = True) -> dict:
    """Every staff-voice figure of `period`, as plain data (for the dashboard and the pack)."""
    return {
        "priorities": priorities_fixed(session, period),
        "fixes": confirmed_fixes(session, period),
        "pulse": [plain(quarter, by_statement) for quarter in pulse_quarters(session, period, count)],
        "min_responses": rules.PULSE_MIN_RESPONSES,
    }


# --- the month's exports ----------------------------------------------------------------


def _fewer(side: Side):
    return side.responses if side.shown else f"fewer than {rules.PULSE_MIN_RESPONSES}"


def export_tables(session: Session, period: Period) -> dict[str, list[dict]]:
    """The staff-voice rows of the month's CSV and workbook: staff's answers per concern,
    and per ward and quarter the pulse's responses and exposure (`ward_quarter`) with
    each statement's answers and agreeing on each side shown (`pulse`); nothing of a side
    below rules.PULSE_MIN_RESPONSES but the words "fewer than 5"."""
    answers = [
        {
            "record_type": "staff_answers",
            "id": concern_id,
            "concern_id": concern_id,
            "walkabout_id": walkabout_id,
            "in_month": "yes",
            "site": site,
            "ward": ward,
            "fix_yes": int(yes),
            "fix_not_yet": int(total) - int(yes),
        }
        for concern_id, walkabout_id, ward, site, yes, total in fix_answer_rows(session, period)
    ]
    pulse = []
    for quarter in pulse_quarters(session, period, PACK_QUARTERS):
        for entry in quarter.wards:
            place = {"quarter": quarter.key, "site": entry.site, "ward": entry.ward}
            pulse.append(
                {
                    "record_type": "ward_quarter",
                    **place,
                    "staff_responses": _fewer(entry.staff),
                    "leader_sets": _fewer(entry.leaders),
                    "walkabouts_held": entry.walkabouts_held,
                    "feedback_delivered": entry.feedback_delivered,
                }
            )
            for name, side in ((STAFF, entry.staff), (LEADERS, entry.leaders)):
                if not side.shown:
                    continue
                for figure in side.statements.values():
                    pulse.append(
                        {
                            "record_type": "pulse",
                            **place,
                            "pulse_side": name,
                            "text": figure.text,
                            "answers": figure.answers,
                            "agreeing": figure.agreeing,
                        }
                    )
    return {"staff_answers": answers, "pulse": pulse}
