"""Jinja filters and globals: trust-local dates, roles, navigation."""

from flask import Flask, has_request_context, request
from flask_login import current_user

from . import timeutil
from .models import ROLE_LABELS, Role, risk_band


def _inbox_label() -> str:
    from .db import get_session
    from .services.notifications import unread_count

    unread = unread_count(get_session(), current_user.id)
    return f"Messages ({unread})" if unread else "Messages"


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
    items.append(("notifications.inbox", _inbox_label()))
    items.append(("account.password", "Account"))
    return items


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
            "trust_name": app.config["TRUST_NAME"],
            "Role": Role,
            "is_htmx": has_request_context() and bool(request.headers.get("HX-Request")),
        }
