"""Sign-in throttling, stored in the database so that it holds across every web
worker and host.

Keys: `account:<email>` and `address:<ip>` count failures from devices that are
not known for the account; `device:<user id>:<nonce>` counts failures from one
known device (OWASP's device cookies), so a stranger's failures never block the
owner on a device they signed in on before.

An attempt is counted as a failure *before* the slow password check
(`reserve`, committed at once), and given back when the password was right
(`settle_success`): parallel guesses cannot get more checks than the limit.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, delete, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from ..db_types import utcnow
from ..models import LoginThrottle

# A failure this long ago no longer counts towards a block.
FORGET_AFTER = timedelta(hours=24)


def account_key(email: str) -> str:
    return f"account:{email.strip().lower()}"


def address_key(address: str | None) -> str:
    return f"address:{(address or 'unknown')[:100]}"  # an IPv6 address is at most 45 characters


def device_key(user_id: int, nonce: str) -> str:
    return f"device:{user_id}:{nonce}"


@dataclass(frozen=True)
class Limit:
    key: str
    free_failures: int
    cleared_on_success: bool  # the account and device counts restart; an address's is only refunded


def reserve(
    session: Session, limits: list[Limit], first_block_seconds: int, max_block_seconds: int
) -> tuple[int, dict[str, int]]:
    """Count one failure on every key, unless one is blocked.

    Returns (seconds to wait, 0 when the attempt may go ahead; the failure count
    of each key). The rows are locked (PostgreSQL FOR UPDATE; SQLite's write
    lock of BEGIN IMMEDIATE) until the caller commits.
    """
    now = utcnow()
    keys = sorted({limit.key for limit in limits})
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    session.execute(
        insert(LoginThrottle)
        .values([{"key": key, "failures": 0} for key in keys])
        .on_conflict_do_nothing(index_elements=[LoginThrottle.key])
    )
    rows = {
        row.key: row
        for row in session.exec(
            select(LoginThrottle)
            .where(col(LoginThrottle.key).in_(keys))
            .order_by(LoginThrottle.key)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).all()
    }
    wait = max([0, *[_seconds_left(row.blocked_until, now) for row in rows.values()]])
    if wait:
        return wait, {key: row.failures for key, row in rows.items()}
    for limit in limits:
        row = rows[limit.key]
        if row.last_failure_at and now - row.last_failure_at > FORGET_AFTER:
            row.failures = 0
        row.failures += 1
        row.last_failure_at = now
        excess = row.failures - limit.free_failures
        if excess > 0:
            seconds = min(first_block_seconds * 2 ** (excess - 1), max_block_seconds)
            row.blocked_until = now + timedelta(seconds=seconds)
    session.flush()
    return 0, {key: row.failures for key, row in rows.items()}


def _seconds_left(blocked_until: datetime | None, now: datetime) -> int:
    if blocked_until is None or blocked_until <= now:
        return 0
    return int((blocked_until - now).total_seconds()) + 1


def settle_success(session: Session, limits: list[Limit]) -> None:
    """The password was right: clear the account or device count, give the address its attempt back."""
    for limit in limits:
        if limit.cleared_on_success:
            clear(session, limit.key)
            continue
        remaining = LoginThrottle.failures - 1
        session.execute(
            update(LoginThrottle)
            .where(LoginThrottle.key == limit.key, LoginThrottle.failures > 0)
            .values(
                failures=remaining,
                blocked_until=case(
                    (remaining <= limit.free_failures, None), else_=LoginThrottle.blocked_until
                ),
            )
        )


def clear(session: Session, key: str) -> None:
    session.execute(delete(LoginThrottle).where(LoginThrottle.key == key))


def clear_user(session: Session, email: str, user_id: int) -> None:
    """Lift every block on the account: its own count and each of its known devices'."""
    session.execute(
        delete(LoginThrottle).where(
            (LoginThrottle.key == account_key(email))
            | col(LoginThrottle.key).startswith(f"device:{user_id}:", autoescape=True)
        )
    )


def status(session: Session, email: str) -> LoginThrottle | None:
    """The account's count of failures from unknown devices (for the administrator's page)."""
    row = session.get(LoginThrottle, account_key(email))
    return row if row is not None and row.failures > 0 else None


def within_rate(session: Session, key: str, limit: int, window: timedelta) -> bool:
    """Count one use of `key` in a fixed window (the row's `last_failure_at` is when the
    window began); False, counting nothing, once `limit` uses are spent (anonymous answers
    on the ward page, issue 18). The row stays locked until the caller commits."""
    now = utcnow()
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    session.execute(
        insert(LoginThrottle)
        .values(key=key, failures=0, last_failure_at=now)
        .on_conflict_do_nothing(index_elements=[LoginThrottle.key])
    )
    row = session.exec(
        select(LoginThrottle)
        .where(LoginThrottle.key == key)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    if row.last_failure_at is None or now - row.last_failure_at >= window:
        row.failures, row.last_failure_at = 0, now
    if row.failures >= limit:
        return False
    row.failures += 1
    session.flush()
    return True
