"""Jinja filters and globals: trust-local dates, roles, navigation."""

from flask import Flask
from flask_login import current_user
from markupsafe import Markup
from wtforms.widgets import HiddenInput

from . import timeutil
from .db import get_session
from .models import ROLE_LABELS, Role, risk_band
from .rules import RISK_BANDS
from .services.notifications import unread_count


def unread_messages() -> int:
    return unread_count(get_session(), current_user.id)


# What each role reaches for most, shown in the top bar; the rest sits under "More".
PRIMARY = {
    Role.EXECUTIVE: ("walkabouts.index", "actions.index"),
    Role.WARD_MANAGER: ("actions.index", "walkabouts.index"),
    Role.BOARD_SECRETARY: ("reports.index", "dashboard.index"),
    Role.ADMIN: ("admin_users.index", "admin_places.wards"),
}
ROLE_ORDER = (Role.EXECUTIVE, Role.WARD_MANAGER, Role.BOARD_SECRETARY, Role.ADMIN)


def navigation() -> list[tuple[str, str]]:
    """(endpoint, label) pairs the signed-in user may open, in menu order."""
    if not current_user.is_authenticated:
        return []
    items = [("home.index", "Home")]
    items.append(("walkabouts.index", "Walkabouts"))
    items.append(("actions.index", "Actions"))
    items.append(("coverage.index", "Coverage"))
    items.append(("feedback.index", "Feedback"))
    if current_user.has_role(Role.BOARD_SECRETARY, Role.EXECUTIVE):
        items.append(("reports.index", "Reports"))
        items.append(("dashboard.index", "Dashboard"))
    if current_user.has_role(Role.ADMIN):
        items.append(("admin_users.index", "Users"))
        items.append(("admin_places.wards", "Wards"))
        items.append(("notifications.outbox", "Outbox"))
        items.append(("report_settings.thresholds", "Pack thresholds"))
    items.append(("notifications.inbox", "Messages"))
    items.append(("account.password", "Account"))
    return items


def split_navigation() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The user's menu as (top bar, under "More"), by their first role."""
    items = navigation()
    role = next((role for role in ROLE_ORDER if current_user.has_role(role)), None)
    primary = set(PRIMARY.get(role, ()))
    return [i for i in items if i[0] in primary], [i for i in items if i[0] not in primary]


def hidden_fields(form) -> Markup:
    """A form's hidden inputs without ids: a page with several forms would repeat them."""
    return Markup("".join(str(f(id=False)) for f in form if isinstance(f.widget, HiddenInput)))


def init_app(app: Flask) -> None:
    app.jinja_env.filters.update(
        datetime=timeutil.format_datetime,
        date=timeutil.format_date,
        time=timeutil.format_time,
        role_label=lambda role: ROLE_LABELS[Role(role)],
        risk_band=risk_band,
    )

    @app.context_processor
    def globals_():
        return {
            "navigation": navigation,
            "hidden_fields": hidden_fields,
            "split_navigation": split_navigation,
            "unread_messages": unread_messages,
            "trust_name": app.config["TRUST_NAME"],
            "trust_logo": bool(app.config.get("TRUST_LOGO")),
            "Role": Role,
            "risk_band_names": [band for _top, band in RISK_BANDS],
        }
