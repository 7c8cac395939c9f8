"""Calendar files (RFC 5545 with the icalendar library): walkabouts and series as events.

A single walkabout is one VEVENT. A series is one VEVENT with its RRULE in the
trust's time zone (with a matching VTIMEZONE, so it keeps its local time across
clock changes); an occurrence that differs from the series (moved, another
lead or team) is an override with RECURRENCE-ID, a cancelled one an EXDATE,
and a date the rule does not give an RDATE. Every event keeps one UID for life
and a SEQUENCE that rises on each change; invitations and the private feed use
the same UIDs, so someone who has both sees one event.
"""

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr
from icalendar import Alarm, Calendar, Event, Timezone, vCalAddress, vRecur, vText

from ..db_types import utcnow
from ..identity import mail_domain, mailbox
from ..models import User, Walkabout, WalkaboutSeries, WalkaboutStatus

PRODID = "-//Walkabout//Patient safety walkabouts//EN"
ALARM_BEFORE = timedelta(minutes=30)
REFRESH = timedelta(hours=1)


@dataclass
class CalendarSettings:
    """What every calendar file of an installation shares."""

    domain: str
    organizer: tuple[str, str]  # (name, address): the configured mailbox
    zone: ZoneInfo
    base_url: str

    def url(self, walkabout: Walkabout) -> str:
        return f"{self.base_url}/walkabouts/{walkabout.id}"


def settings_from(config: dict) -> CalendarSettings:
    return CalendarSettings(
        domain=mail_domain(config),
        organizer=mailbox(config),
        zone=ZoneInfo(config["TIMEZONE"]),
        base_url=config["BASE_URL"],
    )


def walkabout_uid(walkabout: Walkabout, domain: str) -> str:
    return walkabout.calendar_uid or f"walkabout-{walkabout.id}@{domain}"


def series_uid(series_id: int, domain: str) -> str:
    return f"series-{series_id}@{domain}"


def in_series_event(walkabout: Walkabout) -> bool:
    """Occurrences invited one by one before series events existed keep their own event."""
    return walkabout.series_id is not None and walkabout.calendar_uid is None


def new_calendar(method: str, name: str | None = None) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method)
    if name:
        calendar.add("x-wr-calname", name)
    return calendar


def finish(calendar: Calendar, feed: bool = False) -> bytes:
    """Add the VTIMEZONEs the events use (and a feed's refresh interval); the file as bytes."""
    if feed:
        calendar.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
        calendar.add("x-published-ttl", REFRESH)
    zones, moments = {}, []
    for event in calendar.walk("VEVENT"):
        start = event.decoded("dtstart")
        moments.append(start)
        if "RRULE" in event:  # every series has an end (a count or a date), so this is bounded
            moments.extend(rrulestr(event["RRULE"].to_ical().decode(), dtstart=start))
        if isinstance(start.tzinfo, ZoneInfo):
            zones[start.tzinfo.key] = start.tzinfo
    if moments:
        first, last = (
            min(moments).date().replace(month=1, day=1),
            max(moments).date().replace(month=12, day=31),
        )
        for key, zone in zones.items():  # only the years the events need, not 1970-2038
            calendar.add_component(Timezone.from_tzinfo(zone, tzid=key, first_date=first, last_date=last))
    return calendar.to_ical()


def _address(user: User, role: str) -> vCalAddress:
    address = vCalAddress(f"mailto:{user.email}")
    address.params["CN"] = vText(user.name)
    address.params["CUTYPE"] = "INDIVIDUAL"
    address.params["ROLE"] = role
    address.params["PARTSTAT"] = "NEEDS-ACTION"
    address.params["RSVP"] = "FALSE"  # replies are not read
    return address


def _organizer(settings: CalendarSettings) -> vCalAddress:
    name, address = settings.organizer
    organizer = vCalAddress(f"mailto:{address}")
    organizer.params["CN"] = vText(name)
    return organizer


def _team(walkabout: Walkabout) -> list[User]:
    return [
        walkabout.lead,
        *(p for p in sorted(walkabout.attendees, key=lambda u: u.id) if p.id != walkabout.lead_id),
    ]


