"""One clear page for every error status; htmx requests get a small fragment."""

from flask import Flask, render_template
from flask_wtf.csrf import CSRFError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException, InternalServerError

from .rules import PHOTO_LIMIT_LABEL
from .urls import wants_fragment

MESSAGES = {
    400: ("Something in that request was not right", "Go back, check the form and try again."),
    403: (
        "You do not have access to this page",
        "Your roles do not include this. Ask an administrator if you need it.",
    ),
    404: ("Page not found", "The page or record does not exist, or has been removed."),
    405: ("That is not allowed here", "This address does not accept that kind of request."),
    409: ("This was changed by someone else", "Reload the page to see the latest version."),
    413: (
        "That file is too large",
        f"Choose a smaller file (photos up to {PHOTO_LIMIT_LABEL}) and try again.",
    ),
    429: ("Too many attempts", "Wait a moment and try again."),
    500: ("Something went wrong on our side", "Nothing you did caused this. Please try again in a minute."),
}


def render_error(status: int, detail: str | None = None):
    title, hint = MESSAGES.get(status, ("Something went wrong", ""))
    template = "partials/error.html" if wants_fragment() else "errors/error.html"
    return render_template(template, status=status, title=title, hint=detail or hint), status


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        body, status = render_error(
            400, "The form had expired or was not sent from this site. Reload the page and try again."
        )
        # The phone's offline sender keeps an item that met an expired token (static/js/offline.js).
        return body, status, {"X-CSRF-Failed": "1"}

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if error.code is None or error.code < 400:
            return error
        return render_error(error.code)

    @app.errorhandler(StaleDataError)
    def lost_race(error: StaleDataError):
        # Services turn this into Conflict where they can keep the form; this is the backstop.
        return render_error(409)

    @app.errorhandler(InternalServerError)
    def server_error(error: InternalServerError):
        return render_error(500)
