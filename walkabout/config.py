"""Settings from the environment and `instance/`.

`WALKABOUT_ENV` is `development`, `test` or `production` (the default). Outside
development and test the app refuses to start without a strong `SECRET_KEY`.
"""

import os
import secrets
from datetime import timedelta
from pathlib import Path

KNOWN_DEFAULT_SECRETS = {"", "dev", "development", "secret", "changeme", "change-me", "test"}
MIN_SECRET_LENGTH = 32
ENVIRONMENTS = ("development", "test", "production")


class ConfigError(RuntimeError):
    """The configuration is unsafe or incomplete; the message says what to set."""


def _flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _secret_key(env: str, instance_path: Path) -> str:
    key = os.environ.get("SECRET_KEY", "")
    key_file = instance_path / "secret_key"
    if not key and key_file.exists():
        key = key_file.read_text().strip()
    if env in ("development", "test"):
        if not key:
            key = secrets.token_hex(32)
            key_file.write_text(key)
            key_file.chmod(0o600)
        return key
    if key.lower() in KNOWN_DEFAULT_SECRETS or len(key) < MIN_SECRET_LENGTH:
        raise ConfigError(
            "SECRET_KEY is missing or weak. Set SECRET_KEY to a random value of at least "
            f"{MIN_SECRET_LENGTH} characters, e.g. "
            "`python -c 'import secrets; print(secrets.token_hex(32))'`."
        )
    return key


# --- the installation's identity in email and calendars (issue 16) ----------------
# Links in emails, calendar UIDs and Message-IDs come from these two settings, so
# every installation (each trust, staging, training) has its own.
PLACEHOLDER_MAIL_DOMAINS = ("localhost", "example.com", "example.org", "example.net", "invalid")


def _mail_identity(env: str) -> dict:
    """WALKABOUT_BASE_URL (default: this machine on PORT, as `make run` serves it) and WALKABOUT_MAIL_FROM."""
    port = os.environ.get("PORT", "5000")
    return {
        "BASE_URL": os.environ.get("WALKABOUT_BASE_URL", f"http://127.0.0.1:{port}").strip().rstrip("/"),
        "BASE_URL_SET": bool(os.environ.get("WALKABOUT_BASE_URL", "").strip()),
        "MAIL_FROM": os.environ.get("WALKABOUT_MAIL_FROM", "Walkabout <walkabout@localhost>").strip(),
        # A CA bundle for an SMTP relay whose certificate the trust signs itself.
        "SMTP_CA_FILE": os.environ.get("SMTP_CA_FILE") or None,
    }


def _require_mail_identity(config: dict) -> None:
    from email.utils import parseaddr
    from urllib.parse import urlsplit

    url = urlsplit(config["BASE_URL"])
    if not config.get("BASE_URL_SET") or url.scheme not in ("http", "https") or not url.hostname:
        raise ConfigError(
            "WALKABOUT_BASE_URL is missing or not an http(s) address. Set it to the address people "
            "open Walkabout at, e.g. https://walkabout.example.nhs.uk: links in emails point there."
        )
    address = parseaddr(config["MAIL_FROM"])[1]
    domain = address.rpartition("@")[2].lower()
    placeholder = any(domain == d or domain.endswith("." + d) for d in PLACEHOLDER_MAIL_DOMAINS)
    if "@" not in address or "." not in domain or placeholder:
        raise ConfigError(
            "WALKABOUT_MAIL_FROM is missing or a placeholder. Set it to the trust's sending mailbox, "
            'e.g. "Walkabout <walkabout@example.nhs.uk>": invitations come from it.'
        )


def build_config(instance_path: Path, overrides: dict | None = None) -> dict:
    """The app's settings: defaults, then the environment, then `overrides` (tests)."""
    overrides = dict(overrides or {})
    env = overrides.get("ENV") or os.environ.get("WALKABOUT_ENV", "production")
    if env not in ENVIRONMENTS:
        raise ConfigError(f"WALKABOUT_ENV must be one of {', '.join(ENVIRONMENTS)}, not {env!r}.")
    https = overrides.get("HTTPS", _flag("WALKABOUT_HTTPS", env == "production"))
    config = {
        "ENV": env,
        "TESTING": env == "test",
        "DATABASE_URL": os.environ.get("DATABASE_URL") or f"sqlite:///{instance_path / 'walkabout.db'}",
        "TIMEZONE": os.environ.get("WALKABOUT_TIMEZONE", "Europe/London"),
        "TRUST_NAME": os.environ.get("WALKABOUT_TRUST_NAME", "Riverside NHS Foundation Trust"),
        "HTTPS": https,
        "PREFERRED_URL_SCHEME": "https" if https else "http",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": https,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": https,
        "REMEMBER_COOKIE_DURATION": timedelta(days=14),
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=12),
        # Tokens live as long as the session: a capture page may stay open for hours.
        "WTF_CSRF_TIME_LIMIT": None,
        "MAX_CONTENT_LENGTH": 12 * 1024 * 1024,
        "LOGIN_FREE_FAILURES_PER_ACCOUNT": 5,
        "LOGIN_FREE_FAILURES_PER_ADDRESS": 30,
        "LOGIN_MAX_BLOCK_SECONDS": 900,
        "PASSWORD_MIN_LENGTH": 12,
        # Actions: default days to the due date by risk band, list page size.
        "ACTION_DUE_DAYS": {"extreme": 7, "high": 14, "moderate": 30, "low": 60},
        "ACTIONS_PER_PAGE": 25,
        # "You said, we did": how far back the public ward page reaches.
        "PUBLIC_FEEDBACK_DAYS": 180,
        # Ward coverage: wards not visited for more than this many days are highlighted.
        "COVERAGE_THRESHOLD_DAYS": int(os.environ.get("WALKABOUT_COVERAGE_DAYS", "90")),
        "WALKABOUTS_PER_PAGE": 25,
        # Who builds board packs: "thread" (in the web process, off the request) or "scheduler".
        "REPORTS_RUNNER": os.environ.get("WALKABOUT_REPORTS_RUNNER", "thread"),
        **_mail_identity(env),
        "MAIL_BACKEND": os.environ.get("WALKABOUT_MAIL_BACKEND", "outbox"),
        "SMTP_HOST": os.environ.get("SMTP_HOST", "localhost"),
        "SMTP_PORT": int(os.environ.get("SMTP_PORT", "587")),
        "SMTP_SECURITY": os.environ.get("SMTP_SECURITY", "starttls"),  # starttls, ssl or none
        "SMTP_USERNAME": os.environ.get("SMTP_USERNAME"),
        "SMTP_PASSWORD": os.environ.get("SMTP_PASSWORD"),
        "NOTIFY_MAX_ATTEMPTS": 5,
        "SESSION_IDLE_MINUTES": int(os.environ.get("WALKABOUT_IDLE_MINUTES", "120")),
        # Number of reverse proxies in front of the app whose X-Forwarded-* headers to trust.
        "PROXY_FIX_HOPS": int(os.environ.get("WALKABOUT_PROXY_HOPS", "0")),
        "LOG_FORMAT": os.environ.get("WALKABOUT_LOG_FORMAT", "json" if env == "production" else "text"),
    }
    config.update(overrides)
    if "SECRET_KEY" not in overrides:
        config["SECRET_KEY"] = _secret_key(env, instance_path)
    if env == "production":
        _require_mail_identity(config)
    return config
