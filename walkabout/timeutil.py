"""Trust-local time: datetimes are stored in UTC and shown in the trust's zone."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import current_app

from .db_types import utcnow


def trust_zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["TIMEZONE"])


def to_local(value: datetime) -> datetime:
    return value.astimezone(trust_zone())


def local_today() -> date:
    return to_local(utcnow()).date()


def format_datetime(value: datetime | None) -> str:
    """E.g. "Tue 3 Mar 2026, 14:00" in the trust's time zone."""
    if value is None:
        return ""
    local = to_local(value)
    return local.strftime("%a ") + str(local.day) + local.strftime(" %b %Y, %H:%M")


def format_date(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = to_local(value).date()
    return value.strftime("%a ") + str(value.day) + value.strftime(" %b %Y")


def format_time(value: datetime | None) -> str:
    return to_local(value).strftime("%H:%M") if value else ""
