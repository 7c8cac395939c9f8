"""Security headers on every response, idle sign-out, NUL bytes refused, and proxy awareness."""

from flask import Flask, flash, g, redirect, request, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_login import current_user, logout_user
from werkzeug.middleware.proxy_fix import ProxyFix

from .errors import render_error

# Fetched by the browser on its own, alongside pages: they neither read nor write the session.
SESSIONLESS_ENDPOINTS = frozenset({"static", "health.healthz", "offline.worker", "offline.manifest"})


class PageSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, never re-sent on a background fetch.

    The worker's update check can carry the cookie from before the sign-in page was
    answered; re-sending it (a signed-in session is refreshed on every response) would
    replace the sign-in form's CSRF token and refuse the password that follows.
    """

    def save_session(self, app, session, response) -> None:
        if request.endpoint not in SESSIONLESS_ENDPOINTS:
            super().save_session(app, session, response)


def content_security_policy() -> str:
    """Only this site's own scripts, styles, fonts and images; no inline code."""
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data: blob:",
            "connect-src 'self'",
            "font-src 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "object-src 'none'",
        ]
    )


def init_app(app: Flask) -> None:
    if app.config["PROXY_FIX_HOPS"]:
        hops = app.config["PROXY_FIX_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_prefix=hops)
    app.session_interface = PageSessionInterface()
    csp = content_security_policy()

    @app.after_request
    def security_headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", csp)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        headers.setdefault("Permissions-Policy", "camera=(self), geolocation=(), microphone=()")
        if app.config["HTTPS"]:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        if request.endpoint != "static" and "Cache-Control" not in headers:
            headers["Cache-Control"] = "no-store"  # pages carry personal data: never cached
        return response

    @app.before_request
    def refuse_nul_bytes():
        """No browser sends a NUL byte and PostgreSQL text cannot hold one: refuse it as bad input."""
        path = [value for value in (request.view_args or {}).values() if isinstance(value, str)]
        for values in (request.args, request.form):
            path.extend(key + value for key, value in values.items(multi=True))
        if any("\x00" in value for value in path):
            return render_error(400, "The request contained a character that is not allowed (NUL).")
        return None

    @app.before_request
    def end_idle_sessions():
        """A session record unused for SESSION_IDLE_MINUTES is refused by the user loader
        (services/sessions.py keeps "last seen"); say so and clear the remember-me cookie."""
        if request.endpoint in SESSIONLESS_ENDPOINTS or current_user.is_authenticated:
            return None
        if not g.get("session_timed_out"):
            return None
        logout_user()
        flash(
            f"You were signed out after {app.config['SESSION_IDLE_MINUTES']} minutes without activity.",
            "info",
        )
        return redirect(url_for("auth.login", next=request.full_path if request.method == "GET" else None))
