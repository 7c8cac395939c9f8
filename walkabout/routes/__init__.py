"""One blueprint per area; routes parse input, check permission, call a service,
commit once and render the page (or the htmx fragment).

An area with several files is a package: its blueprint and shared helpers in
`__init__.py`, its views in modules that attach to that blueprint (imported here,
so the package itself never imports its own views)."""

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from . import (
        about,
        account,
        actions,
        admin_audit,
        admin_lists,
        admin_places,
        admin_trust,
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
        offline,
        password_reset,
        photos,
        report_settings,
        reports,
        series,
        sso,
        two_factor,
        unsubscribe,
        walkabouts,
    )
    from .actions import assign, views  # noqa: F401  (importing attaches their routes)
    from .capture import items, pages  # noqa: F401

    for module in (
        auth,
        sso,
        two_factor,
        password_reset,
        home,
        health,
        account,
        admin_users,
        admin_places,
        admin_lists,
        admin_trust,
        admin_audit,
        photos,
        walkabouts,
        series,
        coverage,
        calendar,
        capture,
        actions,
        feedback,
        reports,
        report_settings,
        dashboard,
        notifications,
        about,
        unsubscribe,
        offline,
    ):
        app.register_blueprint(module.bp)
