"""Every setting the README documents is read from the environment and checked at start-up;
in production board packs are built by the scheduler process, never in a web worker."""

import re
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from walkabout import create_app
from walkabout.config import ConfigError, build_config
from walkabout.db import session_scope
from walkabout.models import BoardPack, BoardPackStatus, Role

from .conftest import TEST_SECRET, login, make_app, post_form

README = Path(__file__).resolve().parent.parent / "README.md"


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    for name in documented_variables():
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("WALKABOUT_ENV", "test")
    return monkeypatch


def documented_variables() -> list[str]:
    """The variables named in the README's Configuration section (table and email paragraph)."""
    text = README.read_text()
    section = text.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    return sorted(set(re.findall(r"`((?:WALKABOUT|SMTP)_[A-Z_]+|SECRET_KEY|DATABASE_URL)`", section)))


def test_the_readme_documents_the_new_settings():
    names = documented_variables()
    for name in ("WALKABOUT_ACTION_DUE_DAYS", "WALKABOUT_PUBLIC_FEEDBACK_DAYS", "WALKABOUT_REPORTS_RUNNER"):
        assert name in names


GOOD = {
    "WALKABOUT_ACTION_DUE_DAYS": ("extreme=3, high=10,moderate=21,low=45", "ACTION_DUE_DAYS"),
    "WALKABOUT_PUBLIC_FEEDBACK_DAYS": ("365", "PUBLIC_FEEDBACK_DAYS"),
    "WALKABOUT_COVERAGE_DAYS": ("60", "COVERAGE_THRESHOLD_DAYS"),
    "WALKABOUT_IDLE_MINUTES": ("30", "SESSION_IDLE_MINUTES"),
    "WALKABOUT_PROXY_HOPS": ("1", "PROXY_FIX_HOPS"),
    "WALKABOUT_TIMEZONE": ("Europe/Dublin", "TIMEZONE"),
    "WALKABOUT_TRUST_NAME": ("Northgate NHS Trust", "TRUST_NAME"),
    "WALKABOUT_REPORTS_RUNNER": ("scheduler", "REPORTS_RUNNER"),
    "WALKABOUT_LOG_FORMAT": ("json", "LOG_FORMAT"),
    "WALKABOUT_MAIL_BACKEND": ("smtp", "MAIL_BACKEND"),
    "WALKABOUT_MAIL_FROM": ("Walks <walks@trust.nhs.uk>", "MAIL_FROM"),
    "WALKABOUT_BASE_URL": ("https://walkabout.trust.nhs.uk/", "BASE_URL"),
    "WALKABOUT_HTTPS": ("off", "HTTPS"),
    "SMTP_HOST": ("smtp.trust.nhs.uk", "SMTP_HOST"),
    "SMTP_PORT": ("465", "SMTP_PORT"),
    "SMTP_SECURITY": ("ssl", "SMTP_SECURITY"),
    "SMTP_USERNAME": ("walkabout", "SMTP_USERNAME"),
    "WALKABOUT_OIDC_ISSUER": ("https://login.microsoftonline.com/abc/v2.0/", "OIDC_ISSUER"),
    "WALKABOUT_OIDC_CLIENT_ID": ("walkabout-client", "OIDC_CLIENT_ID"),
    "WALKABOUT_OIDC_CLIENT_SECRET": ("s3cret", "OIDC_CLIENT_SECRET"),
    "WALKABOUT_OIDC_TENANT": ("abc", "OIDC_TENANT"),
    "WALKABOUT_OIDC_TENANT_CLAIM": ("tenant", "OIDC_TENANT_CLAIM"),
    "WALKABOUT_OIDC_EMAIL_VERIFIED_CLAIM": ("xms_edov", "OIDC_EMAIL_VERIFIED_CLAIM"),
    "WALKABOUT_OIDC_BUTTON_LABEL": ("Sign in with NHSmail", "OIDC_BUTTON_LABEL"),
    "WALKABOUT_OIDC_CREATE_USERS": ("on", "OIDC_CREATE_USERS"),
    "WALKABOUT_OIDC_CLOCK_SKEW_SECONDS": ("30", "OIDC_CLOCK_SKEW_SECONDS"),
    "WALKABOUT_LOCAL_PASSWORDS": ("off", "LOCAL_PASSWORDS"),
    "WALKABOUT_BREAK_GLASS_ADMIN": ("It-Oncall@Trust.nhs.uk", "BREAK_GLASS_ADMIN"),
    "WALKABOUT_2FA_REQUIRED": ("everyone", "TWO_FACTOR_REQUIRED"),
}
EXPECTED = {
    "ACTION_DUE_DAYS": {"extreme": 3, "high": 10, "moderate": 21, "low": 45},
    "PUBLIC_FEEDBACK_DAYS": 365,
    "COVERAGE_THRESHOLD_DAYS": 60,
    "SESSION_IDLE_MINUTES": 30,
    "PROXY_FIX_HOPS": 1,
    "SMTP_PORT": 465,
    "HTTPS": False,
    "BASE_URL": "https://walkabout.trust.nhs.uk",
    "OIDC_ISSUER": "https://login.microsoftonline.com/abc/v2.0",
    "OIDC_CREATE_USERS": True,
    "OIDC_CLOCK_SKEW_SECONDS": 30,
    "LOCAL_PASSWORDS": False,
    "BREAK_GLASS_ADMIN": "it-oncall@trust.nhs.uk",
}


