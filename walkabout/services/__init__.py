"""The verbs of the domain. Services take a session, change state and write the
audit entry; they never commit (the route or job does, once)."""


class ServiceError(Exception):
    """A request the service refused; `str(error)` is a message fit for the user."""


class NotFound(ServiceError):
    """The record does not exist (or is not visible to this user)."""


class Forbidden(ServiceError):
    """The user may not do this."""


class Conflict(ServiceError):
    """The record changed since the user loaded it (stale version)."""
