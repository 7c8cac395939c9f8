"""Signing in and out."""

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask import session as cookie_session
from flask_login import current_user

from .. import signin, sso
from ..auth import signed_in
from ..db import get_session
from ..forms.auth import LoginForm
from ..models import User
from ..services import ServiceError, accounts, sessions, two_factor
from ..urls import safe_next_url

bp = Blueprint("auth", __name__)
PROVIDER_SIGN_OUT = "provider_sign_out"  # the provider's end-session address, offered after sign-out


def start_session(user: User, remember: bool) -> None:
    """A new session record for `user` (committed) and this browser signed in to it."""
    session = get_session()
    _record, secret = sessions.start(
        session,
        user,
        user_agent=request.user_agent.string,
        address=request.remote_addr,
        lifetime=signin.session_lifetime(remember),
        idle=signin.idle_limit(),
    )
    session.commit()
    signin.sign_in(user, secret, remember=remember)


def signed_in_redirect(user: User, next_url: str | None, known: dict[int, str]):
    """After a password sign-in: on to `next`, this browser now a known device for the account."""
    response = redirect(safe_next_url(next_url), code=303)
    signin.remember_device(response, user.id, known)
    return response


def password_allowed(email: str) -> bool:
    """Local passwords are on, or this is the break-glass administrator."""
    config = current_app.config
    return config["LOCAL_PASSWORDS"] or accounts.normalise_email(email) == config["BREAK_GLASS_ADMIN"]


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        session, config = get_session(), current_app.config
        known = signin.known_devices()
        try:
            attempt = accounts.start_attempt(
                session, form.email.data, request.remote_addr, known, signin.policy()
            )
            # Counted before the slow password check and visible to every worker: parallel
            # guesses cannot get more checks than the limit allows.
            session.commit()
            user = accounts.finish_sign_in(
                session, attempt, form.password.data, password_allowed=password_allowed(form.email.data)
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
            next_url = request.args.get("next")
            enabled = two_factor.is_enabled(user)
            if enabled or two_factor.is_required(
                user, config["TWO_FACTOR_REQUIRED"], config["BREAK_GLASS_ADMIN"]
            ):
                session.commit()
                signin.await_second_factor(user, form.remember.data, safe_next_url(next_url))
                return redirect(url_for("two_factor.verify" if enabled else "two_factor.setup"), 303)
            start_session(user, form.remember.data)
            return signed_in_redirect(user, next_url, known)
    elif request.method == "POST":
        status = 400
    return _page(form, status)


def _page(form: LoginForm, status: int):
    config = current_app.config
    show_password = config["LOCAL_PASSWORDS"] or request.args.get("local") == "1" or form.is_submitted()
    return (
        render_template(
            "auth/login.html",
            form=form,
            sso_enabled=sso.enabled(),
            show_password=show_password,
            provider_sign_out=cookie_session.pop(PROVIDER_SIGN_OUT, None),
        ),
        status,
    )


@bp.post("/logout")
@signed_in
def logout():
    record = signin.current_record()
    if record is not None:
        session = get_session()
        sessions.sign_out(session, record)
        session.commit()
    from_provider = bool(cookie_session.get(signin.SINGLE_SIGN_ON))
    signin.sign_out()
    flash("You are signed out.", "success")
    end_session = sso.end_session_url() if from_provider else None
    if end_session:
        cookie_session[PROVIDER_SIGN_OUT] = end_session
    return redirect(url_for("auth.login"), code=303)
