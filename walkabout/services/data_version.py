"""The data version: per scope, a counter that moves on in the same transaction as every commit
that changes the scope's tables, so a process can tell in one cheap read whether anything it
cached is out of date, whichever process (gunicorn worker, scheduler, command) made the change.

Scopes: "records" moves on with any change to the trust's data; "choices" only with the tables
the choice lists and forms are built from. Sign-in bookkeeping (session records, throttles,
one-time codes, idempotency keys) moves neither. Changes are seen in two ways: rows the ORM
flushes, and INSERT/UPDATE/DELETE statements run through the session; nothing in the app writes
those tables behind the session's back (signin.py's "last seen" write is to user_session).
"""

from sqlalchemy import bindparam, event, text
from sqlalchemy.sql.dml import UpdateBase
from sqlmodel import Session, select

from ..models import DataVersion

RECORDS, CHOICES = "records", "choices"
SCOPES = (RECORDS, CHOICES)
CHOICE_TABLES = frozenset(
    {
        "site",
        "ward",
        "ward_manager",
        "user",
        "user_role",
        "category",
        "prompt_question",
        "staff_role",
        "pulse_statement",
        "risk_label",
        "trust_branding",
        "report_threshold",
    }
)
IGNORED_TABLES = frozenset(
    {"data_version", "user_session", "login_throttle", "idempotency_key", "password_reset", "recovery_code"}
)
_CHANGED = "data_version_changed"  # in session.info: the scopes this transaction changed
KNOWN = "data_versions"  # in session.info: {scope: version} as this session read them

_BUMP = text(
    "INSERT INTO data_version (scope, version) VALUES (:scope, 1) "
    "ON CONFLICT (scope) DO UPDATE SET version = data_version.version + 1"
).bindparams(bindparam("scope"))


def scopes_of(table: str | None) -> tuple[str, ...]:
    """The scopes a change to `table` moves on (both when the table is unknown)."""
    if table in IGNORED_TABLES:
        return ()
    if table is None or table in CHOICE_TABLES:
        return SCOPES
    return (RECORDS,)


def versions_statement():
    """The versions of every scope as columns, for a query that reads them on the way."""
    return [
        select(DataVersion.version).where(DataVersion.scope == scope).scalar_subquery().label(f"v_{scope}")
        for scope in SCOPES
    ]


def current(session: Session, scope: str = RECORDS) -> int:
    """The scope's version as this session knows it: read once (signed-in requests read it in the
    session-record query, services/sessions.py) and read again after this session commits a change."""
    known = session.info.setdefault(KNOWN, {})
    if scope not in known:
        rows = session.exec(select(DataVersion.scope, DataVersion.version)).all()
        known.update({name: 0 for name in SCOPES} | dict(rows))
    return known[scope]


def note_read(session: Session, versions) -> None:
    """The versions another query of this session read with `versions_statement()`, in SCOPES order."""
    session.info.setdefault(KNOWN, {}).update(zip(SCOPES, (v or 0 for v in versions), strict=True))


def move_on_everything(session: Session) -> None:
    """Mark every scope changed (after a restore or a change made outside the app)."""
    _mark(session, SCOPES)


def has_uncommitted_changes(session: Session) -> bool:
    """This session has written (or is about to write) something not yet committed."""
    return bool(session.info.get(_CHANGED) or session.new or session.dirty or session.deleted)


def _mark(session: Session, scopes: tuple[str, ...]) -> None:
    if scopes:
        session.info.setdefault(_CHANGED, set()).update(scopes)


@event.listens_for(Session, "after_flush")
def _note_flushed(session, _context) -> None:
    for row in (*session.new, *session.dirty, *session.deleted):
        table = getattr(row, "__table__", None)
        _mark(session, scopes_of(table.name if table is not None else None))


@event.listens_for(Session, "do_orm_execute")
def _note_statement(state) -> None:
    statement = state.statement
    if isinstance(statement, UpdateBase):
        table = getattr(statement, "table", None)
        _mark(state.session, scopes_of(getattr(table, "name", None)))
    elif not state.is_select and not getattr(statement, "is_select", False):
        text_sql = str(getattr(statement, "text", "")).lstrip().upper()
        if text_sql and not text_sql.startswith(("SELECT", "WITH", "PRAGMA", "EXPLAIN")):
            _mark(state.session, SCOPES)  # raw SQL that may write: assume it changed everything


@event.listens_for(Session, "before_commit")
def _bump(session) -> None:
    session.flush()  # before_commit runs before commit's own flush: see its rows now
    scopes = sorted(session.info.pop(_CHANGED, ()))
    if scopes:  # on the connection, not the session: a statement of its own is no change to note
        connection = session.connection()
        for scope in scopes:
            connection.execute(_BUMP, {"scope": scope})


@event.listens_for(Session, "after_commit")
def _forget_after_commit(session) -> None:
    session.info.pop(_CHANGED, None)
    session.info.pop(KNOWN, None)  # this session's own change: read the versions afresh


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session) -> None:
    session.info.pop(_CHANGED, None)
    session.info.pop(KNOWN, None)  # the next transaction may see newer data
