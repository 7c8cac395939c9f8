"""Account security emails (issue 20): the password reset link, and the warning
about repeated failed sign-ins. Added to `compose.BUILDERS`."""

from datetime import timedelta

from ..models import PasswordReset
from ..services import recovery, throttle
from .parts import Skip, key_parts


def password_reset(session, note, recipient, now, config):
    (reset_id,) = key_parts(note)
    lifetime = timedelta(minutes=config["PASSWORD_RESET_MINUTES"])
    found = recovery.usable(session, int(reset_id), lifetime)
    if found is None or found[1].id != recipient.id:
        raise Skip("the reset link was used, has expired or no longer applies")
    reset: PasswordReset = found[0]
    link = f"{config['BASE_URL']}/password-reset/{recovery.token_for(config['SECRET_KEY'], reset)}"
    context = {"link": link, "minutes": config["PASSWORD_RESET_MINUTES"]}
    return "Choose a new Walkabout password", "password_reset", context, []


def sign_in_failures(session, note, recipient, now, config):
    row = throttle.status(session, recipient.email)
    context = {
        "failures": row.failures if row is not None else None,
        "last": row.last_failure_at if row else None,
    }
    return "Failed attempts to sign in to your Walkabout account", "sign_in_failures", context, []


BUILDERS = {"password_reset": password_reset, "sign_in_failures": sign_in_failures}
