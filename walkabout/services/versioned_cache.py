"""Values kept in this process for as long as the data they were built from is unchanged.

Each value is stored with the data version (services/data_version.py) it was built at and is
used again only while that version is current, so a change committed by any process is seen by
the next request everywhere. A key must name everything else the value depends on: the user or
their scope, the filters, and the trust's date when the value depends on "now". Values are plain
data or rendered fragments with no per-request secret; never ORM rows, which belong to one session.
"""

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TypeVar

from sqlmodel import Session

from . import data_version

T = TypeVar("T")
INFO_KEY = "versioned_cache"  # the app's cache, in each of its sessions' `info` (db.Database.session)
MAX_ENTRIES = 2048  # the least recently used go first: a few MB at most


class VersionedCache:
    """Values by key with the version they were built at, least recently used dropped first."""

    def __init__(self, max_entries: int = MAX_ENTRIES):
        self.max_entries = max_entries
        self._entries: OrderedDict[Hashable, tuple[int, object]] = OrderedDict()
        self._lock = threading.Lock()  # the scheduler's and board packs' threads share the process

    def get(self, key: Hashable, version: int, build: Callable[[], T]) -> T:
        with self._lock:
            hit = self._entries.get(key)
            if hit is not None and hit[0] == version:
                self._entries.move_to_end(key)
                return hit[1]  # type: ignore[return-value]
        value = build()
        with self._lock:
            self._entries[key] = (version, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


def remember(session: Session, key: tuple, build: Callable[[], T], scope: str = data_version.RECORDS) -> T:
    """`build()`, or the value it gave in this process at the current data version of `scope`.

    A session holding changes it has not committed builds afresh (and keeps nothing): its own
    reads would differ from what other requests see."""
    cache = session.info.get(INFO_KEY)
    if cache is None or data_version.has_uncommitted_changes(session):
        return build()
    return cache.get((scope, *key), data_version.current(session, scope), build)