def test_every_documented_setting_is_read_from_the_environment(clean_env, tmp_path):
    for name, (value, _) in GOOD.items():
        clean_env.setenv(name, value)
    config = build_config(tmp_path)
    for name, (value, key) in GOOD.items():
        assert config[key] == EXPECTED.get(key, value), name


def test_a_partial_due_days_setting_keeps_the_other_defaults(clean_env, tmp_path):
    clean_env.setenv("WALKABOUT_ACTION_DUE_DAYS", "extreme=2")
    assert build_config(tmp_path)["ACTION_DUE_DAYS"] == {"extreme": 2, "high": 14, "moderate": 30, "low": 60}


BAD = [
    ("WALKABOUT_ACTION_DUE_DAYS", "extreme=7,urgent=3"),
    ("WALKABOUT_ACTION_DUE_DAYS", "extreme:7"),
    ("WALKABOUT_ACTION_DUE_DAYS", "extreme=seven"),
    ("WALKABOUT_ACTION_DUE_DAYS", "extreme=0"),
    ("WALKABOUT_ACTION_DUE_DAYS", "extreme=²"),
    ("WALKABOUT_PUBLIC_FEEDBACK_DAYS", "six months"),
    ("WALKABOUT_PUBLIC_FEEDBACK_DAYS", "-5"),
    ("WALKABOUT_COVERAGE_DAYS", "9O"),
    ("WALKABOUT_IDLE_MINUTES", "1.5"),
    ("WALKABOUT_PROXY_HOPS", "²"),
    ("SMTP_PORT", "99999"),
    ("SMTP_SECURITY", "tls"),
    ("WALKABOUT_MAIL_BACKEND", "sendmail"),
    ("WALKABOUT_LOG_FORMAT", "xml"),
    ("WALKABOUT_REPORTS_RUNNER", "celery"),
    ("WALKABOUT_TIMEZONE", "Mars/Olympus"),
    ("WALKABOUT_HTTPS", "maybe"),
    ("WALKABOUT_BASE_URL", "walkabout.trust.nhs.uk"),
    ("WALKABOUT_ENV", "staging"),
    ("WALKABOUT_OIDC_ISSUER", "http://login.example.org"),
    ("WALKABOUT_OIDC_CLOCK_SKEW_SECONDS", "²"),
    ("WALKABOUT_OIDC_CREATE_USERS", "sometimes"),
    ("WALKABOUT_LOCAL_PASSWORDS", "maybe"),
    ("WALKABOUT_2FA_REQUIRED", "nobody"),
]


