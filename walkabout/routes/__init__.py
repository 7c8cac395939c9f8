"""One blueprint per area; routes parse input, check permission, call a service,
commit once and render the page (or the htmx fragment)."""

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from . import account, admin_users, auth, dashboard, health, home, photos, reports

    for module in (auth, home, health, account, admin_users, photos, reports, dashboard):
        app.register_blueprint(module.bp)
