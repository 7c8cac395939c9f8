"""Recurring series: an RFC 5545 rule (python-dateutil's rrule) expanded into real walkabouts.

Occurrences are computed in the trust's wall-clock time, so "14:00 every 2nd
Tuesday" stays 14:00 across clock changes, and a monthly date past the end of a
short month falls on that month's last day. A series is created all or nothing.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from itertools import islice

from dateutil.rrule import MONTHLY, WEEKLY, rrule, weekday
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.attributes import flag_modified
from sqlmodel import Session, select

from ..db_types import utcnow
from ..models import User, Walkabout, WalkaboutReschedule, WalkaboutSeries, WalkaboutStatus
from ..timeutil import trust_zone
from . import ServiceError, audit, check_version, flush_or_conflict, invitations
from .ics import in_series_event
from .walkabouts import (
    ClashWarning,
    WalkaboutDetails,
    _bump,
    _clean,
    cancel_walkabout,
    find_clashes,
    resolve,
    schedule_walkabout,
)

MAX_OCCURRENCES = 400
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
ORDINALS = {1: "1st", 2: "2nd", 3: "3rd", 4: "4th", -1: "last"}


@dataclass
class Recurrence:
    """How a series repeats. `pattern`: "weekly", "monthly_weekday" or "monthly_date"."""

    pattern: str
    first_day: date
    at: time
    interval: int = 1
    weekday: int | None = None  # 0 = Monday
    ordinal: int | None = None  # 1..4 or -1 (last), for monthly_weekday
    month_day: int | None = None  # 1..31, for monthly_date
    count: int | None = None
    until: date | None = None

    def rule(self) -> rrule:
        if self.count is None and self.until is None:
            raise ServiceError("A series needs an end: a number of walkabouts or an end date.")
        if self.count is not None and self.count < 1:
            raise ServiceError("A series needs at least one walkabout.")
        if self.until is not None and self.until < self.first_day:
            raise ServiceError("The end date is before the first date.")
        if not 1 <= self.interval <= 12:
            raise ServiceError("Repeat every 1 to 12 weeks or months.")
        start = datetime.combine(self.first_day, self.at)
        kwargs: dict = {"dtstart": start, "interval": self.interval}
        if self.count is not None:
            kwargs["count"] = self.count
        else:
            kwargs["until"] = datetime.combine(self.until, time(23, 59, 59))
        if self.pattern == "weekly":
            return rrule(WEEKLY, byweekday=self._weekday(), **kwargs)
        if self.pattern == "monthly_weekday":
            if self.ordinal not in ORDINALS:
                raise ServiceError("Choose which week of the month (1st, 2nd, 3rd, 4th or last).")
            return rrule(MONTHLY, byweekday=weekday(self._weekday(), self.ordinal), **kwargs)
        if self.pattern == "monthly_date":
            day = self.month_day
            if day is None or not 1 <= day <= 31:
                raise ServiceError("Choose a day of the month from 1 to 31.")
            if day <= 28:
                return rrule(MONTHLY, bymonthday=day, **kwargs)
            # Days 29-31: the latest of 28..day that exists, i.e. the month's last day in short months.
            return rrule(MONTHLY, bymonthday=list(range(28, day + 1)), bysetpos=-1, **kwargs)
        raise ServiceError("Choose how the series repeats.")

    def _weekday(self) -> int:
        if self.weekday is None or not 0 <= self.weekday <= 6:
            raise ServiceError("Choose a day of the week.")
        return self.weekday

    def describe(self) -> str:
        every = "" if self.interval == 1 else f" {self.interval}"
        if self.pattern == "weekly":
            text = f"Every{every} week{'s' if self.interval > 1 else ''} on {WEEKDAYS[self.weekday or 0]}"
        elif self.pattern == "monthly_weekday":
            text = f"The {ORDINALS.get(self.ordinal, '')} {WEEKDAYS[self.weekday or 0]} of every{every} month"
        else:
            text = f"Day {self.month_day} of every{every} month (or its last day)"
        return f"{text} at {self.at:%H:%M}"


def occurrences(recurrence: Recurrence) -> list[datetime]:
    """Aware UTC starts of every occurrence; refuses more than MAX_OCCURRENCES."""
    local_times = list(islice(recurrence.rule(), MAX_OCCURRENCES + 1))
    if len(local_times) > MAX_OCCURRENCES:
        raise ServiceError(f"That series has more than {MAX_OCCURRENCES} walkabouts. Choose an earlier end.")
    if not local_times:
        raise ServiceError("That series has no dates. Check the first date, the pattern and the end.")
    zone = trust_zone()
    # A wall time skipped by the clocks going forward lands an hour later (fold=0), as calendars do.
    return [moment.replace(tzinfo=zone).astimezone(UTC) for moment in local_times]


def create_series(
    session: Session,
    actor: User,
    details: WalkaboutDetails,
    recurrence: Recurrence,
    *,
    confirm_clashes: bool = False,
) -> tuple[WalkaboutSeries, list[Walkabout]]:
    """Create the series and all its walkabouts, or nothing (raises before adding anything)."""
    starts = occurrences(recurrence)
    details.start = starts[0]
    resolved = resolve(session, details)
    if not confirm_clashes:
        clashes = find_clashes(
            session,
            resolved.lead.id,
            resolved.ward.id,
            [(start, details.duration_minutes) for start in starts],
        )
        if clashes:
            raise ClashWarning(clashes)
    rule_text = str(recurrence.rule()).splitlines()[-1].removeprefix("RRULE:")
    series = WalkaboutSeries(
        ward_id=resolved.ward.id,
        lead_id=resolved.lead.id,
        rule=rule_text,
        first_start=starts[0],
        duration_minutes=details.duration_minutes,
        focus=_clean(details.focus),
        created_by_id=actor.id,
    )
    session.add(series)
    audit.record(session, actor, series, "created", {"rule": rule_text, "occurrences": len(starts)})
    walkabouts = []
    for start in starts:
        one = WalkaboutDetails(**{**details.__dict__, "start": start})
        walkabouts.append(
            schedule_walkabout(
                session, actor, one, series_id=series.id, resolved=resolved, check_clashes=False
            )
        )
    invitations.plan_series(session, series)  # one invitation per person for the whole series
    return series, walkabouts


def future_occurrences(session: Session, series: WalkaboutSeries) -> list[Walkabout]:
    """Planned occurrences from now on: the ones a series edit changes."""
    return list(
        session.exec(
            select(Walkabout)
            .where(Walkabout.series_id == series.id, Walkabout.status == WalkaboutStatus.PLANNED)
            .where(Walkabout.scheduled_start >= utcnow())
            .options(selectinload(Walkabout.attendees), selectinload(Walkabout.ward))
            .order_by(Walkabout.scheduled_start)
        ).all()
    )


def update_series(
    session: Session,
    actor: User,
    series: WalkaboutSeries,
    *,
    lead_id: int,
    at: time,
    duration_minutes: int,
    focus: str | None,
    reason: str | None,
    expected_version: int | None,
    confirm_clashes: bool = False,
) -> int:
    """Apply a new lead, time of day, duration or focus to future occurrences only; returns how many changed.

    Raises Conflict when the series changed since the form was opened (`expected_version`).
    """
    check_version(series, expected_version, STALE_SERIES)
    upcoming = future_occurrences(session, series)
    if not upcoming:
        raise ServiceError("This series has no planned walkabouts left to change.")
    zone = trust_zone()
    plans = []
    for walkabout in upcoming:
        local_day = walkabout.scheduled_start.astimezone(zone).date()
        start = datetime.combine(local_day, at, tzinfo=zone).astimezone(UTC)
        plans.append((walkabout, start))
    moved = any(start != walkabout.scheduled_start for walkabout, start in plans)
    if moved and not _clean(reason):
        raise ServiceError("Give a reason for moving the walkabouts (it is kept in their history).")
    first = upcoming[0]
    resolved = resolve(
        session,
        WalkaboutDetails(
            ward_id=series.ward_id,
            lead_id=lead_id,
            start=plans[0][1],
            duration_minutes=duration_minutes,
        ),
        check_start=False,
    )
    if any(start < utcnow() for _, start in plans):
        raise ServiceError("The new time would put the next walkabout in the past. Choose a later time.")
    if not confirm_clashes:
        clashes = find_clashes(
            session,
            resolved.lead.id,
            series.ward_id,
            [(start, duration_minutes) for _, start in plans],
            exclude_ids={walkabout.id for walkabout, _ in plans},
        )
        if clashes:
            raise ClashWarning(clashes)
    teams = {w.id: invitations.team_ids(w) for w, _ in plans}
    changed = 0
    for walkabout, start in plans:
        old_start = walkabout.scheduled_start
        changes = audit.diff(
            walkabout,
            {
                "lead_id": resolved.lead.id,
                "scheduled_start": start,
                "duration_minutes": duration_minutes,
                "focus": _clean(focus),
            },
        )
        if not changes:
            continue
        if start != old_start:
            session.add(
                WalkaboutReschedule(
                    walkabout_id=walkabout.id,
                    from_start=old_start,
                    to_start=start,
                    reason=_clean(reason),
                    by_id=actor.id,
                )
            )
        _bump(session, walkabout)
        audit.record(session, actor, walkabout, "series_updated", changes)
        changed += 1
    series_changes = audit.diff(
        series, {"lead_id": resolved.lead.id, "duration_minutes": duration_minutes, "focus": _clean(focus)}
    )
    if changed or series_changes:
        # An UPDATE even when only the occurrences moved, so the ORM bumps the series version.
        flag_modified(series, "rule")
        flush_or_conflict(session, STALE_SERIES)
        audit.record(
            session,
            actor,
            series,
            "updated",
            {**series_changes, "occurrences_changed": changed, "from": first.scheduled_start},
        )
        _invite_for(session, series, upcoming, teams)
    return changed


STALE_SERIES = (
    "This series was changed by someone else since you opened it. The form now shows "
    "the latest details; check them and save again."
)


def _invite_for(
    session: Session, series: WalkaboutSeries, changed: list[Walkabout], teams: dict[int, set[int]]
) -> None:
    """The series event's invitation, and one for each changed occurrence invited on its own
    (walkabouts that calendars knew by their own UID before series events keep it).
    `teams`: each walkabout's team before the change (whoever left gets a CANCEL)."""
    if any(in_series_event(walkabout) for walkabout in changed):
        invitations.plan_series(session, series, set().union(set(), *teams.values()))
    for walkabout in changed:
        if not in_series_event(walkabout):
            invitations.plan_walkabout(session, walkabout, teams.get(walkabout.id, set()))


def cancel_rest_of_series(session: Session, actor: User, series: WalkaboutSeries, *, reason: str) -> int:
    """Cancel every planned occurrence from now on (each counted as a cancellation); returns how many."""
    if not _clean(reason):
        raise ServiceError("Give a reason for cancelling. Cancellations are reported to the board.")
    upcoming = future_occurrences(session, series)
    if not upcoming:
        raise ServiceError("This series has no planned walkabouts left to cancel.")
    for walkabout in upcoming:
        cancel_walkabout(
            session, actor, walkabout, reason=reason, expected_version=walkabout.version, invite=False
        )
    audit.record(session, actor, series, "cancelled_from", {"reason": _clean(reason), "count": len(upcoming)})
    _invite_for(session, series, upcoming, {})
    return len(upcoming)


def series_walkabouts(session: Session, series: WalkaboutSeries) -> list[Walkabout]:
    return list(
        session.exec(
            select(Walkabout).where(Walkabout.series_id == series.id).order_by(Walkabout.scheduled_start)
        ).all()
    )


def default_count_for_year(pattern: str, interval: int) -> int:
    """How many occurrences fill a year."""
    per_year = 52 if pattern == "weekly" else 12
    return max(1, per_year // max(1, interval))
