"""Signing in and out."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from .. import signin
from ..auth import signed_in
from ..db import get_session
from ..forms.auth import LoginForm
from ..services import ServiceError, accounts, sessions
from ..urls import safe_next_url

bp = Blueprint("auth", __name__)


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        session = get_session()
        known = signin.known_devices()
        try:
            attempt = accounts.start_attempt(
                session, form.email.data, request.remote_addr, known, signin.policy()
            )
            # Counted before the slow password check and visible to every worker: parallel
            # guesses cannot get more checks than the limit allows.
            session.commit()
            user = accounts.finish_sign_in(session, attempt, form.password.data)
            _record, secret = sessions.start(
                session,
                user,
                user_agent=request.user_agent.string,
                address=request.remote_addr,
                lifetime=signin.session_lifetime(form.remember.data),
                idle=signin.idle_limit(),
            )
        except accounts.SignInThrottled as error:
            session.commit()
            flash(str(error), "error")
            status = 429
        except ServiceError as error:
            session.commit()  # keep the failure count (and the owner's warning email)
            flash(str(error), "error")
            status = 401
        else:
            session.commit()
            signin.sign_in(user, secret, remember=form.remember.data)
            response = redirect(safe_next_url(request.args.get("next")), code=303)
            signin.remember_device(response, user.id, known)
            return response
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
@signed_in
def logout():
    record = signin.current_record()
    if record is not None:
        session = get_session()
        sessions.sign_out(session, record)
        session.commit()
    signin.sign_out()
    flash("You are signed out.", "success")
    return redirect(url_for("auth.login"), code=303)