@pytest.mark.parametrize("name, value", BAD)
def test_a_bad_value_stops_start_up_naming_the_variable(clean_env, tmp_path, name, value):
    clean_env.setenv(name, value)
    clean_env.setenv("WALKABOUT_INSTANCE_PATH", str(tmp_path))
    with pytest.raises(ConfigError, match=name):
        create_app({"SECRET_KEY": TEST_SECRET, "DATABASE_URL": f"sqlite:///{tmp_path}/x.db"})


def test_due_days_from_the_environment_set_the_assign_pages_default(clean_env, database_url, factory_for):
    clean_env.setenv("WALKABOUT_ACTION_DUE_DAYS", "extreme=3")
    app = make_app(database_url)
    factory = factory_for(app)
    executive = factory.user(Role.EXECUTIVE)
    concern = factory.concern(factory.walkabout(factory.ward(), executive), likelihood=5, consequence=5)
    client = app.test_client()
    login(client, executive.email)
    page = client.get(f"/concerns/{concern.id}/actions/new").get_data(as_text=True)
    with app.app_context():
        from walkabout.timeutil import local_today

        due = local_today() + timedelta(days=3)
    assert f'value="{due.isoformat()}"' in page


def test_feedback_days_from_the_environment_reach_the_app(clean_env, database_url):
    clean_env.setenv("WALKABOUT_PUBLIC_FEEDBACK_DAYS", "30")
    assert make_app(database_url).config["PUBLIC_FEEDBACK_DAYS"] == 30


# --- board packs in production -------------------------------------------------------


def set_mail_identity(env) -> None:
    """Production also requires the installation's address and sending mailbox."""
    env.setenv("WALKABOUT_BASE_URL", "https://walkabout.trust.test")
    env.setenv("WALKABOUT_MAIL_FROM", "Walkabout <walkabout@trust.test>")


def production(clean_env, tmp_path, **overrides):
    clean_env.setenv("WALKABOUT_ENV", "production")
    set_mail_identity(clean_env)
    return build_config(tmp_path, {"SECRET_KEY": TEST_SECRET, **overrides})


def test_production_builds_board_packs_in_the_scheduler_by_default(clean_env, tmp_path):
    assert production(clean_env, tmp_path)["REPORTS_RUNNER"] == "scheduler"


def test_production_refuses_to_build_board_packs_in_a_web_worker(clean_env, tmp_path):
    clean_env.setenv("WALKABOUT_REPORTS_RUNNER", "thread")
    with pytest.raises(ConfigError, match="WALKABOUT_REPORTS_RUNNER"):
        production(clean_env, tmp_path)
    with pytest.raises(ConfigError, match="REPORTS_RUNNER"):
        production(clean_env, tmp_path, REPORTS_RUNNER="thread")


def test_a_production_web_worker_starts_no_thread_for_a_requested_pack(clean_env, database_url, factory_for):
    clean_env.setenv("WALKABOUT_ENV", "production")
    set_mail_identity(clean_env)
    app = make_app(database_url, ENV="production", HTTPS=False, SESSION_COOKIE_SECURE=False)
    assert app.config["REPORTS_RUNNER"] == "scheduler"
    factory = factory_for(app)
    secretary = factory.user(Role.BOARD_SECRETARY)
    # A walkabout in the month: a month before the first walkabout has no pack (issue 19).
    factory.walkabout(
        factory.ward(), factory.user(Role.EXECUTIVE), start=datetime(2026, 10, 5, 9, tzinfo=UTC)
    )
    client = app.test_client()
    login(client, secretary.email)
    before = {thread.name for thread in threading.enumerate()}
    response = post_form(client, "/reports/monthly/2026-10/packs", {}, token_from="/reports")
    assert response.status_code in (202, 303)
    started = {thread.name for thread in threading.enumerate()} - before
    assert not [name for name in started if name.startswith("board-pack-")]
    with session_scope(app) as session:
        assert session.exec(select(BoardPack.status)).one() == BoardPackStatus.PENDING


@pytest.fixture
def factory_for():
    from .factories import Factory

    return Factory
