"""Engine, one session per request, and SQLite settings for safe concurrent writes.

Requests that change state (POST, PUT, PATCH, DELETE) use a session whose
SQLite transactions start with `BEGIN IMMEDIATE`: the write lock is taken up
front, so concurrent writers wait (busy_timeout) instead of failing with
"database is locked" half-way through. Reads use plain deferred transactions.
"""

from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask, current_app, g, has_request_context, request
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlmodel import Session

from .services.versioned_cache import INFO_KEY, VersionedCache

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
SQLITE_BUSY_TIMEOUT_MS = 10_000


class Database:
    """The app's engines: `engine` for reads, `write_engine` for writes."""

    def __init__(self, url: str):
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            self.engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
            _configure_sqlite(self.engine)
        else:
            self.engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)
        self.write_engine = self.engine.execution_options(begin_mode="IMMEDIATE")
        self.cache = VersionedCache()  # values kept at a data version (services/versioned_cache)

    def session(self, write: bool = False) -> Session:
        return Session(
            self.write_engine if write else self.engine, expire_on_commit=False, info={INFO_KEY: self.cache}
        )

    def analyze(self) -> None:
        """Refresh the planner's statistics (after migrations and bulk loads): without them
        SQLite guesses and picks scans over the lists' indexes. PostgreSQL's autovacuum keeps
        them fresh afterwards; on SQLite `db-upgrade` (or `sqlite3 db ANALYZE`) refreshes them."""
        with self.write_engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy emit BEGIN itself (pysqlite's own handling can't do IMMEDIATE).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        mode = connection.get_execution_options().get("begin_mode", "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")


def init_app(app: Flask) -> Database:
    database = Database(app.config["DATABASE_URL"])
    app.extensions["walkabout_db"] = database
    app.teardown_appcontext(_close_session)
    return database


def get_db(app: Flask | None = None) -> Database:
    return (app or current_app).extensions["walkabout_db"]


def get_session() -> Session:
    """The session of the current request (a write session for state-changing methods)."""
    if "db_session" not in g:
        write = has_request_context() and request.method in WRITE_METHODS
        g.db_session = get_db().session(write=write)
    return g.db_session


def _close_session(_exc: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()  # rolls back anything not committed


@contextmanager
def session_scope(app: Flask | None = None, write: bool = True) -> Iterator[Session]:
    """A session for commands and jobs: commits on success, rolls back on error."""
    session = get_db(app).session(write=write)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
