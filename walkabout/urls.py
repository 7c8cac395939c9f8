"""Small URL helpers shared by routes."""

from urllib.parse import urlsplit

from flask import url_for
from werkzeug.routing import IntegerConverter


def safe_next_url(target: str | None) -> str:
    """`target` if it is a path on this site, else the home page (no open redirects)."""
    if target:
        parts = urlsplit(target)
        if (
            not parts.scheme
            and not parts.netloc
            and target.startswith("/")
            and not target.startswith("//")
            and "\\" not in target
        ):
            return target
    return url_for("home.index")


MAX_DATABASE_ID = 2**31 - 1  # the largest INTEGER primary key PostgreSQL stores


class DatabaseIdConverter(IntegerConverter):
    """`<int:...>` in URLs: a number beyond any stored id is a 404, not a database overflow."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_DATABASE_ID)
        super().__init__(map, *args, **kwargs)


def init_app(app) -> None:
    """Register the converters; call before the blueprints add their rules."""
    app.url_map.converters["int"] = DatabaseIdConverter
