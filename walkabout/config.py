"""Settings from the environment and `instance/`.

`WALKABOUT_ENV` is `development`, `test` or `production` (the default). Outside
development and test the app refuses to start without a strong `SECRET_KEY`.
Every setting the README documents is read here and checked: a bad number or an
unknown choice stops start-up with a ConfigError naming the variable (an empty
variable counts as unset).
"""

import os
import secrets
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from . import rules

KNOWN_DEFAULT_SECRETS = {"", "dev", "development", "secret", "changeme", "change-me", "test"}
MIN_SECRET_LENGTH = 32
ENVIRONMENTS = ("development", "test", "production")
REPORTS_RUNNERS = ("thread", "scheduler")  # see walkabout/reports/runner.py
RISK_BANDS = tuple(name for _top, name in rules.RISK_BANDS)
TRUE_WORDS, FALSE_WORDS = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


class ConfigError(RuntimeError):
    """The configuration is unsafe or incomplete; the message says what to set."""


def _raw(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None


def _flag(name: str, default: bool) -> bool:
    value = _raw(name)
    if value is None:
        return default
    if value.lower() not in TRUE_WORDS | FALSE_WORDS:
        raise ConfigError(f"{name} must be on or off (1/0, true/false, yes/no), not {value!r}.")
    return value.lower() in TRUE_WORDS


def _whole_number(name: str, text: str, low: int, high: int) -> int:
    # ASCII digits only: int() would also take "²"-like digits of other scripts.
    if not (text.isascii() and text.isdigit()) or not low <= int(text) <= high:
        raise ConfigError(f"{name} must be a whole number from {low} to {high}, not {text!r}.")
    return int(text)


def _int(name: str, default: int, low: int, high: int) -> int:
    value = _raw(name)
    return default if value is None else _whole_number(name, value, low, high)


def _choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = _raw(name)
    if value is None:
        return default
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, not {value!r}.")
    return value


def _due_days(name: str = "WALKABOUT_ACTION_DUE_DAYS") -> dict[str, int]:
    """Days to an action's default due date by risk band, e.g. "extreme=7,high=14,moderate=30,low=60"."""
    value = _raw(name)
    days = dict(rules.ACTION_DUE_DAYS)
    if value is None:
        return days
    for part in value.split(","):
        band, equals, number = (piece.strip() for piece in part.partition("="))
        if not equals or band not in RISK_BANDS:
            raise ConfigError(
                f"{name} must look like extreme=7,high=14,moderate=30,low=60 "
                f"(bands: {', '.join(RISK_BANDS)}), not {value!r}."
            )
        days[band] = _whole_number(f"{name} ({band})", number, 1, rules.MAX_DUE_DAYS_AHEAD)
    return days


def _timezone(name: str = "WALKABOUT_TIMEZONE") -> str:
    value = _raw(name) or "Europe/London"
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"{name} must be a time zone name such as Europe/London, not {value!r}.") from None
    return value


def _base_url(name: str = "WALKABOUT_BASE_URL") -> str:
    # Unset: this machine on PORT, as `make run` serves it (production requires the setting).
    value = (_raw(name) or f"http://127.0.0.1:{_raw('PORT') or '5000'}").rstrip("/")
    if not value.startswith(("https://", "http://")) or any(ch.isspace() for ch in value):
        raise ConfigError(f"{name} must be the app's address, e.g. https://walkabout.example.nhs.uk.")
    return value


def _reports_runner(env: str, config: dict) -> None:
    """Board packs (seconds of CPU, hundreds of MB) are never built in a production web worker."""
    runner = config["REPORTS_RUNNER"]
    if runner not in REPORTS_RUNNERS:
        raise ConfigError(f"REPORTS_RUNNER must be one of {', '.join(REPORTS_RUNNERS)}, not {runner!r}.")
    if env == "production" and runner != "scheduler":
        raise ConfigError(
            "WALKABOUT_REPORTS_RUNNER=thread would build board packs inside a web worker; in "
            "production they are built by the scheduler process (flask --app walkabout scheduler). "
            "Unset it or set it to scheduler."
        )


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


def _session_settings(https: bool) -> dict:
    """Sessions, known devices, throttling and password reset (issue 20)."""
    # Over HTTPS the `__Host-` prefix makes browsers refuse these cookies unless they are
    # Secure, for this host only and for the whole site: a sibling subdomain cannot plant them.
    prefix = "__Host-" if https else ""
    return {
        "SESSION_COOKIE_NAME": f"{prefix}session",
        "REMEMBER_COOKIE_NAME": f"{prefix}remember_token",
        "KNOWN_DEVICE_COOKIE_NAME": f"{prefix}known_device",
        "KNOWN_DEVICE_DAYS": 365,
        "LOGIN_FREE_FAILURES_PER_DEVICE": 5,
        "LOGIN_FIRST_BLOCK_SECONDS": 15,  # then doubling, up to LOGIN_MAX_BLOCK_SECONDS
        "SESSION_TOUCH_SECONDS": 300,  # "last seen" is written at most this often
        "PASSWORD_RESET_MINUTES": 30,
    }


