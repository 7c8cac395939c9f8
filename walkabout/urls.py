"""URL and request helpers shared by routes, error pages and templates: fragment or
page, numbers from the query string, the safe `next`, the id converter."""

from urllib.parse import urlsplit

from flask import request, url_for
from werkzeug.routing import IntegerConverter

MAX_DATABASE_ID = 2**31 - 1  # the largest INTEGER primary key PostgreSQL stores


def wants_fragment() -> bool:
    """Answer with the htmx fragment, not the whole page.

    htmx sends `HX-Request` on every request it makes, including the history restore
    after a cache miss (the Back button), which must get the whole page."""
    return bool(request.headers.get("HX-Request")) and not request.headers.get("HX-History-Restore-Request")


def ascii_int(value: str | None, low: int = 1, high: int = MAX_DATABASE_ID) -> int | None:
    """`value` as an int when it is ASCII digits only, between `low` and `high`; else None.

    (`str.isdigit()` and `int()` also accept "²", "٣" and fullwidth digits.)"""
    if not value or not value.isascii() or not value.isdigit() or len(value) > len(str(high)):
        return None
    number = int(value)
    return number if low <= number <= high else None


def arg_int(name: str, low: int = 1, high: int = MAX_DATABASE_ID, args=None) -> int | None:
    """A number from the query string (`args`, default the request's); malformed means absent."""
    return ascii_int((args if args is not None else request.args).get(name), low, high)


def has_control_characters(text: str) -> bool:
    """True when `text` holds a C0 control character or DEL (CR/LF, NUL, tab...)."""
    return any(ord(char) < 32 or ord(char) == 127 for char in text)


def safe_next_url(target: str | None) -> str:
    """`target` if it is a path on this site, else the home page (no open redirects,
    no control characters to split the Location header)."""
    if target and not has_control_characters(target):
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


class DatabaseIdConverter(IntegerConverter):
    """`<int:...>` in URLs: a number beyond any stored id is a 404, not a database overflow."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_DATABASE_ID)
        super().__init__(map, *args, **kwargs)


def init_app(app) -> None:
    """Register the converters; call before the blueprints add their rules."""
    app.url_map.converters["int"] = DatabaseIdConverter
