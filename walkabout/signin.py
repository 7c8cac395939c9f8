"""The web side of signing in: the session record behind each request, the
known-device cookie, and the Flask session around sign-in and sign-out.

The database side is in `services/sessions.py` (records) and
`services/throttle.py` (counts); routes call these helpers around them.
"""

import secrets
import time
from datetime import timedelta

from flask import current_app, g, request
from flask import session as cookie_session
from flask_login import login_user, logout_user
from itsdangerous import BadData, URLSafeSerializer
from sqlalchemy.orm.attributes import set_committed_value

from .db import WRITE_METHODS, get_db, get_session
from .db_types import utcnow
from .models import User, UserSession
from .services import accounts, branding, sessions

DEVICE_SALT = "walkabout-known-device"
MAX_KNOWN_ACCOUNTS = 5  # a shared ward computer remembers up to five people


def idle_limit() -> timedelta:
    return timedelta(minutes=current_app.config["SESSION_IDLE_MINUTES"])


def policy() -> accounts.SignInPolicy:
    config = current_app.config
    return accounts.SignInPolicy(
        free_failures_per_account=config["LOGIN_FREE_FAILURES_PER_ACCOUNT"],
        free_failures_per_address=config["LOGIN_FREE_FAILURES_PER_ADDRESS"],
        free_failures_per_device=config["LOGIN_FREE_FAILURES_PER_DEVICE"],
        first_block_seconds=config["LOGIN_FIRST_BLOCK_SECONDS"],
        max_block_seconds=config["LOGIN_MAX_BLOCK_SECONDS"],
    )


# --- the session record of this request -------------------------------------------


def load_user(secret: str) -> User | None:
    """Flask-Login's user loader: the user of a live session record, in one query.

    An idle or expired record is refused (and noted, so the sign-in page can say
    why). "Last seen" is written at most every SESSION_TOUCH_SECONDS.
    """
    found = sessions.find(get_session(), secret)
    if found is None or not found.record.user.active:
        return None
    record = found.record
    now = utcnow()
    if not sessions.is_live(record, now, idle_limit()):
        g.session_timed_out = True
        return None
    if (now - record.last_seen_at).total_seconds() >= current_app.config["SESSION_TOUCH_SECONDS"]:
        _touch(record, now)
    g.session_record = record
    g.unread_messages = found.unread  # the badge in the header, counted in the same query
    g.brand = branding.from_row(found.brand, current_app.config["TRUST_NAME"])  # read in it too
    sessions.bind(record.user, secret)
    return record.user


def _touch(record: UserSession, now) -> None:
    if request.method in WRITE_METHODS:
        # This request holds the write transaction (SQLite: its lock): write in it, committed with it.
        get_session().execute(sessions.touch_statement(record, now))
    else:
        with get_db().write_engine.begin() as connection:  # reads never write: a short write of its own
            connection.execute(sessions.touch_statement(record, now))
    set_committed_value(record, "last_seen_at", now)  # already written: not a change to flush


def current_record() -> UserSession | None:
    """The session record of the signed-in request (after current_user was loaded)."""
    return g.get("session_record")


def sign_in(user: User, secret: str, remember: bool) -> None:
    """Start a fresh Flask session bound to the new record: nothing from before sign-in
    (a planted cookie's CSRF token included) survives."""
    cookie_session.clear()
    sessions.bind(user, secret)
    login_user(user, remember=remember)


# --- between the password and the second factor --------------------------------------
PENDING = "pending_sign_in"  # {user_id, remember, next, at}: the password was right, no session yet
ENROLMENT = "totp_enrolment"  # the secret shown as a QR code, until a first code confirms it
SINGLE_SIGN_ON = "sso"  # this session began at the identity provider


def await_second_factor(user: User, remember: bool, next_url: str) -> None:
    """The password was right: a fresh Flask session remembers whose code to ask for (not signed in)."""
    cookie_session.clear()
    cookie_session[PENDING] = {"user_id": user.id, "remember": remember, "next": next_url, "at": time.time()}


def pending_sign_in() -> dict | None:
    """The sign-in waiting for its second factor, while it is recent (TWO_FACTOR_PENDING_MINUTES)."""
    pending = cookie_session.get(PENDING)
    if not isinstance(pending, dict) or not isinstance(pending.get("user_id"), int):
        return None
    if time.time() - float(pending.get("at", 0)) > current_app.config["TWO_FACTOR_PENDING_MINUTES"] * 60:
        cookie_session.pop(PENDING, None)
        return None
    return pending


def sign_out() -> None:
    """Forget this browser's session and remember-me cookie (the record is ended by the caller)."""
    cookie_session.clear()
    logout_user()  # after clear(): it marks the remember-me cookie for deletion
    g.pop("session_record", None)


def session_lifetime(remember: bool) -> timedelta:
    config = current_app.config
    return config["REMEMBER_COOKIE_DURATION"] if remember else config["PERMANENT_SESSION_LIFETIME"]


# --- known devices (OWASP "device cookies") ----------------------------------------


def _device_serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=DEVICE_SALT)


def known_devices() -> dict[int, str]:
    """{user id: nonce} for the accounts that signed in on this browser before."""
    raw = request.cookies.get(current_app.config["KNOWN_DEVICE_COOKIE_NAME"])
    if not raw or len(raw) > 2000:
        return {}
    try:
        pairs = _device_serializer().loads(raw)
    except BadData:
        return {}
    if not isinstance(pairs, list):
        return {}
    return {
        user_id: nonce
        for user_id, nonce in (pair for pair in pairs if isinstance(pair, list) and len(pair) == 2)
        if isinstance(user_id, int) and isinstance(nonce, str)
    }


def remember_device(response, user_id: int, known: dict[int, str]) -> None:
    """After a good sign-in: this browser is a known device for the account (a new nonce each time)."""
    others = [[uid, nonce] for uid, nonce in known.items() if uid != user_id]
    pairs = [*others[-(MAX_KNOWN_ACCOUNTS - 1) :], [user_id, secrets.token_urlsafe(16)]]
    config = current_app.config
    response.set_cookie(
        config["KNOWN_DEVICE_COOKIE_NAME"],
        _device_serializer().dumps(pairs),
        max_age=int(timedelta(days=config["KNOWN_DEVICE_DAYS"]).total_seconds()),
        secure=config["HTTPS"],
        httponly=True,
        samesite="Lax",
        path="/",
    )
