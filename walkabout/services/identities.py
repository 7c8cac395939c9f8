"""Linking sign-ins at the trust's identity provider to Walkabout users.

The first sign-in of a provider account links it to the user with the same
email, only when the provider says the email is verified and the account is in
the configured tenant. After that the link is by issuer and subject (`sub`)
alone: a changed email at the provider neither breaks the link nor takes over
the account that now has that email.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from email_validator import EmailNotValidError, validate_email
from sqlmodel import Session, select

from ..db_types import utcnow
from ..models import ExternalIdentity, User
from . import ServiceError, audit
from .accounts import normalise_email

UNUSABLE_PASSWORD = "!single-sign-on"  # not an Argon2 hash: no password ever matches it


class SignInRefused(ServiceError):
    """The provider vouched for the person, but Walkabout will not sign them in."""


@dataclass(frozen=True)
class LinkPolicy:
    issuer: str
    tenant: str | None
    tenant_claim: str
    email_verified_claim: str
    create_users: bool


def _verified(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _text(claims: Mapping[str, Any], name: str, limit: int) -> str | None:
    value = claims.get(name)
    return value.strip()[:limit] or None if isinstance(value, str) else None


def _link(session: Session, user: User, policy: LinkPolicy, subject: str, email: str | None) -> None:
    identity = ExternalIdentity(user_id=user.id, issuer=policy.issuer, subject=subject, email_at_link=email)
    identity.last_sign_in_at = utcnow()
    session.add(identity)
    audit.record(session, None, user, "identity_linked", {"issuer": policy.issuer, "subject": subject})


def user_for(session: Session, claims: Mapping[str, Any], policy: LinkPolicy) -> User:
    """The user an ID token's (already verified) claims sign in as; SignInRefused with the reason."""
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject or len(subject) > 255:  # never cut: two could collide
        raise SignInRefused("The identity provider did not say who you are. Try again.")
    if policy.tenant and claims.get(policy.tenant_claim) != policy.tenant:
        raise SignInRefused(
            "Your account belongs to another organisation. Sign in with your account at this trust."
        )
    identity = session.exec(
        select(ExternalIdentity).where(
            ExternalIdentity.issuer == policy.issuer, ExternalIdentity.subject == subject
        )
    ).first()
    if identity is not None:
        user = session.get(User, identity.user_id)
        if user is None or not user.active:
            raise SignInRefused("Your Walkabout account is deactivated. Ask an administrator.")
        identity.last_sign_in_at = utcnow()
        return user
    return _first_sign_in(session, claims, policy, subject)


def _first_sign_in(session: Session, claims: Mapping[str, Any], policy: LinkPolicy, subject: str) -> User:
    email = _text(claims, "email", 254)
    if email is None or not _verified(claims.get(policy.email_verified_claim)):
        raise SignInRefused(
            "Your identity provider did not give a verified email address, so Walkabout cannot find "
            "your account. Ask an administrator."
        )
    try:
        email = normalise_email(validate_email(email, check_deliverability=False).normalized)
    except EmailNotValidError:
        raise SignInRefused("Your identity provider gave an email address Walkabout cannot use.") from None
    user = session.exec(select(User).where(User.email == email)).first()
    if user is not None:
        linked = session.exec(
            select(ExternalIdentity.id).where(
                ExternalIdentity.user_id == user.id, ExternalIdentity.issuer == policy.issuer
            )
        ).first()
        if linked is not None:
            # Another provider account already signs in as this user: an email that moved
            # between accounts at the provider must not take this one over.
            raise SignInRefused(
                f"The Walkabout account for {email} is linked to a different account at your identity "
                "provider. Ask an administrator."
            )
        if not user.active:
            raise SignInRefused("Your Walkabout account is deactivated. Ask an administrator.")
        _link(session, user, policy, subject, email)
        return user
    if not policy.create_users:
        raise SignInRefused(
            f"There is no Walkabout account for {email}. Ask an administrator to add you, then sign in again."
        )
    user = User(
        email=email,
        name=_text(claims, "name", 120) or email.partition("@")[0][:120],
        password_hash=UNUSABLE_PASSWORD,
    )
    session.add(user)
    audit.record(session, None, user, "created_at_sign_in", {"email": email, "roles": []})
    _link(session, user, policy, subject, email)
    return user


def identities_of(session: Session, user: User) -> list[ExternalIdentity]:
    return list(session.exec(select(ExternalIdentity).where(ExternalIdentity.user_id == user.id)).all())
