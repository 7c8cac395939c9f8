"""Column types shared by the models: UTC datetimes and string-backed enums."""

from datetime import UTC, datetime
from enum import Enum

import sqlalchemy as sa


class UTCDateTime(sa.types.TypeDecorator):
    """Stores datetimes as naive UTC and always returns aware UTC datetimes.

    SQLite has no time zone support, so both databases keep naive UTC and the
    conversion happens here, in one place.
    """

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; use an aware datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


def enum_type(enum_cls: type[Enum]) -> sa.Enum:
    """A VARCHAR-backed enum (no native PostgreSQL ENUM, so adding a value needs no DDL)."""
    return sa.Enum(
        enum_cls,
        native_enum=False,
        create_constraint=False,
        length=24,
        values_callable=lambda cls: [member.value for member in cls],
    )


def utcnow() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)
