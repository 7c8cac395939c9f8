from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy.orm import selectinload
from sqlmodel import select

from ..auth import roles_required, signed_in_user
from ..db import get_session
from ..db_types import utcnow
from ..forms.users import PasswordResetForm, UserCreateForm, UserEditForm
from ..models import Role, User
from ..services import ServiceError, accounts, throttle

bp = Blueprint("admin_users", __name__, url_prefix="/admin/users")
admin_only = roles_required(Role.ADMIN)


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
@admin_only
def index():
    users = (
        get_session()
        .exec(select(User).options(selectinload(User.role_rows)).order_by(User.active.desc(), User.name))
        .all()
    )
    return render_template("admin/users.html", users=users)


@bp.route("/new", methods=["GET", "POST"])
@admin_only
def new():
    form = UserCreateForm()
    if form.validate_on_submit():
        session = get_session()
        try:
            accounts.check_password_rules(
                form.password.data, current_app.config["PASSWORD_MIN_LENGTH"], form.email.data
            )
            user = accounts.create_user(
                session,
                signed_in_user(),
                email=form.email.data,
                name=form.name.data,
                job_title=form.job_title.data,
                roles={Role(value) for value in form.roles.data},
                password=form.password.data,
                must_change_password=True,
            )
        except ServiceError as error:
            flash(str(error), "error")
        else:
            session.commit()
            flash(f"{user.name} can now sign in as {user.email}.", "success")
            return redirect(url_for("admin_users.index"), code=303)
    status = 400 if form.is_submitted() else 200
    return render_template("admin/user_form.html", form=form, user=None), status


@bp.route("/<int:user_id>", methods=["GET", "POST"])
@admin_only
def edit(user_id: int):
    user = _load_user(user_id)
    form = UserEditForm(obj=user if request.method == "GET" else None)
    if request.method == "GET":
        form.roles.data = sorted(role.value for role in user.roles)
    elif form.validate_on_submit():
        session = get_session()
        try:
            accounts.update_user(
                session,
                signed_in_user(),
                user,
                name=form.name.data,
                job_title=form.job_title.data,
                roles={Role(value) for value in form.roles.data},
            )
        except ServiceError as error:
            flash(str(error), "error")
        else:
            session.commit()
            flash(f"Saved {user.name}.", "success")
            return redirect(url_for("admin_users.index"), code=303)
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
        ),
        status,
    )


@bp.post("/<int:user_id>/active")
@admin_only
def set_active(user_id: int):
    user = _load_user(user_id)
    active = request.form.get("active") == "1"
    session = get_session()
    try:
        accounts.set_active(session, signed_in_user(), user, active)
    except ServiceError as error:
        flash(str(error), "error")
        return redirect(url_for("admin_users.edit", user_id=user.id), code=303)
    session.commit()
    flash(f"{user.name} is {'active' if active else 'deactivated and signed out'}.", "success")
    return redirect(url_for("admin_users.index"), code=303)


@bp.post("/<int:user_id>/password")
@admin_only
def reset_password(user_id: int):
    user = _load_user(user_id)
    form = PasswordResetForm()
    if form.validate_on_submit():
        session = get_session()
        try:
            accounts.check_password_rules(
                form.password.data, current_app.config["PASSWORD_MIN_LENGTH"], user.email
            )
            accounts.set_password(session, signed_in_user(), user, form.password.data)
        except ServiceError as error:
            flash(str(error), "error")
        else:
            session.commit()
            flash(
                f"New password set for {user.name}: they are signed out everywhere and choose their own "
                "at the next sign-in.",
                "success",
            )
            return redirect(url_for("admin_users.index"), code=303)
    else:
        flash("Enter a new password.", "error")
    return redirect(url_for("admin_users.edit", user_id=user.id), code=303)


@bp.post("/<int:user_id>/unblock")
@admin_only
def unblock(user_id: int):
    """Lift a sign-in block (for instance after a stranger's guesses, once the owner is reached)."""
    user = _load_user(user_id)
    session = get_session()
    accounts.clear_sign_in_block(session, signed_in_user(), user)
    session.commit()
    flash(f"{user.name} can sign in again from any device.", "success")
    return redirect(url_for("admin_users.edit", user_id=user.id), code=303)
