"""The dashboard's figures (issue 21): everything it shows for a range, as plain data, built
once per range and data version in each process (services/versioned_cache), so a dashboard
read again while nothing changed costs a lookup, not some twenty aggregates."""

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import TypeVar

from sqlmodel import Session

from ..periods import Period
from ..services import versioned_cache
from ..timeutil import local_today
from . import fidelity, figures, pack_summary, staff_voice

T = TypeVar("T")
UNKNOWN = object()  # horizon() not read yet (None is one of its values)


@dataclass
class _Kept:
    horizon: object  # fidelity.no_action_horizon when `value` was built
    value: object


def build(session: Session, period: Period) -> dict:
    """The headline figures, the programme's fidelity and staff voice of `period`."""
    return {
        "f": figures.headline(session, period),
        "fidelity": pack_summary.loop_figures(session, period),
        "staff_voice": staff_voice.figures(session, period, by_statement=False),
    }


def horizon(session: Session, period: Period):
    """What, besides the data, the range and the date, the figures depend on (see kept())."""
    return fidelity.no_action_horizon(session, period)


def kept(session: Session, period: Period, name: Hashable, make: Callable[[], T], now_horizon=UNKNOWN) -> T:
    """`make()` (the figures of `period`, or something made from them only), or what it gave in
    this process at the current data version for the same range and trust date (what is overdue,
    whether the range is over). The same for every user who may see the dashboard: it shows the
    whole trust. Time alone also moves "no action after 7 days", when another concern becomes
    old enough to count (fidelity.no_action_horizon): then it is made afresh in its place, so a
    day's passing concerns leave no trail of stale copies behind. `now_horizon`: horizon(), if
    this request has it already."""
    now = horizon(session, period) if now_horizon is UNKNOWN else now_horizon
    key = ("dashboard", name, period.start, period.end, local_today())
    entry = versioned_cache.remember(session, key, lambda: _Kept(now, make()))
    if entry.horizon != now:
        entry.value, entry.horizon = make(), now  # the value first: a reader of the new horizon sees it
    return entry.value  # type: ignore[return-value]


def dashboard_figures(session: Session, period: Period, now_horizon=UNKNOWN) -> dict:
    """build(), kept (see kept())."""
    return kept(session, period, "figures", lambda: build(session, period), now_horizon)
