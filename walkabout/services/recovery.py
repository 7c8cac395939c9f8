"""Self-service password reset by email.

A request records a `PasswordReset` and queues an email; the email's link holds
a token signed with the app's secret (itsdangerous) that names the record. The
link works once (the record is marked used in the same UPDATE that checks it),
for `PASSWORD_RESET_MINUTES` after it was asked for, and not after the password
changed in another way. Using it ends every session of the account.
"""

from datetime import timedelta

from itsdangerous import BadData, URLSafeTimedSerializer
from sqlalchemy import update
from sqlmodel import Session, col, select

from ..db_types import utcnow
from ..models import PasswordReset, User
from . import ServiceError, accounts, notifications
from . import notification_kinds as kinds

SALT = "walkabout-password-reset"
# One email per account in this time, however often the form is sent (no mail bombing).
RESEND_AFTER = timedelta(minutes=5)
ANSWER = (
    "If an account uses that email address, we have sent it a link to choose a new password. "
    "The link works once, for {minutes} minutes."
)


class ResetLinkInvalid(ServiceError):
    def __init__(self):
        super().__init__("This link has expired or has already been used. Ask for a new one below.")


def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=SALT)


def token_for(secret_key: str, reset: PasswordReset) -> str:
    return _serializer(secret_key).dumps(reset.id)


def request_reset(session: Session, email: str) -> None:
    """Queue a reset email when an active account has this email; nothing tells whether one does."""
    user = session.exec(select(User).where(User.email == accounts.normalise_email(email))).first()
    if user is None or not user.active:
        return
    now = utcnow()
    recent = session.exec(
        select(PasswordReset.id).where(
            PasswordReset.user_id == user.id, PasswordReset.created_at > now - RESEND_AFTER
        )
    ).first()
    if recent is not None:
        return
    reset = PasswordReset(user_id=user.id, created_at=now)
    session.add(reset)
    session.flush()
    notifications.enqueue(
        session,
        kind=kinds.PASSWORD_RESET,
        recipient_id=user.id,
        dedupe_key=f"{kinds.PASSWORD_RESET.key}:{reset.id}",
        due_at=now,
        subject_type="password_reset",
        subject_id=reset.id,
    )


def usable(session: Session, reset_id: int, lifetime: timedelta) -> tuple[PasswordReset, User] | None:
    """The reset and its user while the link may still be used."""
    reset = session.get(PasswordReset, reset_id)
    if reset is None or reset.used_at is not None or utcnow() - reset.created_at > lifetime:
        return None
    user = session.get(User, reset.user_id)
    if user is None or not user.active:
        return None
    if user.password_changed_at is not None and user.password_changed_at > reset.created_at:
        return None
    return reset, user


def check_token(
    session: Session, secret_key: str, token: str, lifetime: timedelta
) -> tuple[PasswordReset, User]:
    """The reset a link's token names, or ResetLinkInvalid (forged, late, used)."""
    if not token or len(token) > 200:
        raise ResetLinkInvalid()
    try:
        reset_id = _serializer(secret_key).loads(token, max_age=int(lifetime.total_seconds()) + 60)
    except BadData:
        raise ResetLinkInvalid() from None
    found = usable(session, reset_id, lifetime) if isinstance(reset_id, int) else None
    if found is None:
        raise ResetLinkInvalid()
    return found


def complete_reset(
    session: Session, secret_key: str, token: str, password: str, lifetime: timedelta, min_length: int
) -> User:
    """Set the password chosen through a link, once; every session of the account ends."""
    reset, user = check_token(session, secret_key, token, lifetime)
    accounts.check_password_rules(password, min_length, user.email)
    claimed = session.execute(
        update(PasswordReset)
        .where(PasswordReset.id == reset.id, col(PasswordReset.used_at).is_(None))
        .values(used_at=utcnow())
    )
    if claimed.rowcount != 1:  # a second submission of the same link got here first
        raise ResetLinkInvalid()
    session.execute(
        update(PasswordReset)
        .where(PasswordReset.user_id == user.id, col(PasswordReset.used_at).is_(None))
        .values(used_at=utcnow())
    )
    accounts.set_password(session, None, user, password)
    return user
