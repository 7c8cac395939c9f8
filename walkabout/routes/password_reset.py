"""Forgotten password: ask for a link by email, then choose a new password with it."""

from datetime import timedelta

from flask import Blueprint, current_app, flash, redirect, render_template, url_for

from .. import signin
from ..db import get_session
from ..forms.auth import NewPasswordForm, ResetRequestForm
from ..services import ServiceError, recovery
from .auth import password_allowed

bp = Blueprint("password_reset", __name__, url_prefix="/password-reset")


def _lifetime() -> timedelta:
    return timedelta(minutes=current_app.config["PASSWORD_RESET_MINUTES"])


@bp.route("", methods=["GET", "POST"])
def request_link():
    form = ResetRequestForm()
    if form.validate_on_submit():
        session = get_session()
        if password_allowed(form.email.data):  # with passwords off, only the break-glass account has one
            recovery.request_reset(session, form.email.data)
            session.commit()
        # The same answer whether or not an account has this email.
        flash(recovery.ANSWER.format(minutes=current_app.config["PASSWORD_RESET_MINUTES"]), "success")
        return redirect(url_for("auth.login"), code=303)
    status = 400 if form.is_submitted() else 200
    return render_template("auth/reset_request.html", form=form), status


def _invalid_link(error: ServiceError):
    form = ResetRequestForm(formdata=None)
    return render_template("auth/reset_request.html", form=form, problem=str(error)), 400


@bp.route("/<token>", methods=["GET", "POST"])
def choose(token: str):
    session, config = get_session(), current_app.config
    try:
        _reset, user = recovery.check_token(session, config["SECRET_KEY"], token, _lifetime())
    except recovery.ResetLinkInvalid as error:
        return _invalid_link(error)
    form = NewPasswordForm()
    if form.validate_on_submit():
        try:
            recovery.complete_reset(
                session,
                config["SECRET_KEY"],
                token,
                form.new_password.data,
                _lifetime(),
                config["PASSWORD_MIN_LENGTH"],
            )
        except recovery.ResetLinkInvalid as error:
            return _invalid_link(error)
        except ServiceError as error:
            form.new_password.errors.append(str(error))
        else:
            session.commit()
            signin.sign_out()  # this browser too: the new password starts from a fresh sign-in
            flash("Your password is changed and you are signed out everywhere. Sign in with it.", "success")
            return redirect(url_for("auth.login"), code=303)
    status = 400 if form.is_submitted() else 200
    return render_template("auth/reset_choose.html", form=form, user=user, token=token), status
