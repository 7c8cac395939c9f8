"""Front-end files built from npm packages by `make vendor` into static/vendor/.

The app serves only its own copies: nothing is loaded from another site at run
time, so a missing build stops start-up instead of quietly using a CDN. Built
files go out gzipped when the build left a .gz beside them.
"""

from flask import Flask, has_request_context, request, send_from_directory

from .config import ConfigError
from .paths import resource_dir

HTMX_VERSION = "2.0.11"
HTMX_LOCAL = "vendor/htmx.min.js"
HTMX_SRI = "sha384-2OatzQy1H+Zd/IIrjr1TcuDGqLXeHhbooAyJY1KdQMKnr4LZ22k31GBLdYKHmVjg"
STYLESHEETS = ("vendor/walkabout.css", "vendor/walkabout-content.css")  # compiled by `make vendor`
SCRIPTS = ("vendor/offline.min.js", "vendor/capture.min.js")  # minified by `make vendor` (issue 14)


def init_app(app: Flask) -> None:
    missing = [
        name for name in (HTMX_LOCAL, *SCRIPTS, *STYLESHEETS) if not (resource_dir("static") / name).is_file()
    ]
    if missing:
        raise ConfigError(
            f"static/{', static/'.join(missing)} is missing: run `make vendor` "
            "(it builds the pinned front-end packages from npm)."
        )
    serve_precompressed(app)

    @app.context_processor
    def htmx_script():
        if not has_request_context():  # emails and PDFs have no page scripts
            return {}
        from .templating import fixed_url  # templating reads the database: imported when serving

        return {"htmx_src": fixed_url("static", filename=HTMX_LOCAL)}


def serve_precompressed(app: Flask) -> None:
    """Send static/vendor/x.gz, made by `make vendor`, for x to clients that accept gzip.

    The design system's stylesheet is 145 KB as text and 18 KB gzipped: on a slow 3G
    phone that is the difference between a capture page in 3 s and in 5 s, whether or
    not a compressing proxy sits in front of the app.
    """
    static = app.view_functions["static"]
    folder = resource_dir("static")

    def static_or_gzipped(filename: str):
        gzipped = folder / f"{filename}.gz"
        if not (filename.startswith("vendor/") and "gzip" in request.accept_encodings and gzipped.is_file()):
            return static(filename=filename)
        response = send_from_directory(folder, f"{filename}.gz", mimetype=_mimetype(filename), max_age=None)
        response.headers["Content-Encoding"] = "gzip"
        response.vary.add("Accept-Encoding")
        return response

    app.view_functions["static"] = static_or_gzipped


def _mimetype(filename: str) -> str:
    return "text/css" if filename.endswith(".css") else "text/javascript"
