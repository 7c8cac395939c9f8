"""The perception gap (issue 18 part 4): when executives complete a walkabout they answer the
ward pulse statements for that ward as they believe its staff would. One answer set per
executive on the walkabout's team per walkabout, counted in the quarter the walkabout was
completed, and changeable by that executive until that quarter ends (then the quarter's
comparison with staff's pulse is settled)."""

from datetime import date

from sqlmodel import Session, delete, select

from ..db_types import utcnow
from ..models import LeaderPulseAnswer, User, Walkabout, WalkaboutStatus
from ..timeutil import to_local
from . import Conflict, ServiceError, audit
from .capture import require_team
from .pulse import FIELD_PREFIX, parse_scores, quarter_of, statements

QUARTER_CLOSED = "The quarter this walkabout was completed in has ended, so its answers can no longer change."


def walkabout_quarter(walkabout: Walkabout) -> str | None:
    """The quarter ("2026-Q4", trust time) a completed walkabout's answers count in."""
    if walkabout.completed_at is None:
        return None
    return quarter_of(to_local(walkabout.completed_at).date())


def can_answer(walkabout: Walkabout, user: User, today: date) -> bool:
    """Whether `user` may give or change their answers on `walkabout` today."""
    try:
        _check(walkabout, user, today)
    except ServiceError:
        return False
    return True


def _check(walkabout: Walkabout, user: User, today: date) -> str:
    require_team(walkabout, user)
    if walkabout.status != WalkaboutStatus.COMPLETED:
        raise Conflict("Answer for the staff when the walkabout is completed.")
    quarter = walkabout_quarter(walkabout)
    if quarter != quarter_of(today):
        raise Conflict(QUARTER_CLOSED)
    return quarter


def has_answers(form: dict[str, str]) -> bool:
    """Whether a posted form carries any pulse answer (the set is optional at completion)."""
    return any(name.startswith(FIELD_PREFIX) and value for name, value in form.items())


def check_answers(session: Session, form: dict[str, str]) -> dict[int, int]:
    """The posted scores (every active statement, on the scale), or ServiceError."""
    return parse_scores({k: v for k, v in form.items() if v}, statements(session))


def own_answers(session: Session, walkabout: Walkabout, user: User) -> dict[int, int]:
    """`user`'s answers on `walkabout`: statement id -> score."""
    return dict(
        session.exec(
            select(LeaderPulseAnswer.statement_id, LeaderPulseAnswer.score).where(
                LeaderPulseAnswer.walkabout_id == walkabout.id, LeaderPulseAnswer.user_id == user.id
            )
        ).all()
    )


def save(
    session: Session,
    user: User,
    walkabout: Walkabout,
    form: dict[str, str],
    today: date,
    ward_id: int | None = None,
) -> None:
    """Record (or replace) `user`'s answer set on the completed `walkabout`. `ward_id` is the
    ward the form was shown for: a form for another ward is refused."""
    quarter = _check(walkabout, user, today)
    if ward_id is not None and ward_id != walkabout.ward_id:
        raise Conflict("This form was for another ward. Reload the page and answer again.")
    scores = check_answers(session, form)
    before = own_answers(session, walkabout, user)
    session.exec(
        delete(LeaderPulseAnswer).where(
            LeaderPulseAnswer.walkabout_id == walkabout.id, LeaderPulseAnswer.user_id == user.id
        )
    )
    now = utcnow()
    for statement_id, score in scores.items():
        session.add(
            LeaderPulseAnswer(
                walkabout_id=walkabout.id,
                user_id=user.id,
                ward_id=walkabout.ward_id,
                statement_id=statement_id,
                quarter=quarter,
                score=score,
                answered_at=now,
            )
        )
    session.flush()
    verb = "leader_pulse_changed" if before else "leader_pulse_given"
    audit.record(session, user, walkabout, verb, {"quarter": quarter, "scores": scores})
