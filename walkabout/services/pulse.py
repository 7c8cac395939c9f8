"""The ward pulse (issue 18): ward staff rate the administrators' statements on a 5-point
agree scale from their ward page, anonymously, once per device per quarter. Results per
ward and quarter exist only from rules.PULSE_MIN_RESPONSES responses."""

from dataclasses import dataclass
from datetime import date

from sqlalchemy import case
from sqlmodel import Session, col, func, select

from .. import rules
from ..db_types import utcnow
from ..models import PulseResponse, PulseStatement, Ward
from . import Conflict, ServiceError, throttle
from .feedback import ward_by_token
from .staff_voice import ANSWER_WINDOW, TooManyAnswers, valid_device

TOO_MANY = "Too many answers from this network in the last hour. Thank you: try again later."
FIELD_PREFIX = "statement-"  # the form field of statement 7 is "statement-7"


def quarter_of(day: date) -> str:
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def statements(session: Session) -> list[PulseStatement]:
    """The active statements, in the administrators' order."""
    return list(
        session.exec(
            select(PulseStatement)
            .where(PulseStatement.active)
            .order_by(PulseStatement.sort_order, PulseStatement.id)
        ).all()
    )


def has_answered(session: Session, ward: Ward, device: str | None, quarter: str) -> bool:
    if not valid_device(device):
        return False
    return (
        session.exec(
            select(PulseResponse.id).where(
                PulseResponse.ward_id == ward.id,
                PulseResponse.quarter == quarter,
                PulseResponse.device == device,
            )
        ).first()
        is not None
    )


def parse_scores(form: dict[str, str], active: list[PulseStatement]) -> dict[int, int]:
    """The posted rating of every active statement; ServiceError for anything off the scale,
    a statement missing, or a field for one that is not asked."""
    asked = {statement.id for statement in active}
    scores: dict[int, int] = {}
    for name, value in form.items():
        if not name.startswith(FIELD_PREFIX):
            continue
        ident = name[len(FIELD_PREFIX) :]
        if not (ident.isascii() and ident.isdigit()) or int(ident) not in asked:
            raise ServiceError("That statement is not in this quarter's pulse. Reload the page.")
        if not (value.isascii() and value.isdigit()) or int(value) not in rules.PULSE_SCALE:
            raise ServiceError("Choose one of the five answers for each statement.")
        scores[int(ident)] = int(value)
    if not active:
        raise ServiceError("There is no pulse to answer at the moment.")
    if set(scores) != asked:
        raise ServiceError("Choose an answer for every statement.")
    return scores


def answer(
    session: Session, token: str, device: str, form: dict[str, str], address: str | None, today: date
) -> None:
    """Record one device's pulse for the ward this quarter (a second one is refused)."""
    ward = ward_by_token(session, token)
    scores = parse_scores(form, statements(session))
    quarter = quarter_of(today)
    if not valid_device(device):
        raise ServiceError("This device has no answer cookie.")
    key = f"pulse_answers:{ward.id}:{(address or 'unknown')[:100]}"
    if not throttle.within_rate(session, key, rules.FIX_ANSWERS_PER_HOUR, ANSWER_WINDOW):
        raise TooManyAnswers(
            "Too many answers from this network in the last hour. Thank you: try again later."
        )
    if has_answered(session, ward, device, quarter):
        raise Conflict("This device has already answered this quarter's pulse. Thank you.")
    now = utcnow()
    for statement_id, score in scores.items():
        session.add(
            PulseResponse(
                ward_id=ward.id,
                statement_id=statement_id,
                quarter=quarter,
                device=device,
                score=score,
                answered_at=now,
            )
        )
    session.flush()


@dataclass(frozen=True)
class StatementResult:
    text: str
    agree_percent: int  # of the answers, "agree" or "strongly agree"
    mean: float


@dataclass(frozen=True)
class PulseResult:
    """A ward's pulse in one quarter: `statements` empty unless `shown` (enough responses)."""

    quarter: str
    responses: int  # devices that answered
    statements: list[StatementResult]

    @property
    def shown(self) -> bool:
        return self.responses >= rules.PULSE_MIN_RESPONSES


def results(session: Session, ward_id: int, quarter: str) -> PulseResult:
    """The ward's results for `quarter`, suppressed below rules.PULSE_MIN_RESPONSES."""
    responses = session.exec(
        select(func.count(func.distinct(PulseResponse.device))).where(
            PulseResponse.ward_id == ward_id, PulseResponse.quarter == quarter
        )
    ).one()
    if responses < rules.PULSE_MIN_RESPONSES:
        return PulseResult(quarter, responses, [])
    rows = session.exec(
        select(
            PulseStatement.text,
            func.count(PulseResponse.id),
            func.sum(case((col(PulseResponse.score) >= rules.PULSE_AGREE_FROM, 1), else_=0)),
            func.avg(PulseResponse.score),
        )
        .join(PulseStatement, PulseStatement.id == PulseResponse.statement_id)
        .where(PulseResponse.ward_id == ward_id, PulseResponse.quarter == quarter)
        .group_by(PulseStatement.id, PulseStatement.text, PulseStatement.sort_order)
        .order_by(PulseStatement.sort_order, PulseStatement.id)
    ).all()
    return PulseResult(
        quarter,
        responses,
        [
            StatementResult(text, round(100 * (agreed or 0) / count), round(float(mean), 1))
            for text, count, agreed, mean in rows
            if count
        ],
    )
