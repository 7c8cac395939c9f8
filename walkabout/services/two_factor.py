"""The second factor of local accounts: TOTP (RFC 6238, pyotp) and ten single-use recovery codes.

A code is accepted once: the time step it belongs to is stored, and a conditional
UPDATE takes it, so two requests racing with the same code cannot both pass.
Recovery codes are 80-bit random strings kept as their SHA-256 (like session
secrets, they are too random for a slow hash to add anything).
"""

import hashlib
import hmac
import secrets
from datetime import datetime

import pyotp
import segno
from sqlalchemy import delete, or_, update
from sqlmodel import Session, col, func, select

from ..db_types import utcnow
from ..models import RecoveryCode, Role, User
from . import ServiceError, audit, throttle

RECOVERY_CODE_COUNT = 10
RECOVERY_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford's base32: no i, l, o, u
RECOVERY_LENGTH = 16  # 16 x 5 bits = 80 bits
WRONG_CODE = "That code is not right. Enter the 6 digits your app shows now, or a recovery code."


class WrongCode(ServiceError):
    """The TOTP or recovery code was not accepted."""


def is_enabled(user: User) -> bool:
    return user.totp_secret is not None and user.totp_confirmed_at is not None


def is_required(user: User, required_for: str, break_glass: str | None) -> bool:
    """Whether `user` must use a second factor with a password (TWO_FACTOR_REQUIRED, break-glass)."""
    if required_for == "everyone" or (break_glass and user.email == break_glass):
        return True
    return required_for == "admins" and user.has_role(Role.ADMIN)


def throttle_key(user: User) -> str:
    return f"second-factor:{user.id}"


def new_secret() -> str:
    """A secret for an enrolment (kept by the caller until the first code confirms it)."""
    return pyotp.random_base32()


def provisioning_uri(user: User, secret: str, issuer_name: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=issuer_name)


def qr_code_data_uri(uri: str) -> str:
    """The otpauth:// link as an SVG QR code in a data: URI (the CSP allows data: images, no inline code)."""
    return segno.make(uri, error="m").svg_data_uri(scale=5, border=4, dark="#000", light="#fff")


def _normalise(code: str) -> str:
    return "".join((code or "").split()).replace("-", "").lower()[:64]


def _take_step(session: Session, user: User, code: str, now: datetime) -> bool:
    totp = pyotp.TOTP(user.totp_secret)
    current = totp.timecode(now)
    for step in (current - 1, current, current + 1):  # one step of clock drift either way
        if not hmac.compare_digest(totp.generate_otp(step), code):
            continue
        taken = session.execute(
            update(User)
            .where(
                User.id == user.id,
                or_(col(User.totp_last_step).is_(None), col(User.totp_last_step) < step),
            )
            .values(totp_last_step=step)
            .execution_options(synchronize_session=False)
        )
        if taken.rowcount == 1:
            user.__dict__["totp_last_step"] = step
            return True
        return False  # this code (or a later one) was used already
    return False


def _digest(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def _use_recovery_code(session: Session, user: User, code: str, now: datetime) -> bool:
    if len(code) != RECOVERY_LENGTH or not all(ch in RECOVERY_ALPHABET for ch in code):
        return False
    used = session.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == _digest(code),
            col(RecoveryCode.used_at).is_(None),
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if used.rowcount != 1:
        return False
    audit.record(session, user, user, "recovery_code_used", {"left": recovery_codes_left(session, user)})
    return True


def check_code(session: Session, user: User, code: str, allow_recovery: bool = True) -> None:
    """Accept a current TOTP code (6 ASCII digits) or an unused recovery code, once; else WrongCode."""
    text, now = _normalise(code), utcnow()
    if user.totp_secret is None:
        raise WrongCode(WRONG_CODE)
    if len(text) == 6 and text.isascii() and text.isdigit():
        if _take_step(session, user, text, now):
            return
    elif allow_recovery and is_enabled(user) and _use_recovery_code(session, user, text, now):
        return
    raise WrongCode(WRONG_CODE)


def _new_recovery_codes(session: Session, user: User) -> list[str]:
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [
        "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_LENGTH))
        for _ in range(RECOVERY_CODE_COUNT)
    ]
    session.add_all(RecoveryCode(user_id=user.id, code_hash=_digest(code)) for code in codes)
    return [format_recovery_code(code) for code in codes]


def format_recovery_code(code: str) -> str:
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def confirm_enrolment(session: Session, user: User, secret: str, code: str) -> list[str]:
    """Finish enrolment with a first code from the app; returns the ten recovery codes (shown once)."""
    if is_enabled(user):
        raise ServiceError("Your authenticator app is set up already.")
    if len(secret) != 32 or not secret.isalnum():
        raise ServiceError("Start setting up the authenticator app again.")
    user.totp_secret, user.totp_last_step = secret, None
    session.flush()
    check_code(session, user, code, allow_recovery=False)
    user.totp_confirmed_at = utcnow()
    codes = _new_recovery_codes(session, user)
    audit.record(session, user, user, "two_factor_enabled")
    return codes


def replace_recovery_codes(session: Session, user: User) -> list[str]:
    """Ten new recovery codes; the old ones stop working."""
    if not is_enabled(user):
        raise ServiceError("Set up the authenticator app first.")
    codes = _new_recovery_codes(session, user)
    audit.record(session, user, user, "recovery_codes_replaced")
    return codes


def recovery_codes_left(session: Session, user: User) -> int:
    return session.exec(
        select(func.count())
        .select_from(RecoveryCode)
        .where(RecoveryCode.user_id == user.id, col(RecoveryCode.used_at).is_(None))
    ).one()


def turn_off(session: Session, user: User, required: bool, code: str) -> None:
    """The user removes their own optional second factor, confirmed with a current code from the app."""
    if not is_enabled(user):
        raise ServiceError("Your account has no second factor to turn off.")
    if required:
        raise ServiceError("Your trust requires a second factor for your account: it cannot be turned off.")
    check_code(session, user, code, allow_recovery=False)
    _remove(session, user)
    audit.record(session, user, user, "two_factor_turned_off")


def _remove(session: Session, user: User) -> None:
    user.totp_secret = None
    user.totp_confirmed_at = None
    user.totp_last_step = None
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    throttle.clear(session, throttle_key(user))


def reset(session: Session, actor: User, user: User) -> None:
    """An administrator removes a user's second factor (a lost phone): they set it up again at
    the next sign-in where it is required. Blocks on wrong codes are lifted."""
    had = is_enabled(user)
    _remove(session, user)
    audit.record(session, actor, user, "two_factor_reset", {"was_enabled": had})