def _fill(event: Event, walkabout: Walkabout, settings: CalendarSettings, *, now: datetime, alarms: bool):
    """Times, text, people and alarm of one walkabout (needs ward.site, lead and attendees loaded)."""
    start = walkabout.scheduled_start.astimezone(settings.zone)
    event.add("dtstart", start)
    event.add("dtend", start + timedelta(minutes=walkabout.duration_minutes))
    cancelled = walkabout.status == WalkaboutStatus.CANCELLED
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("summary", f"{'Cancelled: ' if cancelled else ''}Walkabout: {walkabout.ward.name}")
    event.add("location", walkabout.ward.full_name)
    lines = [f"Patient safety walkabout on {walkabout.ward.full_name}, led by {walkabout.lead.name}."]
    if walkabout.focus:
        lines.append(f"Focus: {walkabout.focus}")
    if walkabout.guests:
        lines.append(f"Guests: {walkabout.guests}")
    if cancelled and walkabout.cancel_reason:
        lines.append(f"Cancelled: {walkabout.cancel_reason}")
    url = settings.url(walkabout)
    lines.append(url)
    event.add("url", url)
    event.add("description", "\n".join(lines))
    event.add("organizer", _organizer(settings))
    for person in _team(walkabout):
        event.add(
            "attendee", _address(person, "CHAIR" if person.id == walkabout.lead_id else "REQ-PARTICIPANT")
        )
    if alarms and not cancelled and walkabout.scheduled_start > now:
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", f"Walkabout on {walkabout.ward.name} in 30 minutes")
        alarm.add("trigger", -ALARM_BEFORE)
        event.add_component(alarm)


def walkabout_event(
    walkabout: Walkabout, settings: CalendarSettings, *, now: datetime | None = None, alarms: bool = False
) -> Event:
    """The VEVENT of one walkabout; `alarms`: a 30-minute reminder if it is still to come."""
    event = Event()
    event.add("uid", walkabout_uid(walkabout, settings.domain))
    event.add("dtstamp", (walkabout.updated_at or utcnow()).astimezone(UTC))
    event.add("sequence", walkabout.calendar_sequence)
    _fill(event, walkabout, settings, now=now or utcnow(), alarms=alarms)
    return event


# --- series ------------------------------------------------------------------


def occurrence_day(walkabout: Walkabout, zone: ZoneInfo) -> date:
    """The day the series' rule gave this occurrence (before any move): its RECURRENCE-ID's day."""
    moves = sorted(walkabout.reschedules, key=lambda move: (move.created_at, move.id or 0))
    original = moves[0].from_start if moves else walkabout.scheduled_start
    return original.astimezone(zone).date()


def series_sequence(series: WalkaboutSeries, occurrences: list[Walkabout]) -> int:
    """Rises with every change: of the series itself or of any of its occurrences."""
    return series.version - 1 + sum(w.calendar_sequence for w in occurrences)


def _template(occurrences: list[Walkabout], zone: ZoneInfo, now: datetime) -> tuple[Walkabout, time]:
    """The occurrence the master event describes, and the series' local time of day."""
    live = [w for w in occurrences if w.status != WalkaboutStatus.CANCELLED] or occurrences
    upcoming = [w for w in live if w.scheduled_start >= now] or live
    times = Counter(w.scheduled_start.astimezone(zone).time() for w in upcoming)
    at = max(times, key=lambda t: (times[t], -t.hour * 60 - t.minute))
    template = next(w for w in upcoming if w.scheduled_start.astimezone(zone).time() == at)
    return template, at


def _signature(walkabout: Walkabout, zone: ZoneInfo) -> tuple:
    return (
        walkabout.scheduled_start.astimezone(zone).time(),
        walkabout.duration_minutes,
        walkabout.lead_id,
        walkabout.focus,
        walkabout.guests,
        tuple(sorted(p.id for p in walkabout.attendees if p.id != walkabout.lead_id)),
    )


