"""Admin: user accounts (roles, active, password reset). Deactivated, never deleted."""

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy.orm import selectinload
from sqlmodel import select

from ..auth import admins, signed_in_user
from ..db import get_session
from ..db_types import utcnow
from ..forms.users import PasswordResetForm, UserCreateForm, UserEditForm
from ..models import Role, User
from ..services import ServiceError, accounts, identities, throttle, two_factor
from .helpers import commit_and_redirect

bp = Blueprint("admin_users", __name__, url_prefix="/admin/users")


def _load_user(user_id: int) -> User:
    user = (
        get_session()
        .exec(select(User).where(User.id == user_id).options(selectinload(User.role_rows)))
        .first()
    )
    if user is None:
        abort(404)
    return user


@bp.get("")
@admins
def index():
    users = (
        get_session()
        .exec(select(User).options(selectinload(User.role_rows)).order_by(User.active.desc(), User.name))
        .all()
    )
    return render_template("admin/users.html", users=users)


@bp.route("/new", methods=["GET", "POST"])
@admins
def new():
    form = UserCreateForm()
    if form.validate_on_submit():
        session = get_session()

        def create():
            accounts.check_password_rules(
                form.password.data, current_app.config["PASSWORD_MIN_LENGTH"], form.email.data
            )
            return accounts.create_user(
                session,
                signed_in_user(),
                email=form.email.data,
                name=form.name.data,
                job_title=form.job_title.data,
                roles={Role(value) for value in form.roles.data},
                password=form.password.data,
                must_change_password=True,
            )

        try:
            return commit_and_redirect(
                create,
                lambda user: f"{user.name} can now sign in as {user.email}.",
                url_for("admin_users.index"),
            )
        except ServiceError as error:
            flash(str(error), "error")
    status = 400 if form.is_submitted() else 200
    return render_template("admin/user_form.html", form=form, user=None), status


@bp.route("/<int:user_id>", methods=["GET", "POST"])
@admins
def edit(user_id: int):
    user = _load_user(user_id)
    form = UserEditForm(obj=user if request.method == "GET" else None)
    if request.method == "GET":
        form.roles.data = sorted(role.value for role in user.roles)
    elif form.validate_on_submit():
        try:
            return commit_and_redirect(
                lambda: accounts.update_user(
                    get_session(),
                    signed_in_user(),
                    user,
                    name=form.name.data,
                    job_title=form.job_title.data,
                    roles={Role(value) for value in form.roles.data},
                ),
                lambda _: f"Saved {user.name}.",
                url_for("admin_users.index"),
            )
        except ServiceError as error:
            flash(str(error), "error")
    status = 400 if form.is_submitted() else 200
    block = throttle.status(get_session(), user.email)
    blocked_now = bool(block and block.blocked_until and block.blocked_until > utcnow())
    return (
        render_template(
            "admin/user_form.html",
            form=form,
            user=user,
            reset_form=PasswordResetForm(),
            block=block,
            blocked_now=blocked_now,
            two_factor_enabled=two_factor.is_enabled(user),
            identities=identities.identities_of(get_session(), user),
        ),
        status,
    )


@bp.post("/<int:user_id>/active")
@admins
def set_active(user_id: int):
    user = _load_user(user_id)
    active = request.form.get("active") == "1"
    return commit_and_redirect(
        lambda: accounts.set_active(get_session(), signed_in_user(), user, active),
        f"{user.name} is {'active' if active else 'deactivated and signed out'}.",
        url_for("admin_users.index"),
        failed_to=url_for("admin_users.edit", user_id=user.id),
    )


@bp.post("/<int:user_id>/password")
@admins
def reset_password(user_id: int):
    user = _load_user(user_id)
    form = PasswordResetForm()
    if form.validate_on_submit():

        def reset():
            accounts.check_password_rules(
                form.password.data, current_app.config["PASSWORD_MIN_LENGTH"], user.email
            )
            accounts.set_password(get_session(), signed_in_user(), user, form.password.data)

        return commit_and_redirect(
            reset,
            f"New password set for {user.name}: they are signed out everywhere and choose their own "
            "at the next sign-in.",
            url_for("admin_users.index"),
            failed_to=url_for("admin_users.edit", user_id=user.id),
        )
    else:
        flash("Enter a new password.", "error")
    return redirect(url_for("admin_users.edit", user_id=user.id), code=303)


@bp.post("/<int:user_id>/unblock")
@admins
def unblock(user_id: int):
    """Lift a sign-in block (for instance after a stranger's guesses, once the owner is reached)."""
    user = _load_user(user_id)
    return commit_and_redirect(
        lambda: accounts.clear_sign_in_block(get_session(), signed_in_user(), user),
        f"{user.name} can sign in again from any device.",
        url_for("admin_users.edit", user_id=user.id),
    )


@bp.post("/<int:user_id>/two-factor/reset")
@admins
def reset_two_factor(user_id: int):
    """Remove a user's second factor (a lost phone): they set it up again at their next sign-in."""
    user = _load_user(user_id)
    return commit_and_redirect(
        lambda: two_factor.reset(get_session(), signed_in_user(), user),
        f"{user.name}'s second factor is removed: they set up an authenticator app again at the next "
        "sign-in that needs one.",
        url_for("admin_users.edit", user_id=user.id),
    )