# --- single sign-on and the second factor (issue 23) -------------------------------
# Who must use a second factor with a local password. (The tests of other features pass
# "nobody" in create_app's overrides; the environment cannot set it.)
TWO_FACTOR_SCOPES = ("admins", "everyone")


def _https_url(name: str, env: str) -> str | None:
    value = _raw(name)
    if value is None:
        return None
    loopback = value.startswith(("http://127.0.0.1:", "http://localhost:"))
    if not value.startswith("https://") and not (loopback and env in ("development", "test")):
        raise ConfigError(
            f"{name} must be an https:// address, e.g. https://login.microsoftonline.com/…/v2.0."
        )
    return value.rstrip("/")


def _sign_in_settings(env: str) -> dict:
    """OpenID Connect, local passwords, break-glass administrator and second factor."""
    issuer = _https_url("WALKABOUT_OIDC_ISSUER", env)
    config = {
        "OIDC_ISSUER": issuer,
        "OIDC_CLIENT_ID": _raw("WALKABOUT_OIDC_CLIENT_ID"),
        "OIDC_CLIENT_SECRET": os.environ.get("WALKABOUT_OIDC_CLIENT_SECRET") or None,
        # Entra ID puts the directory (tenant) id in `tid`; other providers may name it otherwise.
        "OIDC_TENANT": _raw("WALKABOUT_OIDC_TENANT"),
        "OIDC_TENANT_CLAIM": _raw("WALKABOUT_OIDC_TENANT_CLAIM") or "tid",
        # Entra ID sends no `email_verified`; its optional claim `xms_edov` says the domain is verified.
        "OIDC_EMAIL_VERIFIED_CLAIM": _raw("WALKABOUT_OIDC_EMAIL_VERIFIED_CLAIM") or "email_verified",
        "OIDC_BUTTON_LABEL": (_raw("WALKABOUT_OIDC_BUTTON_LABEL") or "Sign in with your trust account")[:80],
        "OIDC_CREATE_USERS": _flag("WALKABOUT_OIDC_CREATE_USERS", False),
        "OIDC_CLOCK_SKEW_SECONDS": _int("WALKABOUT_OIDC_CLOCK_SKEW_SECONDS", 60, 0, 600),
        "OIDC_TIMEOUT_SECONDS": 10,
        "LOCAL_PASSWORDS": _flag("WALKABOUT_LOCAL_PASSWORDS", True),
        "BREAK_GLASS_ADMIN": (_raw("WALKABOUT_BREAK_GLASS_ADMIN") or "").lower() or None,
        "TWO_FACTOR_REQUIRED": _choice("WALKABOUT_2FA_REQUIRED", "admins", TWO_FACTOR_SCOPES),
        "TWO_FACTOR_FREE_FAILURES": 5,
        "TWO_FACTOR_PENDING_MINUTES": 10,  # between the password and the code
    }
    return config


def _check_sign_in(config: dict) -> None:
    if config["OIDC_ISSUER"] and not (config["OIDC_CLIENT_ID"] and config["OIDC_CLIENT_SECRET"]):
        raise ConfigError(
            "WALKABOUT_OIDC_ISSUER is set without WALKABOUT_OIDC_CLIENT_ID and WALKABOUT_OIDC_CLIENT_SECRET: "
            "set both to the values of Walkabout's registration at the identity provider."
        )
    if not config["LOCAL_PASSWORDS"] and not config["OIDC_ISSUER"]:
        raise ConfigError(
            "WALKABOUT_LOCAL_PASSWORDS=off leaves no way to sign in: set WALKABOUT_OIDC_ISSUER (and the "
            "client id and secret) for single sign-on."
        )


