"""Idempotency keys: a retried or double-tapped submission creates one record.

The phone generates a key per submission (the server also renders one into the
form, for browsers without JavaScript). The first request with a key claims it
inside the transaction that creates the record; a repeat finds the claim and
gets the same record back. On PostgreSQL a concurrent repeat waits on the
unique constraint until the first commits, then sees its claim.
"""

import re
import secrets

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from ..models import IdempotencyKey, User

KEY_PATTERN = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


def new_key() -> str:
    return secrets.token_urlsafe(18)


def clean_key(raw: str | None) -> str | None:
    """The key if it is well formed, else None (a missing key is accepted: no replay protection)."""
    raw = (raw or "").strip()
    return raw if KEY_PATTERN.match(raw) else None


def find(session: Session, user: User, key: str, scope: str) -> IdempotencyKey | None:
    return session.exec(
        select(IdempotencyKey).where(
            IdempotencyKey.user_id == user.id, IdempotencyKey.key == key, IdempotencyKey.scope == scope
        )
    ).first()


def claim(session: Session, user: User, key: str, scope: str) -> IdempotencyKey | None:
    """Claim `key` for a new record; None when it was already used (see `find`)."""
    row = IdempotencyKey(user_id=user.id, key=key, scope=scope)
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        return None
    return row


def attach(row: IdempotencyKey, entity) -> None:
    row.entity_type = entity.__tablename__
    row.entity_id = entity.id
