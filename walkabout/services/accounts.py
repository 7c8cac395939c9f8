"""Users: passwords (Argon2id), sign-in, roles, activation."""

from dataclasses import dataclass
from functools import cache

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError
from email_validator import EmailNotValidError, validate_email
from flask import current_app, has_app_context
from sqlmodel import Session, func, select
from zxcvbn import zxcvbn

from ..db_types import utcnow
from ..models import Role, User, UserRole
from . import ServiceError, audit, calendar, notifications, sessions, throttle
from . import notification_kinds as kinds


@dataclass(frozen=True)
class _Argon2:
    hasher: PasswordHasher
    # Verified against when the email is unknown, so timing does not reveal which emails exist.
    dummy_hash: str


@cache
def _argon2_for(profile: str | None) -> _Argon2:
    hasher = PasswordHasher.from_parameters(getattr(profiles, profile)) if profile else PasswordHasher()
    return _Argon2(hasher, hasher.hash("no such user: constant-time dummy"))


def _argon2() -> _Argon2:
    """Argon2id with the app's PASSWORD_HASH_PROFILE (None: the library's recommended parameters).

    Outside an app (scripts) it uses the recommended parameters. Hashes carry their
    own parameters, so a hash made under one profile still verifies under another.
    """
    profile = current_app.config.get("PASSWORD_HASH_PROFILE") if has_app_context() else None
    return _argon2_for(profile)


SIGN_IN_FAILED = "Email or password is not right."
MIN_PASSWORD_SCORE = 3  # zxcvbn: 0 (guessable) to 4 (very hard)


def hash_password(password: str) -> str:
    return _argon2().hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _argon2().hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def normalise_email(email: str) -> str:
    return email.strip().lower()


def check_password_rules(password: str, min_length: int, email: str | None = None) -> None:
    """Raise ServiceError when the password is too short, common or easy to guess.

    zxcvbn checks it against its lists of common passwords, words and names
    (and the user's own email) and estimates how guessable it is.
    """
    if len(password) < min_length:
        raise ServiceError(f"Use at least {min_length} characters for the password.")
    if email and password.strip().lower() == normalise_email(email):
        raise ServiceError("The password must not be your email address.")
    inputs = [email, *normalise_email(email).replace("@", " ").replace(".", " ").split()] if email else []
    estimate = zxcvbn(password[:100], user_inputs=inputs)
    if estimate["score"] < MIN_PASSWORD_SCORE:
        warning = estimate["feedback"].get("warning") or "This password is too easy to guess."
        raise ServiceError(f"{warning} Choose a longer phrase of unrelated words.")


class WrongCurrentPassword(ServiceError):
    """The current password given to confirm a change is not right."""


@dataclass
class SignInPolicy:
    free_failures_per_account: int
    free_failures_per_address: int
    free_failures_per_device: int
    first_block_seconds: int
    max_block_seconds: int


class SignInThrottled(ServiceError):
    def __init__(self, retry_after: int):
        self.retry_after = retry_after
        minutes, seconds = divmod(retry_after, 60)
        wait = f"{minutes} min {seconds} s" if minutes else f"{seconds} s"
        super().__init__(f"Too many failed attempts. Try again in {wait}.")


@dataclass
class PasswordAttempt:
    """A password check that has been counted already (see `start_attempt`)."""

    user_id: int | None
    password_hash: str | None
    limits: list[throttle.Limit]
    failures: dict[str, int]

    @property
    def from_known_device(self) -> bool:
        return any(limit.key.startswith("device:") for limit in self.limits)


def start_attempt(
    session: Session,
    email: str,
    address: str | None,
    known_devices: dict[int, str],
    policy: SignInPolicy,
) -> PasswordAttempt:
    """Count a password check for `email` as a failure before it is made; SignInThrottled while blocked.

    From a device known for the account (`known_devices`: user id -> nonce of the
    device cookie) only that device's count applies; otherwise the account's and
    the address's. The caller commits before `finish_sign_in` or
    `check_current_password`, so parallel guesses see each other's counts.
    """
    email = normalise_email(email)
    found = session.exec(select(User).where(User.email == email)).first()
    nonce = known_devices.get(found.id) if found is not None else None
    if nonce:
        limits = [throttle.Limit(throttle.device_key(found.id, nonce), policy.free_failures_per_device, True)]
    else:
        limits = [
            throttle.Limit(throttle.account_key(email), policy.free_failures_per_account, True),
            throttle.Limit(throttle.address_key(address), policy.free_failures_per_address, False),
        ]
    wait, failures = throttle.reserve(session, limits, policy.first_block_seconds, policy.max_block_seconds)
    if wait:
        raise SignInThrottled(wait)
    return PasswordAttempt(
        user_id=found.id if found is not None else None,
        password_hash=found.password_hash if found is not None else None,
        limits=limits,
        failures=failures,
    )


def _failed(session: Session, attempt: PasswordAttempt) -> None:
    """The failure stays counted; the owner hears of it by email once the account is blocked."""
    if attempt.user_id is None or attempt.from_known_device:
        return
    account = attempt.limits[0]
    if attempt.failures.get(account.key, 0) > account.free_failures:
        now = utcnow()
        notifications.enqueue(
            session,
            kind=kinds.SIGN_IN_FAILURES,
            recipient_id=attempt.user_id,
            dedupe_key=f"{kinds.SIGN_IN_FAILURES.key}:{attempt.user_id}:{now.date().isoformat()}",
            due_at=now,
        )


