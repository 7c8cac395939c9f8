"""One blueprint per area; routes parse input, check permission, call a service,
commit once and render the page (or the htmx fragment)."""

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from . import account, admin_users, auth, health, home, notifications, photos

    for module in (auth, home, health, account, admin_users, photos, notifications):
        app.register_blueprint(module.bp)