# --- the installation's identity in email and calendars (issue 16) ----------------
# Links in emails, calendar UIDs and Message-IDs come from these two settings, so
# every installation (each trust, staging, training) has its own.
PLACEHOLDER_MAIL_DOMAINS = ("localhost", "example.com", "example.org", "example.net", "invalid")


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
    env = overrides.get("ENV") or _raw("WALKABOUT_ENV") or "production"
    if env not in ENVIRONMENTS:
        raise ConfigError(f"WALKABOUT_ENV must be one of {', '.join(ENVIRONMENTS)}, not {env!r}.")
    https = overrides["HTTPS"] if "HTTPS" in overrides else _flag("WALKABOUT_HTTPS", env == "production")
    config = {
        "ENV": env,
        "TESTING": env == "test",
        "DATABASE_URL": _raw("DATABASE_URL") or f"sqlite:///{instance_path / 'walkabout.db'}",
        "TIMEZONE": _timezone(),
        # The default name; an administrator's name and logo (Admin > Lists > Trust) take over.
        "TRUST_NAME": _raw("WALKABOUT_TRUST_NAME") or "Riverside NHS Foundation Trust",
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
        # An argon2.profiles name; None keeps the library's recommended Argon2id parameters.
        # Tests use the cheapest valid one: hashing would otherwise be a third of their time.
        "PASSWORD_HASH_PROFILE": "CHEAPEST" if env == "test" else None,
        # Actions: default days to the due date by risk band, list page size.
        "ACTION_DUE_DAYS": _due_days(),
        "ACTIONS_PER_PAGE": 25,
        # "You said, we did": how far back the public ward page reaches.
        "PUBLIC_FEEDBACK_DAYS": _int("WALKABOUT_PUBLIC_FEEDBACK_DAYS", 180, 1, 3650),
        # Staff hear back on each concern within this many days of the walkabout.
        "FEEDBACK_DAYS": _int("WALKABOUT_FEEDBACK_DAYS", rules.FEEDBACK_DAYS, 1, 365),
        # Ward coverage: wards not visited for more than this many days are highlighted.
        "COVERAGE_THRESHOLD_DAYS": _int("WALKABOUT_COVERAGE_DAYS", 90, 1, 3650),
        # Board pack: walkabouts starting outside these whole hours (trust time), or at a weekend,
        # count as out of hours.
        "WORKING_DAY_START": _int("WALKABOUT_WORKING_DAY_START", 8, 0, 23),
        "WORKING_DAY_END": _int("WALKABOUT_WORKING_DAY_END", 18, 1, 24),
        "WALKABOUTS_PER_PAGE": 25,
        "AUDIT_PER_PAGE": 50,
        # Who builds board packs: "thread" (in the web process, off the request) or "scheduler".
        "REPORTS_RUNNER": _choice(
            "WALKABOUT_REPORTS_RUNNER", "scheduler" if env == "production" else "thread", REPORTS_RUNNERS
        ),
        "BASE_URL": _base_url(),
        "BASE_URL_SET": _raw("WALKABOUT_BASE_URL") is not None,
        "MAIL_BACKEND": _choice("WALKABOUT_MAIL_BACKEND", "outbox", ("outbox", "smtp")),
        "MAIL_FROM": _raw("WALKABOUT_MAIL_FROM") or "Walkabout <walkabout@localhost>",
        "SMTP_HOST": _raw("SMTP_HOST") or "localhost",
        "SMTP_PORT": _int("SMTP_PORT", 587, 1, 65535),
        "SMTP_SECURITY": _choice("SMTP_SECURITY", "starttls", ("starttls", "ssl", "none")),
        "SMTP_USERNAME": _raw("SMTP_USERNAME"),
        "SMTP_PASSWORD": os.environ.get("SMTP_PASSWORD") or None,  # kept as given: spaces may matter
        # A CA bundle for an SMTP relay whose certificate the trust signs itself.
        "SMTP_CA_FILE": _raw("SMTP_CA_FILE"),
        "NOTIFY_MAX_ATTEMPTS": 5,
        "SESSION_IDLE_MINUTES": _int("WALKABOUT_IDLE_MINUTES", 120, 1, 24 * 60),
        # Number of reverse proxies in front of the app whose X-Forwarded-* headers to trust.
        "PROXY_FIX_HOPS": _int("WALKABOUT_PROXY_HOPS", 0, 0, 5),
        # Pages leave compressed (brotli, else gzip); off when a proxy in front compresses them.
        "COMPRESS_RESPONSES": _flag("WALKABOUT_COMPRESS", True),
        "COMPRESS_ALGORITHM": ["br", "gzip"],
        "COMPRESS_BR_LEVEL": 3,  # half the CPU of level 4 for 2-5% more bytes; smaller than gzip -6
        "COMPRESS_LEVEL": 6,
        "COMPRESS_MIN_SIZE": 1000,
        "COMPRESS_REGISTER": False,  # walkabout/compression.py decides which responses
        "LOG_FORMAT": _choice(
            "WALKABOUT_LOG_FORMAT", "json" if env == "production" else "text", ("json", "text")
        ),
    }
    config.update(_session_settings(https))
    config.update(_sign_in_settings(env))
    config.update(overrides)
    _reports_runner(env, config)
    _check_sign_in(config)
    if "SECRET_KEY" not in overrides:
        config["SECRET_KEY"] = _secret_key(env, instance_path)
    if env == "production":
        _require_mail_identity(config)
    return config
