"""Flask-Login wiring and the role checks used by every route."""

from collections.abc import Callable
from functools import wraps

from flask import abort
from flask_login import LoginManager, current_user, login_required

from . import signin
from .models import Role, User

login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Please sign in to continue."
login_manager.login_message_category = "info"
# Flask-Login's own "strong" protection would sign phones out when their IP changes
# on ward Wi-Fi; server-side session records do the invalidation instead.
login_manager.session_protection = "basic"


@login_manager.user_loader
def load_user(session_secret: str) -> User | None:
    """The user of a live server-side session record (see walkabout/signin.py)."""
    return signin.load_user(session_secret)


def roles_required(*roles: Role) -> Callable:
    """Allow signed-in users holding any of `roles`; others get 403 (or sign-in)."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not current_user.has_role(*roles):
                abort(403)
            return view(*args, **kwargs)

        wrapped.required_roles = roles  # read by the authorization tests
        return wrapped

    return decorator


def signed_in_user() -> User:
    """The signed-in User (for type checkers; routes are already protected)."""
    return current_user._get_current_object()  # type: ignore[attr-defined]


# Who may use a route, defined once for every blueprint (named by who is in the group).
signed_in = login_required  # any signed-in account, whatever its roles
any_role = roles_required(*Role)
executives = roles_required(Role.EXECUTIVE)
admins = roles_required(Role.ADMIN)
executives_and_managers = roles_required(Role.EXECUTIVE, Role.WARD_MANAGER)
executives_and_admins = roles_required(Role.EXECUTIVE, Role.ADMIN)
executives_and_secretaries = roles_required(Role.EXECUTIVE, Role.BOARD_SECRETARY)
admins_and_secretaries = roles_required(Role.ADMIN, Role.BOARD_SECRETARY)