def _rule(series: WalkaboutSeries, start: datetime) -> vRecur:
    """The stored rule, with UNTIL in UTC as RFC 5545 asks when DTSTART has a TZID."""
    rule = vRecur.from_ical(series.rule)
    if "UNTIL" in rule:
        until = rule["UNTIL"][0]
        if isinstance(until, datetime) and until.tzinfo is None:
            rule["UNTIL"] = [until.replace(tzinfo=start.tzinfo).astimezone(UTC)]
    return rule


def series_events(
    series: WalkaboutSeries,
    occurrences: list[Walkabout],
    settings: CalendarSettings,
    *,
    visible: set[int] | None = None,
    now: datetime | None = None,
    alarms: bool = False,
) -> list[Event]:
    """The master VEVENT of a series and its overrides.

    `occurrences`: the series' walkabouts that belong to its event (see `in_series_event`), with
    ward.site, lead, attendees and reschedules loaded. `visible`: ids of the occurrences this
    calendar shows (the others are excluded with EXDATE); None shows them all.
    """
    now = now or utcnow()
    zone = settings.zone
    occurrences = sorted(occurrences, key=lambda w: w.scheduled_start)
    template, at = _template(occurrences, zone, now)
    days = {w.id: occurrence_day(w, zone) for w in occurrences}
    first_day = min(days.values())
    master_start = datetime.combine(first_day, at, tzinfo=zone)
    rule = _rule(series, master_start)
    naive_rule = rrulestr(series.rule, dtstart=master_start.replace(tzinfo=None))
    rule_days = {moment.date() for moment in naive_rule}
    sequence = series_sequence(series, occurrences)
    stamp = max(w.updated_at or utcnow() for w in occurrences).astimezone(UTC)
    uid = series_uid(series.id, settings.domain)

    def slot(day: date) -> datetime:
        return datetime.combine(day, at, tzinfo=zone)

    master = Event()
    master.add("uid", uid)
    master.add("dtstamp", stamp)
    master.add("sequence", sequence)
    _fill(master, template, settings, now=now, alarms=alarms)
    master.pop("DTSTART")
    master.pop("DTEND")
    master.pop("STATUS")
    master.add("dtstart", master_start)
    master.add("dtend", master_start + timedelta(minutes=template.duration_minutes))
    master.add("status", "CONFIRMED")
    master.pop("URL")
    master.add("url", f"{settings.base_url}/series/{series.id}")
    master.add("rrule", rule)
    given = set(days.values())
    extra = sorted(day for day in given if day not in rule_days)
    if extra:
        master.add("rdate", [slot(day) for day in extra])
    excluded = [day for day in rule_days if day not in given]
    overrides = []
    base = _signature(template, zone)
    for walkabout in occurrences:
        day = days[walkabout.id]
        if walkabout.status == WalkaboutStatus.CANCELLED or (
            visible is not None and walkabout.id not in visible
        ):
            excluded.append(day)
            continue
        same_slot = walkabout.scheduled_start == slot(day)
        if same_slot and _signature(walkabout, zone) == base:
            continue
        override = Event()
        override.add("uid", uid)
        override.add("dtstamp", stamp)
        override.add("sequence", sequence)
        override.add("recurrence-id", slot(day))
        _fill(override, walkabout, settings, now=now, alarms=alarms)
        overrides.append(override)
    if excluded:
        master.add("exdate", [slot(day) for day in sorted(set(excluded))])
    return [master, *overrides]


def occurrence_cancel(
    series: WalkaboutSeries, occurrences: list[Walkabout], cancelled: Walkabout, settings: CalendarSettings
) -> Event:
    """The VEVENT of a CANCEL for one occurrence of a series (with its RECURRENCE-ID)."""
    zone = settings.zone
    _template_row, at = _template(occurrences, zone, utcnow())
    day = occurrence_day(cancelled, zone)
    event = Event()
    event.add("uid", series_uid(series.id, settings.domain))
    event.add("dtstamp", utcnow())
    event.add("sequence", series_sequence(series, occurrences))
    event.add("recurrence-id", datetime.combine(day, at, tzinfo=zone))
    _fill(event, cancelled, settings, now=utcnow(), alarms=False)
    return event
