"""htmx: the local copy fetched by the build when present, else the pinned CDN file."""

from flask import Flask, has_request_context, url_for

from .paths import resource_dir

HTMX_VERSION = "2.0.11"
HTMX_LOCAL = "vendor/htmx.min.js"
HTMX_CDN_URL = f"https://unpkg.com/htmx.org@{HTMX_VERSION}/dist/htmx.min.js"
HTMX_SRI = "sha384-2OatzQy1H+Zd/IIrjr1TcuDGqLXeHhbooAyJY1KdQMKnr4LZ22k31GBLdYKHmVjg"


def init_app(app: Flask) -> None:
    has_local = (resource_dir("static") / HTMX_LOCAL).is_file()
    app.config.setdefault("HTMX_LOCAL", has_local)

    @app.context_processor
    def htmx_script():
        if not has_request_context():  # emails and PDFs have no page scripts
            return {}
        if app.config["HTMX_LOCAL"]:
            return {"htmx_src": url_for("static", filename=HTMX_LOCAL), "htmx_sri": None}
        return {"htmx_src": HTMX_CDN_URL, "htmx_sri": HTMX_SRI}
