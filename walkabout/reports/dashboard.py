"""The dashboard's figures (issue 21): everything it shows for a range, as plain data, built
once per range and data version in each process (services/versioned_cache), so a dashboard
read again while nothing changed costs a lookup, not some twenty aggregates."""

from sqlmodel import Session

from ..periods import Period
from ..services import versioned_cache
from ..timeutil import local_today
from . import fidelity, figures, pack_summary, staff_voice


def key(session: Session, period: Period) -> tuple:
    """Everything the figures depend on besides the data: the range, the trust's date (what is
    overdue, whether the range is over), and which concerns are old enough to count in "no
    action after 7 days" now (fidelity.no_action_horizon). The same for every user who may see
    the dashboard: it shows the whole trust."""
    return (period.start, period.end, local_today(), fidelity.no_action_horizon(session, period))


def build(session: Session, period: Period) -> dict:
    """The headline figures, the programme's fidelity and staff voice of `period`."""
    return {
        "f": figures.headline(session, period),
        "fidelity": pack_summary.loop_figures(session, period),
        "staff_voice": staff_voice.figures(session, period, by_statement=False),
    }


def dashboard_figures(session: Session, period: Period, cache_key: tuple | None = None) -> dict:
    """build(), or what it gave in this process for the same key at the current data version."""
    cache_key = cache_key or key(session, period)
    return versioned_cache.remember(
        session, ("dashboard figures", *cache_key), lambda: build(session, period)
    )
