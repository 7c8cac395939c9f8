"""One blueprint per area; routes parse input, check permission, call a service,
commit once and render the page (or the htmx fragment)."""

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from . import (
        about,
        account,
        actions,
        admin_places,
        admin_users,
        auth,
        calendar,
        capture,
        coverage,
        dashboard,
        feedback,
        health,
        home,
        notifications,
        photos,
        reports,
        series,
        walkabouts,
    )

    for module in (
        auth,
        home,
        health,
        account,
        admin_users,
        admin_places,
        photos,
        walkabouts,
        series,
        coverage,
        calendar,
        capture,
        actions,
        feedback,
        reports,
        dashboard,
        notifications,
        about,
    ):
        app.register_blueprint(module.bp)