def finish_sign_in(
    session: Session, attempt: PasswordAttempt, password: str, password_allowed: bool = True
) -> User:
    """Check the password (before any database work: no lock is held meanwhile); the user, or ServiceError.

    `password_allowed` False (local passwords turned off, not the break-glass account)
    fails like a wrong password, after the same check, so the answer reveals nothing.
    """
    valid = verify_password(attempt.password_hash or _argon2().dummy_hash, password) and password_allowed
    user = session.get(User, attempt.user_id) if valid and attempt.user_id is not None else None
    if user is None or not user.active:
        _failed(session, attempt)
        raise ServiceError(SIGN_IN_FAILED)
    throttle.settle_success(session, attempt.limits)
    if _argon2().hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    return user


def create_user(
    session: Session,
    actor: User | None,
    *,
    email: str,
    name: str,
    roles: set[Role],
    password: str,
    job_title: str | None = None,
    must_change_password: bool = False,
) -> User:
    try:
        email = normalise_email(validate_email(email, check_deliverability=False).normalized)
    except EmailNotValidError as error:
        raise ServiceError(f"That email address is not valid: {error}") from error
    if session.exec(select(User.id).where(User.email == email)).first() is not None:
        raise ServiceError(f"A user with the email {email} already exists.")
    if not roles:
        raise ServiceError("Give the user at least one role.")
    user = User(
        email=email,
        name=name.strip(),
        job_title=(job_title or "").strip() or None,
        password_hash=hash_password(password),
        must_change_password=must_change_password,
        password_changed_at=utcnow(),
    )
    user.role_rows = [UserRole(role=role) for role in sorted(roles)]
    session.add(user)
    audit.record(session, actor, user, "created", {"email": email, "roles": sorted(roles)})
    return user


def update_user(
    session: Session, actor: User, user: User, *, name: str, job_title: str | None, roles: set[Role]
) -> None:
    if not roles:
        raise ServiceError("Give the user at least one role.")
    if user.id == actor.id and Role.ADMIN in user.roles and Role.ADMIN not in roles:
        raise ServiceError("You cannot remove your own administrator role.")
    changes = audit.diff(user, {"name": name.strip(), "job_title": (job_title or "").strip() or None})
    if roles != user.roles:
        changes["roles"] = [sorted(user.roles), sorted(roles)]
        kept = [row for row in user.role_rows if row.role in roles]
        added = [UserRole(role=role) for role in sorted(roles - user.roles)]
        user.role_rows = kept + added
    if changes:
        audit.record(session, actor, user, "updated", changes)


def set_password(
    session: Session, actor: User | None, user: User, password: str, keep_session: int | None = None
) -> None:
    """Set a new password and end the user's sessions (all but `keep_session`).

    Set by an administrator, it must be changed at the next sign-in; a reset
    (by an administrator or by email) also lifts sign-in blocks and gives the
    calendar feed a new address.
    """
    own = actor is not None and actor.id == user.id
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    user.must_change_password = actor is not None and not own
    sessions.end_all(session, user, keep=keep_session)
    if not own:
        throttle.clear_user(session, user.email, user.id)
        calendar.reissue_token(user)
    verb = "password_changed" if own else "password_reset" if actor is not None else "password_reset_by_email"
    audit.record(session, actor, user, verb)


def check_current_password(session: Session, user: User, attempt: PasswordAttempt, current: str) -> None:
    """Confirm the signed-in user's password; a wrong one counts like a failed sign-in."""
    if not verify_password(user.password_hash, current):
        _failed(session, attempt)
        raise WrongCurrentPassword("Your current password is not right.")
    throttle.settle_success(session, attempt.limits)


def change_own_password(session: Session, user: User, new: str, keep_session: int | None) -> None:
    """After `check_current_password`: the new password; other devices are signed out."""
    set_password(session, user, user, new, keep_session=keep_session)


def set_active(session: Session, actor: User, user: User, active: bool) -> None:
    """Activate or deactivate; deactivating ends the user's sessions and calendar address at once."""
    if user.id == actor.id and not active:
        raise ServiceError("You cannot deactivate yourself.")
    if user.active == active:
        return
    user.active = active
    if not active:
        sessions.end_all(session, user)
        calendar.reissue_token(user)
    audit.record(session, actor, user, "activated" if active else "deactivated")


def clear_sign_in_block(session: Session, actor: User, user: User) -> None:
    """An administrator lifts the user's sign-in block (after checking who was locked out)."""
    throttle.clear_user(session, user.email, user.id)
    audit.record(session, actor, user, "sign_in_block_cleared")


def sign_out_everywhere(session: Session, user: User) -> None:
    sessions.end_all(session, user)
    audit.record(session, user, user, "signed_out_everywhere")


def users_with_role(session: Session, role: Role, active_only: bool = True) -> list[User]:
    query = select(User).join(UserRole).where(UserRole.role == role).order_by(User.name)
    if active_only:
        query = query.where(User.active)
    return list(session.exec(query).all())


def count_users(session: Session) -> int:
    return session.exec(select(func.count()).select_from(User)).one()
