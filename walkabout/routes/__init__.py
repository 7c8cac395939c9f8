"""One blueprint per area; routes parse input, check permission, call a service,
commit once and render the page (or the htmx fragment)."""

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from . import account, admin_users, auth, health, home, photos
    from . import admin_places, calendar, coverage, series, walkabouts

    for module in (auth, home, health, account, admin_users, photos,
                   walkabouts, series, coverage, calendar, admin_places):
        app.register_blueprint(module.bp)
