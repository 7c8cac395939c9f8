"""The board pack's one-page summary: headline figures with their RAG status, the
change from last month and a twelve-month sparkline."""

from flask import current_app
from sqlmodel import Session

from ..periods import Period, month_buckets
from ..services import rag
from . import charts, fidelity, figures

MINUS = "\u2212"


def _share(part: int, whole: int) -> int | None:
    return round(100 * part / whole) if whole else None


def _change(now, before, unit: str) -> str:
    if now is None or before is None:
        return "no figure last month" if before is None else "no figure this month"
    delta = now - before
    if delta == 0:
        return "no change from last month"
    sign = "+" if delta > 0 else MINUS
    return f"{sign}{abs(delta)}{' points' if unit == '%' else ''} on last month"


def loop_figures(session: Session, period: Period) -> dict:
    """The fidelity figures of `period` (for the pack, its summary and the dashboard)."""
    config = current_app.config
    return {
        "feedback": fidelity.feedback_within(session, period),
        "no_action": fidelity.no_action_after(session, period),
        "reschedules": fidelity.reschedules(session, period),
        "out_of_hours": fidelity.out_of_hours(
            session, period, (config["WORKING_DAY_START"], config["WORKING_DAY_END"])
        ),
        "executives": fidelity.executive_shares(session, period),
        "coverage": fidelity.coverage_share(session, period, config["COVERAGE_THRESHOLD_DAYS"]),
        "revisits": fidelity.revisits_reviewed(session, period),
    }


def summary_tiles(session: Session, period: Period, headline: dict, loop: dict, trend: dict) -> list[dict]:
    """Headline figures of the summary page, each with status, change and sparkline."""
    limits = rag.thresholds(session)
    days = current_app.config["COVERAGE_THRESHOLD_DAYS"]
    months = month_buckets(period)
    previous = months[-2]  # the pack's month is a calendar month: this is the one before, and over
    # The trend counted last month's overdue actions by the headline's definition (overdue_condition).
    before = figures.headline(session, previous, trend["actions_overdue"][-2])
    feedback = fidelity.feedback_within_each(session, months)
    coverage = fidelity.coverage_shares(session, months, days)
    before_loop = {"feedback": feedback[-2], "coverage": coverage[-2]}
    w = headline["walkabouts"]
    held_share = _share(w["held"], w["planned"])
    tiles = [
        dict(
            key="held_share",
            label="walkabouts held of those planned",
            value=held_share,
            text=f"{w['held']} of {w['planned']}",
            before=_share(before["walkabouts"]["held"], before["walkabouts"]["planned"]),
            unit="%",
            series=[_share(h, p) for h, p in zip(trend["held"], trend["planned"], strict=True)],
        ),
        dict(
            key="coverage_share",
            label=f"active wards visited in the last {days} days",
            value=loop["coverage"]["share"],
            text=f"{loop['coverage']['visited']} of {loop['coverage']['active']}",
            before=before_loop["coverage"]["share"],
            unit="%",
            series=[month["share"] for month in coverage],
        ),
        dict(
            key="feedback_share",
            label="concerns fed back to staff within 14 days",
            value=loop["feedback"]["share"],
            text=f"{loop['feedback']['within']} of {loop['feedback']['concerns']}",
            before=before_loop["feedback"]["share"],
            unit="%",
            series=[month["share"] for month in feedback],
        ),
        dict(
            key="overdue_actions",
            label="actions overdue at month end",
            value=headline["actions"]["overdue"],
            text=str(headline["actions"]["overdue"]),
            before=before["actions"]["overdue"],
            unit="",
            series=trend["actions_overdue"],
        ),
        dict(
            key=None,
            label="concerns raised",
            value=headline["concerns"]["raised"],
            text=str(headline["concerns"]["raised"]),
            before=before["concerns"]["raised"],
            unit="",
            series=[
                sum(parts)
                for parts in zip(
                    trend["concerns_low_moderate"],
                    trend["concerns_high"],
                    trend["concerns_extreme"],
                    strict=True,
                )
            ],
        ),
    ]
    for tile in tiles:
        tile["status"] = rag.status(tile["key"], tile["value"], limits) if tile["key"] else None
        tile["change"] = _change(tile["value"], tile["before"], tile["unit"])
        tile["spark"] = charts.sparkline(tile["series"])
        tile["series_text"] = ", ".join(
            "no figure" if v is None else f"{v}{tile['unit']}" for v in tile["series"]
        )
    return tiles


def threshold_rules(session: Session) -> list[dict]:
    """The thresholds in force, in words, for the definitions page."""
    limits = rag.thresholds(session)
    return [
        {"label": figure.label, "rule": figure.describe(*limits[key])} for key, figure in rag.FIGURES.items()
    ]
