"""The signed-in person's own account: changing their password."""

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_login import login_user

from ..auth import signed_in, signed_in_user
from ..db import get_session
from ..forms.auth import PasswordChangeForm
from ..services import ServiceError, accounts

bp = Blueprint("account", __name__, url_prefix="/account")


@bp.route("/password", methods=["GET", "POST"])
@signed_in
def password():
    form = PasswordChangeForm()
    status = 200
    if form.validate_on_submit():
        user = signed_in_user()
        session = get_session()
        try:
            accounts.change_own_password(
                session,
                user,
                form.current_password.data,
                form.new_password.data,
                current_app.config["PASSWORD_MIN_LENGTH"],
            )
        except accounts.WrongCurrentPassword as error:
            form.current_password.errors.append(str(error))
            status = 400
        except ServiceError as error:
            form.new_password.errors.append(str(error))
            status = 400
        else:
            session.commit()
            login_user(user)  # this device stays signed in; every other one is signed out
            flash("Password changed. You have been signed out on your other devices.", "success")
            return redirect(url_for("account.password"), code=303)
    elif form.is_submitted():
        status = 400
    return render_template("account/password.html", form=form), status
