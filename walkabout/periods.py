"""Reporting periods in the trust's time zone: months, date ranges and their buckets."""

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

MONTH_PATTERN = re.compile(r"^(\d{4})-(\d{2})$")


class BadMonth(ValueError):
    """The month is malformed or in the future; the message says which."""


@dataclass(frozen=True)
class Period:
    """Trust-local days [start, end): `end` is the day after the last day."""

    start: date
    end: date
    zone: ZoneInfo

    @property
    def start_utc(self) -> datetime:
        return local_midnight(self.start, self.zone)

    @property
    def end_utc(self) -> datetime:
        return local_midnight(self.end, self.zone)

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)

    @property
    def is_month(self) -> bool:
        return self.start.day == 1 and self.end == add_months(self.start, 1)

    @property
    def label(self) -> str:
        if self.is_month:
            return self.start.strftime("%B %Y")
        return f"{format_day(self.start)} to {format_day(self.last_day)}"

    @property
    def month_key(self) -> str:
        return self.start.strftime("%Y-%m")


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)


def format_day(day: date) -> str:
    return f"{day.day} {day.strftime('%b %Y')}"


def add_months(day: date, months: int) -> date:
    """The first of the month `months` after (or before) `day`'s month."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def parse_month(text: str, today: date, zone: ZoneInfo) -> Period:
    """The month "YYYY-MM" as a Period; BadMonth if malformed or not yet started."""
    match = MONTH_PATTERN.match(text or "")
    if not match or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 2000:
        raise BadMonth(
            f"“{text[:20]}” is not a month. Use the form YYYY-MM, for example "
            f"{add_months(today, -1).strftime('%Y-%m')}."
        )
    start = date(int(match.group(1)), int(match.group(2)), 1)
    if start > today:
        raise BadMonth(f"{start.strftime('%B %Y')} has not started yet, so there is nothing to report.")
    return Period(start, add_months(start, 1), zone)


def month_buckets(last: Period, count: int = 12) -> list[Period]:
    """`count` calendar months ending with the month that holds `last.start`."""
    first = add_months(last.start.replace(day=1), -(count - 1))
    return [Period(add_months(first, i), add_months(first, i + 1), last.zone) for i in range(count)]


def range_buckets(period: Period, max_buckets: int = 24) -> list[Period]:
    """Calendar months covering `period` (clipped to it), or years when there are too many."""
    months = []
    cursor = period.start.replace(day=1)
    while cursor < period.end:
        months.append(Period(max(cursor, period.start), min(add_months(cursor, 1), period.end), period.zone))
        cursor = add_months(cursor, 1)
    if len(months) <= max_buckets:
        return months
    years = []
    for year in range(period.start.year, period.last_day.year + 1):
        start, end = max(date(year, 1, 1), period.start), min(date(year + 1, 1, 1), period.end)
        years.append(Period(start, end, period.zone))
    return years


def bucket_label(bucket: Period) -> str:
    if (bucket.end - bucket.start).days > 40:
        return str(bucket.start.year)
    return bucket.start.strftime("%b %y")
