"""RAG (red, amber, green) status of the board pack's headline figures.

An administrator sets two thresholds per figure; until then the defaults below
apply. The board pack's definitions page states the thresholds in force.
"""

from dataclasses import dataclass

from sqlmodel import Session, select

from ..db_types import utcnow
from ..models import ReportThreshold, User
from . import ServiceError, audit


@dataclass(frozen=True)
class RagFigure:
    label: str
    unit: str  # "%" or "" (a count)
    higher_is_better: bool
    green: int
    amber: int
    high: int  # the largest threshold accepted

    def describe(self, green: int, amber: int) -> str:
        """The rule in words, e.g. "green at 90% or more, amber at 75% or more, else red"."""
        if self.higher_is_better:
            return f"green at {green}{self.unit} or more, amber at {amber}{self.unit} or more, otherwise red"
        return f"green at {green}{self.unit} or fewer, amber at {amber}{self.unit} or fewer, otherwise red"


FIGURES: dict[str, RagFigure] = {
    "held_share": RagFigure("Walkabouts held of those planned", "%", True, 90, 75, 100),
    "coverage_share": RagFigure("Active wards visited within the coverage threshold", "%", True, 90, 70, 100),
    "feedback_share": RagFigure("Concerns fed back to staff within 14 days", "%", True, 80, 60, 100),
    "overdue_actions": RagFigure("Actions overdue at month end", "", False, 5, 15, 10000),
}
STATUS_LABELS = {"green": "Green", "amber": "Amber", "red": "Red"}


def thresholds(session: Session) -> dict[str, tuple[int, int]]:
    """(green, amber) of every figure: the administrator's, else the default."""
    saved = {row.figure: (row.green, row.amber) for row in session.exec(select(ReportThreshold)).all()}
    return {key: saved.get(key, (figure.green, figure.amber)) for key, figure in FIGURES.items()}


def status(key: str, value: float | None, limits: dict[str, tuple[int, int]]) -> str | None:
    """ "green", "amber" or "red" for `value` of figure `key` (None when there is no value)."""
    if value is None:
        return None
    green, amber = limits[key]
    if FIGURES[key].higher_is_better:
        return "green" if value >= green else "amber" if value >= amber else "red"
    return "green" if value <= green else "amber" if value <= amber else "red"


def problem(key: str, green: int | None, amber: int | None) -> str | None:
    """Why these thresholds are refused (out of range or out of order), or None."""
    figure = FIGURES[key]
    unit = figure.unit or ""
    if green is None or amber is None:
        return f"{figure.label}: give both thresholds as whole numbers from 0 to {figure.high}{unit}."
    if not (0 <= green <= figure.high and 0 <= amber <= figure.high):
        return f"{figure.label}: thresholds run from 0 to {figure.high}{unit}."
    if figure.higher_is_better and not amber < green:
        return f"{figure.label}: the amber threshold must be below the green one (higher is better)."
    if not figure.higher_is_better and not green < amber:
        return f"{figure.label}: the green threshold must be below the amber one (fewer is better)."
    return None


def save(session: Session, user: User, values: dict[str, tuple[int | None, int | None]]) -> None:
    """Store every figure's (green, amber); ServiceError naming each refused figure."""
    problems = [p for key in FIGURES if (p := problem(key, *values.get(key, (None, None))))]
    if problems:
        raise ServiceError(" ".join(problems))
    before = thresholds(session)
    for key in FIGURES:
        green, amber = values[key]
        row = session.exec(select(ReportThreshold).where(ReportThreshold.figure == key)).first()
        if row is None:
            row = ReportThreshold(figure=key, green=green, amber=amber)
            session.add(row)
        row.green, row.amber = green, amber
        row.updated_by_id, row.updated_at = user.id, utcnow()
        if before[key] != (green, amber):
            audit.record(
                session,
                user,
                row,
                "updated",
                {"green": [before[key][0], green], "amber": [before[key][1], amber]},
            )
