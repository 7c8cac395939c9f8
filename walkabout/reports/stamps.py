"""Times in the exports: trust time as `2026-12-01 14:30` (what Excel reads as a date and
time) beside the same moment in UTC."""

from datetime import UTC, datetime

TIME_FORMAT = "%Y-%m-%d %H:%M"


def aware(value):
    """An aware datetime from what the database handed back (SQLite may give text)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def stamp(row: dict, name: str, moment, zone) -> None:
    """`row[name]` in trust time and `row[name + "_utc"]` in UTC, both `YYYY-MM-DD HH:MM`."""
    moment = aware(moment)
    row[name] = moment.astimezone(zone).strftime(TIME_FORMAT) if moment else ""
    row[name + "_utc"] = moment.astimezone(UTC).strftime(TIME_FORMAT) if moment else ""
