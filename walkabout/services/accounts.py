"""Users: passwords (Argon2id), sign-in, roles, activation."""

import secrets
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
from . import ServiceError, audit, throttle


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


def new_token() -> str:
    return secrets.token_urlsafe(32)


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
    max_block_seconds: int


class SignInThrottled(ServiceError):
    def __init__(self, retry_after: int):
        self.retry_after = retry_after
        minutes, seconds = divmod(retry_after, 60)
        wait = f"{minutes} min {seconds} s" if minutes else f"{seconds} s"
        super().__init__(f"Too many failed attempts. Try again in {wait}.")


def authenticate(
    session: Session,
    email: str,
    password: str,
    address: str | None,
    policy: SignInPolicy,
    lookup: Session | None = None,
) -> User:
    """The active user with this email and password, or ServiceError.

    Raises SignInThrottled without checking the password while the account or
    address is blocked. The caller commits, so that failures are counted.
    With `lookup` (a read-only session) the slow password check runs before
    `session` starts its write transaction, so sign-ins do not queue on SQLite's
    write lock for the length of an Argon2 check.
    """
    email = normalise_email(email)
    account, origin = throttle.account_key(email), throttle.address_key(address)
    reader = lookup or session
    wait = throttle.retry_after(reader, [account, origin])
    if wait:
        raise SignInThrottled(wait)
    found = reader.exec(select(User).where(User.email == email)).first()
    valid = verify_password(found.password_hash if found else _argon2().dummy_hash, password)
    if lookup is not None:
        lookup.rollback()  # end the read before writing
    user = session.get(User, found.id) if found is not None and lookup is not None else found
    if not (valid and user and user.active):
        throttle.record_failure(session, account, policy.free_failures_per_account, policy.max_block_seconds)
        throttle.record_failure(session, origin, policy.free_failures_per_address, policy.max_block_seconds)
        raise ServiceError(SIGN_IN_FAILED)
    throttle.clear(session, account)
    if _argon2().hasher.check_needs_rehash(user.password_hash):  # the parameters changed
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
        session_token=new_token(),
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


def set_password(session: Session, actor: User | None, user: User, password: str) -> None:
    """Set a new password and sign the user out of every other session."""
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    user.session_token = new_token()
    verb = "password_changed" if actor is not None and actor.id == user.id else "password_reset"
    audit.record(session, actor, user, verb)


def change_own_password(session: Session, user: User, current: str, new: str, min_length: int) -> None:
    if not verify_password(user.password_hash, current):
        raise WrongCurrentPassword("Your current password is not right.")
    check_password_rules(new, min_length, user.email)
    set_password(session, user, user, new)


def set_active(session: Session, actor: User, user: User, active: bool) -> None:
    """Activate or deactivate; deactivating ends the user's sessions at once."""
    if user.id == actor.id and not active:
        raise ServiceError("You cannot deactivate yourself.")
    if user.active == active:
        return
    user.active = active
    if not active:
        user.session_token = new_token()
    audit.record(session, actor, user, "activated" if active else "deactivated")


def users_with_role(session: Session, role: Role, active_only: bool = True) -> list[User]:
    query = select(User).join(UserRole).where(UserRole.role == role).order_by(User.name)
    if active_only:
        query = query.where(User.active)
    return list(session.exec(query).all())


def count_users(session: Session) -> int:
    return session.exec(select(func.count()).select_from(User)).one()
