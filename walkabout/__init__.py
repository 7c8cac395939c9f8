"""Walkabout: patient-safety leadership walkabouts, from the ward to the board."""

import os
from pathlib import Path

from flask import Flask
from flask_wtf.csrf import CSRFProtect

from . import assets, compression, db, errors, request_log, security, sso, templating
from .auth import login_manager
from .config import build_config
from .paths import resource_dir

csrf = CSRFProtect()


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app; `test_config` overrides settings (tests pass their database)."""
    app = Flask(
        __name__,
        instance_path=os.environ.get("WALKABOUT_INSTANCE_PATH") or None,
        instance_relative_config=True,
        template_folder=str(resource_dir("templates")),
        static_folder=str(resource_dir("static")),
    )
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.update(build_config(Path(app.instance_path), test_config))

    db.init_app(app)
    csrf.init_app(app)
    login_manager.init_app(app)
    assets.init_app(app)
    security.init_app(app)
    request_log.init_app(app)
    templating.init_app(app)
    errors.init_app(app)
    sso.init_app(app)
    compression.init_app(app)  # registered last: runs first after a response, before the log

    from .routes import register_blueprints
    from .urls import init_app as init_urls

    init_urls(app)
    register_blueprints(app)
    from .routes import unsubscribe

    csrf.exempt(unsubscribe.bp)  # mail clients POST the one-click unsubscribe without a form token

    from .cli import register_commands

    register_commands(app)
    return app
