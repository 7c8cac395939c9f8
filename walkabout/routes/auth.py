from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user

from ..auth import signed_in
from ..db import get_db, get_session
from ..forms.auth import LoginForm
from ..services import ServiceError, accounts
from ..urls import safe_next_url

bp = Blueprint("auth", __name__)


def _policy() -> accounts.SignInPolicy:
    config = current_app.config
    return accounts.SignInPolicy(
        free_failures_per_account=config["LOGIN_FREE_FAILURES_PER_ACCOUNT"],
        free_failures_per_address=config["LOGIN_FREE_FAILURES_PER_ADDRESS"],
        max_block_seconds=config["LOGIN_MAX_BLOCK_SECONDS"],
    )


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        session = get_session()
        try:
            with get_db().session() as lookup:
                user = accounts.authenticate(
                    session,
                    form.email.data,
                    form.password.data,
                    request.remote_addr,
                    _policy(),
                    lookup=lookup,
                )
        except accounts.SignInThrottled as error:
            session.commit()
            flash(str(error), "error")
            status = 429
        except ServiceError as error:
            session.commit()  # keep the failure count
            flash(str(error), "error")
            status = 401
        else:
            session.commit()
            login_user(user, remember=form.remember.data)
            return redirect(safe_next_url(request.args.get("next")), code=303)
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
@signed_in
def logout():
    logout_user()
    flash("You are signed out.", "success")
    return redirect(url_for("auth.login"), code=303)
