"""Compressed responses (Flask-Compress: brotli, else gzip), with BREACH in mind.

BREACH reads a secret out of a compressed page whose body also reflects text the attacker
chose (through the query string of a cross-site request). The secret in a page is the CSRF
token, so a page carrying one is compressed only when its query string cannot reach the body
as free text: no query string at all, or an endpoint in NORMALISED_QUERY, whose arguments are
parsed into whitelisted words and integers before anything is rendered. Error pages (4xx,
5xx), which may echo input back, are never compressed (Flask-Compress sends only 2xx).
"""

from flask import Flask, current_app, g, request
from flask_compress import Compress

# Endpoints that render only parsed forms of their query arguments (ActionFilters.from_args,
# walkabout list filters, the dashboard's validated date range).
NORMALISED_QUERY = frozenset({"actions.index", "walkabouts.index", "dashboard.index"})

compress = Compress()


def reflects_query_beside_secret() -> bool:
    """A CSRF token went into this response and its query string might be echoed as free text."""
    token_rendered = current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token") in g
    return bool(token_rendered and request.query_string and request.endpoint not in NORMALISED_QUERY)


def init_app(app: Flask) -> None:
    compress.init_app(app)
    if not app.config["COMPRESS_RESPONSES"]:
        return

    @app.after_request
    def _compress(response):
        if reflects_query_beside_secret():
            return response
        return compress.after_request(response)
