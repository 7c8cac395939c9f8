"""The signed-in person's own account: password, signed-in devices."""

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask import session as cookie_session
from flask_login import current_user

from .. import signin
from ..auth import signed_in, signed_in_user
from ..db import get_session
from ..forms.auth import PasswordChangeForm
from ..services import NotFound, ServiceError, accounts, sessions
from ..urls import ascii_int

bp = Blueprint("account", __name__, url_prefix="/account")

# Where someone whose password was set by an administrator may still go before choosing their own.
BEFORE_NEW_PASSWORD = frozenset(
    {"account.password", "auth.logout", "account.end_session", "account.end_all_sessions", "static"}
)


@bp.before_app_request
def require_own_password():
    """An administrator-set password must be replaced at the next sign-in."""
    if request.endpoint in BEFORE_NEW_PASSWORD or request.endpoint in (None, "health.healthz"):
        return None
    if cookie_session.get(signin.SINGLE_SIGN_ON):
        return None  # signed in at the identity provider: the password is not in use
    if current_user.is_authenticated and current_user.must_change_password:
        flash("Your password was set by an administrator. Choose your own to continue.", "info")
        return redirect(url_for("account.password"))
    return None


def _page(form: PasswordChangeForm, status: int):
    user = signed_in_user()
    devices = sessions.live_for(get_session(), user, signin.idle_limit())
    current = signin.current_record()
    return (
        render_template(
            "account/password.html",
            form=form,
            devices=devices,
            current_id=current.id if current is not None else None,
        ),
        status,
    )


@bp.route("/password", methods=["GET", "POST"])
@signed_in
def password():
    form = PasswordChangeForm()
    if not form.validate_on_submit():
        return _page(form, 400 if form.is_submitted() else 200)
    user, session = signed_in_user(), get_session()
    try:
        accounts.check_password_rules(
            form.new_password.data, current_app.config["PASSWORD_MIN_LENGTH"], user.email
        )
    except ServiceError as error:
        form.new_password.errors.append(str(error))
        return _page(form, 400)
    try:
        attempt = accounts.start_attempt(
            session, user.email, request.remote_addr, signin.known_devices(), signin.policy()
        )
        session.commit()  # counted before the slow check, like a sign-in
        accounts.check_current_password(session, user, attempt, form.current_password.data)
    except accounts.SignInThrottled as error:
        session.commit()
        form.current_password.errors.append(str(error))
        return _page(form, 429)
    except accounts.WrongCurrentPassword as error:
        session.commit()  # the failure stays counted
        form.current_password.errors.append(str(error))
        return _page(form, 400)
    record = signin.current_record()
    accounts.change_own_password(session, user, form.new_password.data, keep_session=record.id)
    session.commit()
    flash("Password changed. You have been signed out on your other devices.", "success")
    return redirect(url_for("account.password"), code=303)


@bp.post("/sessions/end")
@signed_in
def end_session():
    """Sign one of your devices out (this one too, if you choose it)."""
    session_id = ascii_int(request.form.get("session_id", ""))
    if session_id is None:
        abort(404)
    session, user = get_session(), signed_in_user()
    try:
        record = sessions.end(session, user, session_id)
    except NotFound:
        abort(404)
    session.commit()
    current = signin.current_record()
    if current is not None and current.id == record.id:
        signin.sign_out()
        flash("You are signed out on this device.", "success")
        return redirect(url_for("auth.login"), code=303)
    flash(f"Signed out: {record.device}.", "success")
    return redirect(url_for("account.password"), code=303)


@bp.post("/sessions/end-all")
@signed_in
def end_all_sessions():
    session = get_session()
    accounts.sign_out_everywhere(session, signed_in_user())
    session.commit()
    signin.sign_out()
    flash("You are signed out on every device.", "success")
    return redirect(url_for("auth.login"), code=303)
