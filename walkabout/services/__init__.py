"""The verbs of the domain. Services take a session, change state and write the
audit entry; they never commit (the route or job does, once)."""

from sqlalchemy import inspect
from sqlalchemy.orm.exc import StaleDataError


class ServiceError(Exception):
    """A request the service refused; `str(error)` is a message fit for the user."""


class NotFound(ServiceError):
    """The record does not exist (or is not visible to this user)."""


class Forbidden(ServiceError):
    """The user may not do this."""


class Conflict(ServiceError):
    """The record changed since the user loaded it (stale version)."""


def check_version(record, version: int | None, message: str) -> None:
    """Conflict unless the form carried `record`'s current version (None: missing or not a number).

    This only tells the user early; the ORM's `WHERE version = ?` is what enforces it
    (see `flush_or_conflict`).
    """
    if version is None or version != record.version:
        raise Conflict(message)


def flush_or_conflict(session, message: str) -> None:
    """Write the pending changes now; an UPDATE that matched no row (lost a race) is a Conflict.

    The failed flush has already ended the database transaction, so the session is rolled
    back here to be usable again (its records reload the latest on next access).
    """
    try:
        session.flush()
    except StaleDataError as error:
        session.rollback()
        raise Conflict(message) from error


def lock_latest(session, record) -> None:
    """Re-read `record` and lock its row until commit: append-only changes never conflict."""
    # Columns only: eager-loaded relationships would put outer joins under FOR UPDATE.
    columns = [attribute.key for attribute in inspect(type(record)).column_attrs]
    session.refresh(record, attribute_names=columns, with_for_update=True)
