"""Jinja filters and globals: trust-local dates, roles, navigation."""

from flask import Flask, current_app, g, request, url_for
from flask_login import current_user
from markupsafe import Markup, escape
from sqlalchemy.exc import SQLAlchemyError
from wtforms.widgets import HiddenInput

from . import timeutil
from .db import get_session
from .models import ROLE_LABELS, Role, risk_band
from .rules import RISK_BANDS
from .services import branding
from .services.notifications import unread_count


def current_brand() -> branding.Brand:
    """The trust's name and logo flag, read once per request (every page shows them)."""
    if "brand" not in g:
        try:
            g.brand = branding.brand(get_session(), current_app.config["TRUST_NAME"])
        except SQLAlchemyError:  # an error page while the database is down still names the trust
            g.brand = branding.Brand(current_app.config["TRUST_NAME"], False, 0)
    return g.brand


def fixed_url(endpoint: str, **values) -> str:
    """`url_for` of a URL that cannot change while the app runs (a page without arguments, a
    static file), built once per script root: every page's header and footer link about a dozen."""
    urls = current_app.extensions.setdefault("walkabout_fixed_urls", {})
    key = (request.script_root, endpoint, *sorted(values.items()))
    url = urls.get(key)
    if url is None:
        url = urls[key] = url_for(endpoint, **values)
    return url


def unread_messages() -> int:
    """Counted with the session record when the user was loaded (signin.load_user)."""
    if "unread_messages" in g:
        return g.unread_messages
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
        items.append(("admin_lists.index", "Lists"))
        items.append(("notifications.outbox", "Outbox"))
        items.append(("report_settings.thresholds", "Pack thresholds"))
    if current_user.has_role(Role.ADMIN, Role.BOARD_SECRETARY):
        items.append(("admin_audit.index", "Audit log"))
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


def person_label(name: str, job_title: str | None, fallback: str | None = None) -> str:
    """How a person is shown wherever someone is chosen: "Sam Patel — Ward Manager, Ward 7"
    (their job title, else `fallback`, e.g. their role), so two people are told apart."""
    detail = job_title or fallback
    return f"{name} \u2014 {detail}" if detail else name


def options(choices, selected, label: str = "name") -> Markup:
    """`<option>`s for rows with `id` and a `label` attribute, `selected` marked: a large trust
    lists hundreds of wards and owners, and a Jinja loop costs several times this. A row that
    carries a `job_title` (a person) shows it beside the name (`person_label`)."""
    return Markup(
        "".join(
            f'<option value="{choice.id}"{" selected" if choice.id == selected else ""}>'
            f"{escape(_option_text(choice, label))}</option>"
            for choice in choices
        )
    )


def _option_text(choice, label: str) -> str:
    text = getattr(choice, label)
    if label == "name" and hasattr(choice, "job_title"):
        return person_label(text, choice.job_title)
    return text


def css_string(text: str) -> Markup:
    """`text` as a quoted CSS string (a PDF's page header): every character but letters,
    digits and spaces as a hex escape, so no text can end the string, the rule or the
    <style> element around it."""
    escaped = "".join(
        char if char == " " or (char.isalnum() and char.isprintable()) else f"\\{ord(char):x} "
        for char in str(text).replace("\x00", "\ufffd")
    )
    return Markup(f'"{escaped}"')


def init_app(app: Flask) -> None:
    app.jinja_env.filters.update(
        css_string=css_string,
        datetime=timeutil.format_datetime,
        date=timeutil.format_date,
        time=timeutil.format_time,
        role_label=lambda role: ROLE_LABELS[Role(role)],
        person=lambda user: person_label(user.name, user.job_title),
        risk_band=risk_band,
    )

    @app.context_processor
    def globals_():
        brand = current_brand()
        return {
            "navigation": navigation,
            "fixed_url": fixed_url,
            "hidden_fields": hidden_fields,
            "options": options,
            "split_navigation": split_navigation,
            "unread_messages": unread_messages,
            "trust_name": brand.name,
            "trust_logo": brand.has_logo,
            "trust_logo_version": brand.logo_version,
            "Role": Role,
            "risk_band_names": [band for _top, band in RISK_BANDS],
        }
