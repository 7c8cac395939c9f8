"""Signed-in devices, recorded on the server.

Each sign-in creates a `UserSession` with a new random secret; the cookies carry
the secret, the table only its SHA-256. Ending a session deletes its row, so a
copied session or remember-me cookie stops working at once.
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

import sqlalchemy as sa
from sqlalchemy import delete, or_, update
from sqlalchemy.orm import defer
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from ..db_types import utcnow
from ..models import Role, TrustBranding, User, UserRole, UserSession
from . import NotFound, audit, data_version
from .notifications import unread_count_query

UNKNOWN_DEVICE = "Unknown browser"


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@cache
def _parser():
    # Lazy rules: only the patterns tried until one matches are compiled (the full set takes ~1 s).
    from ua_parser import BasicResolver, Parser, load_lazy_builtins

    return Parser(BasicResolver(load_lazy_builtins()))


def describe_device(user_agent: str | None) -> str:
    """ "Chrome on Android", "Mobile Safari on iOS": what people recognise in their device list."""
    text = (user_agent or "")[:512]
    if not text:
        return UNKNOWN_DEVICE
    parser = _parser()
    browser, system = parser.parse_user_agent(text), parser.parse_os(text)
    if browser is None and system is None:
        return UNKNOWN_DEVICE
    name = browser.family if browser else UNKNOWN_DEVICE
    return (f"{name} on {system.family}" if system else name)[:120]


def start(
    session: Session,
    user: User,
    *,
    user_agent: str | None,
    address: str | None,
    lifetime: timedelta,
    idle: timedelta,
) -> tuple[UserSession, str]:
    """A new session record for `user` and its secret (for the cookies); ended ones of theirs are swept."""
    now = utcnow()
    session.execute(
        delete(UserSession).where(
            UserSession.user_id == user.id,
            or_(UserSession.expires_at <= now, UserSession.last_seen_at <= now - idle),
        )
    )
    secret = secrets.token_urlsafe(32)
    record = UserSession(
        user_id=user.id,
        secret_hash=_digest(secret),
        device=describe_device(user_agent),
        address=(address or "")[:64] or None,
        created_at=now,
        last_seen_at=now,
        expires_at=now + lifetime,
    )
    session.add(record)
    session.flush()
    return record, secret


def bind(user: User, secret: str) -> None:
    """Make `user.get_id()` name this session (Flask-Login stores it in the cookies)."""
    user.__dict__["session_secret"] = secret


@dataclass(frozen=True)
class Found:
    """A session record as every signed-in request reads it, with what the page header shows."""

    record: UserSession
    unread: int
    brand: tuple[str | None, str | None, int] | None  # trust_branding's name, logo type, version


@cache
def _find_statement():
    """Built once: the record of a secret's digest with its user (no password hash), their roles,
    unread message count, the trust's name and logo flag and the data versions, in one query.
    Building and compiling the statement afresh cost more than running it; the roles come as one
    string rather than as rows the ORM would load and sort out."""
    unread = unread_count_query(UserSession.user_id).scalar_subquery()
    roles = (
        select(sa.func.aggregate_strings(UserRole.role, ","))
        .where(UserRole.user_id == UserSession.user_id)
        .scalar_subquery()
    )
    return (
        select(
            UserSession,
            User,
            roles,
            unread,
            TrustBranding.name,
            TrustBranding.logo_type,
            TrustBranding.version,
            *data_version.versions_statement(),
        )
        .join(User, User.id == UserSession.user_id)
        .outerjoin(TrustBranding, TrustBranding.id == sa.literal(1))
        .where(UserSession.secret_hash == sa.bindparam("digest"))
        .options(defer(User.password_hash))
    )


def find(session: Session, secret: str) -> Found | None:
    """The record of `secret` with its user, roles, unread message count and the trust's branding
    (on every page), in one query; not the password hash, which few requests need and loads when
    asked for."""
    if not secret or len(secret) > 200:
        return None
    row = session.exec(_find_statement(), params={"digest": _digest(secret)}).first()
    if row is None:
        return None
    record, user, roles, unread, *rest = row
    set_committed_value(record, "user", user)  # the identity map holds rows weakly: keep the user
    if "role_rows" not in user.__dict__:
        user.__dict__["signed_in_roles"] = frozenset(Role(name) for name in (roles or "").split(",") if name)
    brand, versions = rest[:3], rest[3:]
    data_version.note_read(session, versions)
    return Found(record, unread, tuple(brand) if brand[2] is not None else None)


def is_live(record: UserSession, now: datetime, idle: timedelta) -> bool:
    return record.expires_at > now and now - record.last_seen_at <= idle


def live_for(session: Session, user: User, idle: timedelta) -> list[UserSession]:
    """The user's signed-in devices, most recently used first."""
    now = utcnow()
    return list(
        session.exec(
            select(UserSession)
            .where(
                UserSession.user_id == user.id,
                UserSession.expires_at > now,
                UserSession.last_seen_at > now - idle,
            )
            .order_by(col(UserSession.last_seen_at).desc(), col(UserSession.id).desc())
        ).all()
    )


def touch_statement(record: UserSession, now: datetime):
    """The UPDATE that moves "last seen" to `now` (callers write it at most every few minutes)."""
    return update(UserSession).where(UserSession.id == record.id).values(last_seen_at=now)


def sign_out(session: Session, record: UserSession) -> None:
    """This device signs out: its record goes, so copies of its cookies stop working too."""
    session.execute(delete(UserSession).where(UserSession.id == record.id))


def end(session: Session, user: User, session_id: int) -> UserSession:
    """Sign one of the user's own devices out; another user's session is NotFound."""
    record = session.get(UserSession, session_id)
    if record is None or record.user_id != user.id:
        raise NotFound("That device is not signed in any more.")
    session.delete(record)
    audit.record(session, user, user, "session_ended", {"device": record.device})
    return record


def end_all(session: Session, user: User, keep: int | None = None) -> None:
    """End every session of `user` (but `keep`, the device that asked): copied cookies stop at once."""
    statement = delete(UserSession).where(UserSession.user_id == user.id)
    if keep is not None:
        statement = statement.where(UserSession.id != keep)
    session.execute(statement)
