"""Sign-in throttling per account and per address, stored in the database so
that it holds across every web worker and host."""

from datetime import timedelta

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from ..db_types import utcnow
from ..models import LoginThrottle

# A failure this long ago no longer counts towards a block.
FORGET_AFTER = timedelta(hours=24)


def account_key(email: str) -> str:
    return f"account:{email.strip().lower()}"


def address_key(address: str | None) -> str:
    return f"address:{address or 'unknown'}"


def retry_after(session: Session, keys: list[str]) -> int:
    """Seconds until a new attempt is allowed for any of `keys` (0 when allowed)."""
    now = utcnow()
    rows = session.exec(select(LoginThrottle).where(col(LoginThrottle.key).in_(keys))).all()
    waits = [(row.blocked_until - now).total_seconds() for row in rows if row.blocked_until]
    return max([0, *[int(w) + 1 for w in waits if w > 0]])


def record_failure(session: Session, key: str, free_failures: int, max_block_seconds: int) -> None:
    """Count a failure; past `free_failures` the key is blocked for a doubling delay."""
    now = utcnow()
    previous = session.get(LoginThrottle, key)
    if previous and previous.last_failure_at and now - previous.last_failure_at > FORGET_AFTER:
        previous.failures = 0
        session.flush()
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(LoginThrottle).values(key=key, failures=1, last_failure_at=now)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[LoginThrottle.key],
            set_={"failures": LoginThrottle.failures + 1, "last_failure_at": now},
        )
    )
    row = session.get(LoginThrottle, key, populate_existing=True)
    excess = row.failures - free_failures
    if excess > 0:
        row.blocked_until = now + timedelta(seconds=min(2 ** (excess - 1), max_block_seconds))


def clear(session: Session, key: str) -> None:
    session.execute(delete(LoginThrottle).where(LoginThrottle.key == key))
