"""The choice lists of the list pages (wards, sites, owners, executives), kept per process for
a short time: a large trust lists hundreds of each, and reading them was a tenth of a list page.

A change this process commits to wards, sites, people, roles or ward managers empties its cache
at once; another process (gunicorn's other workers, the scheduler) sees such a change within
TTL_SECONDS. Only filters and pickers read from here, and whatever a form posts back is checked
against the database, so a list that is briefly stale in another worker offers a ward or person
that the request then refuses or filters on, never writes.
"""

import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlmodel import Session

from ..models import Site, User, UserRole, Ward, WardManager

TTL_SECONDS = 30.0
INFO_KEY = "choice_cache"  # the app's cache, in each of its sessions' `info` (db.Database.session)
_CHANGED = "choice_lists_changed"
WATCHED = (Ward, Site, User, UserRole, WardManager)


class ChoiceCache:
    """Built values by key, each kept for `ttl` seconds of `clock`."""

    def __init__(self, ttl: float = TTL_SECONDS, clock: Callable[[], float] = time.monotonic):
        self.ttl, self.clock = ttl, clock
        self._entries: dict[str, tuple[float, Any]] = {}

    def get(self, key: str, build: Callable[[], Any]) -> Any:
        now = self.clock()
        hit = self._entries.get(key)
        if hit is not None and now - hit[0] < self.ttl:
            return hit[1]
        value = build()
        self._entries[key] = (now, value)
        return value

    def clear(self) -> None:
        self._entries.clear()


def cached(session: Session, key: str, build: Callable[[], Any]) -> Any:
    """`build()`, or what it returned less than TTL_SECONDS ago in this process."""
    cache = session.info.get(INFO_KEY)
    return build() if cache is None else cache.get(key, build)


@event.listens_for(Session, "after_flush")
def _note_changes(session, _context) -> None:
    if INFO_KEY in session.info and any(
        isinstance(row, WATCHED) for row in (*session.new, *session.dirty, *session.deleted)
    ):
        session.info[_CHANGED] = True


@event.listens_for(Session, "after_commit")
def _forget_on_commit(session) -> None:
    if session.info.pop(_CHANGED, False):
        session.info[INFO_KEY].clear()


@event.listens_for(Session, "after_rollback")
def _keep_on_rollback(session) -> None:
    session.info.pop(_CHANGED, None)
