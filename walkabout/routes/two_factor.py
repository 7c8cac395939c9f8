"""The second factor: the code after a password, enrolment (QR code) and recovery codes."""

from collections.abc import Callable

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask import session as cookie_session
from flask_login import current_user

from .. import signin
from ..auth import signed_in, signed_in_user
from ..db import get_session
from ..forms.auth import SecondFactorForm
from ..models import User
from ..services import ServiceError, accounts, throttle, two_factor
from .auth import signed_in_redirect, start_session

bp = Blueprint("two_factor", __name__)
TURN_OFF = "off"  # the turn-off form's prefix: it shares the page with the recovery-codes form


def _throttled(user: User, check: Callable):
    """Run a code check counted like a password: a failure is committed before the check is made."""
    session, config = get_session(), current_app.config
    limit = throttle.Limit(two_factor.throttle_key(user), config["TWO_FACTOR_FREE_FAILURES"], True)
    wait, _ = throttle.reserve(
        session, [limit], config["LOGIN_FIRST_BLOCK_SECONDS"], config["LOGIN_MAX_BLOCK_SECONDS"]
    )
    session.commit()
    if wait:
        raise accounts.SignInThrottled(wait)
    try:
        result = check()
    except ServiceError:
        session.rollback()  # the failure stays counted (committed above); nothing else is kept
        raise
    throttle.settle_success(session, [limit])
    return result


def _attempt(form: SecondFactorForm, user: User, check: Callable):
    """(result, status): the check's result and 200, or None and the status of the error shown."""
    if not form.validate_on_submit():
        return None, 400 if form.is_submitted() else 200
    try:
        return _throttled(user, check), 200
    except accounts.SignInThrottled as error:
        form.code.errors.append(str(error))
        return None, 429
    except ServiceError as error:
        form.code.errors.append(str(error))
        return None, 401


def _pending_user() -> tuple[dict, User] | None:
    pending = signin.pending_sign_in()
    if pending is None:
        return None
    user = get_session().get(User, pending["user_id"])
    if user is None or not user.active:
        return None
    return pending, user


def _sign_in_again():
    cookie_session.pop(signin.PENDING, None)
    flash("Sign in again: the time for the second step ran out.", "info")
    return redirect(url_for("auth.login"), code=303)


@bp.route("/login/two-factor", methods=["GET", "POST"])
def verify():
    """The second step of a password sign-in: a code from the app, or a recovery code."""
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    found = _pending_user()
    if found is None:
        return _sign_in_again()
    pending, user = found
    if not two_factor.is_enabled(user):
        return redirect(url_for("two_factor.setup"), code=303)
    form = SecondFactorForm()
    ok, status = _attempt(
        form, user, lambda: two_factor.check_code(get_session(), user, form.code.data) or True
    )
    if ok:
        start_session(user, pending["remember"])
        return signed_in_redirect(user, pending["next"], signin.known_devices())
    return render_template("auth/two_factor.html", form=form), status


def _enrolment_secret() -> str:
    secret = cookie_session.get(signin.ENROLMENT)
    if not isinstance(secret, str):
        secret = two_factor.new_secret()
        cookie_session[signin.ENROLMENT] = secret
    return secret


def _setup_page(form: SecondFactorForm, user: User, secret: str, action: str, status: int):
    uri = two_factor.provisioning_uri(user, secret, current_app.config["TRUST_NAME"] + " Walkabout")
    return (
        render_template(
            "auth/two_factor_setup.html",
            form=form,
            action=action,
            qr_code=two_factor.qr_code_data_uri(uri),
            secret=" ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
        ),
        status,
    )


def _codes_page(codes: list[str], continue_to: str):
    return render_template("auth/recovery_codes.html", codes=codes, continue_to=continue_to)


