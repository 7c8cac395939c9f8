"""Front-end files fetched from npm at build time (`make vendor`) into static/vendor/.

The app serves only its own copies: nothing is loaded from another site at run
time, so a missing build is an error at start-up, not a quiet CDN fallback.
"""

from flask import Flask, has_request_context, url_for

from .config import ConfigError
from .paths import resource_dir

HTMX_VERSION = "2.0.11"
HTMX_LOCAL = "vendor/htmx.min.js"
HTMX_SRI = "sha384-2OatzQy1H+Zd/IIrjr1TcuDGqLXeHhbooAyJY1KdQMKnr4LZ22k31GBLdYKHmVjg"


def init_app(app: Flask) -> None:
    missing = [name for name in (HTMX_LOCAL,) if not (resource_dir("static") / name).is_file()]
    if missing:
        raise ConfigError(
            f"static/{', static/'.join(missing)} is missing: run `make vendor` "
            "(it fetches the pinned front-end packages from npm)."
        )

    @app.context_processor
    def htmx_script():
        if not has_request_context():  # emails and PDFs have no page scripts
            return {}
        return {"htmx_src": url_for("static", filename=HTMX_LOCAL)}
