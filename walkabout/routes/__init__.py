"""One blueprint per area; routes parse input, check permission, call a service,
commit once and render the page (or the htmx fragment)."""

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from . import (
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
        unsubscribe,
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
        unsubscribe,
    ):
        app.register_blueprint(module.bp)
    from .. import csrf

    csrf.exempt(unsubscribe.bp)  # mail clients POST the one-click unsubscribe without a form token