@bp.route("/login/two-factor/setup", methods=["GET", "POST"])
def setup():
    """A sign-in that needs a second factor the account does not have yet: set it up now."""
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    found = _pending_user()
    if found is None:
        return _sign_in_again()
    pending, user = found
    if two_factor.is_enabled(user):
        return redirect(url_for("two_factor.verify"), code=303)
    secret, form = _enrolment_secret(), SecondFactorForm()
    codes, status = _attempt(
        form, user, lambda: two_factor.confirm_enrolment(get_session(), user, secret, form.code.data)
    )
    if codes is None:
        return _setup_page(form, user, secret, url_for("two_factor.setup"), status)
    start_session(user, pending["remember"])  # a fresh Flask session: the enrolment secret goes
    response = current_app.make_response(_codes_page(codes, pending["next"]))
    signin.remember_device(response, user.id, signin.known_devices())
    return response


def _required(user: User) -> bool:
    config = current_app.config
    return two_factor.is_required(user, config["TWO_FACTOR_REQUIRED"], config["BREAK_GLASS_ADMIN"])


def _manage_page(form: SecondFactorForm, user: User, status: int, off_form: SecondFactorForm | None = None):
    return (
        render_template(
            "account/two_factor.html",
            form=form,
            off_form=off_form or SecondFactorForm(prefix=TURN_OFF),
            left=two_factor.recovery_codes_left(get_session(), user),
            total=two_factor.RECOVERY_CODE_COUNT,
            required=_required(user),
        ),
        status,
    )


@bp.route("/account/two-factor", methods=["GET", "POST"])
@signed_in
def manage():
    """Your second factor: set it up (optional unless required), or see how many recovery codes are left."""
    user, session = signed_in_user(), get_session()
    form = SecondFactorForm()
    if two_factor.is_enabled(user):
        return _manage_page(form, user, 400 if form.is_submitted() else 200)
    secret = _enrolment_secret()
    codes, status = _attempt(
        form, user, lambda: two_factor.confirm_enrolment(session, user, secret, form.code.data)
    )
    if codes is None:
        return _setup_page(form, user, secret, url_for("two_factor.manage"), status)
    session.commit()
    cookie_session.pop(signin.ENROLMENT, None)
    return _codes_page(codes, url_for("two_factor.manage"))


@bp.post("/account/two-factor/recovery-codes")
@signed_in
def recovery_codes():
    """Ten new recovery codes (a current code from the app confirms it is you)."""
    user, session = signed_in_user(), get_session()
    form = SecondFactorForm()
    if not two_factor.is_enabled(user):
        flash("Set up the authenticator app first.", "error")
        return redirect(url_for("two_factor.manage"), code=303)
    codes, status = _attempt(
        form,
        user,
        lambda: (
            two_factor.check_code(session, user, form.code.data, allow_recovery=False),
            two_factor.replace_recovery_codes(session, user),
        )[1],
    )
    if codes is None:
        return _manage_page(form, user, status)
    session.commit()
    return _codes_page(codes, url_for("two_factor.manage"))


@bp.post("/account/two-factor/turn-off")
@signed_in
def turn_off():
    """Remove your own second factor where the trust does not require one (a current code confirms it)."""
    user, session = signed_in_user(), get_session()
    form = SecondFactorForm(prefix=TURN_OFF)
    if not two_factor.is_enabled(user):
        flash("Your account has no second factor to turn off.", "info")
        return redirect(url_for("two_factor.manage"), code=303)
    if _required(user):
        flash("Your trust requires a second factor for your account: it cannot be turned off.", "error")
        return redirect(url_for("two_factor.manage"), code=303)
    done, status = _attempt(
        form, user, lambda: two_factor.turn_off(session, user, False, form.code.data) or True
    )
    if not done:
        return _manage_page(SecondFactorForm(formdata=None), user, status, off_form=form)
    session.commit()
    flash("Second factor turned off: signing in needs your password only.", "success")
    return redirect(url_for("two_factor.manage"), code=303)
