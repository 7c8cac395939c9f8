"""Security headers, idle sign-out, password rules, proxy headers, logs, backup and restore."""

import json
import logging
import sqlite3
from datetime import timedelta

import pytest
from sqlmodel import func, select

from walkabout import migrate
from walkabout.db import get_db, session_scope
from walkabout.models import DataVersion, User, UserSession
from walkabout.services import ServiceError
from walkabout.services.accounts import check_password_rules

from .conftest import login, make_app, post_form
from .factories import Factory


def test_every_response_carries_security_headers(client, factory):
    login(client, factory.user().email)
    for path in ("/", "/login", "/healthz", "/no/such/page"):
        headers = client.get(path).headers
        csp = headers["Content-Security-Policy"]
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "same-origin"
        assert headers["Cache-Control"] == "no-store"
        assert "Strict-Transport-Security" not in headers  # plain HTTP in tests
    static = client.get("/static/vendor/walkabout.css")
    assert static.headers.get("Cache-Control") != "no-store"


def test_https_deployments_send_hsts(database_url):
    app = make_app(database_url, create_tables=False, HTTPS=True)
    assert "max-age=31536000" in app.test_client().get("/login").headers["Strict-Transport-Security"]


def test_csp_allows_only_this_sites_scripts(client):
    csp = client.get("/login").headers["Content-Security-Policy"]
    assert "script-src 'self';" in csp and "unsafe-inline" not in csp and "https:" not in csp


def test_a_missing_front_end_build_stops_start_up(database_url, monkeypatch):
    from walkabout import assets
    from walkabout.config import ConfigError

    monkeypatch.setattr(assets, "HTMX_LOCAL", "vendor/not-built.js")
    with pytest.raises(ConfigError, match="make vendor"):
        make_app(database_url, create_tables=False)


def test_idle_sessions_end(app, client, factory):
    user = factory.user()
    login(client, user.email, remember=True)
    assert client.get("/").status_code == 200
    idle = timedelta(minutes=app.config["SESSION_IDLE_MINUTES"], seconds=1)
    with session_scope(app) as session:
        record = session.exec(select(UserSession).where(UserSession.user_id == user.id)).one()
        record.last_seen_at -= idle
    response = client.get("/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert "without activity" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert client.get("/").status_code == 302  # the remember-me cookie was cleared too


@pytest.mark.parametrize(
    "password, message",
    [
        ("short", "at least 12"),
        ("passwordpassword", "Repeats"),
        ("qwertyuiop123", "common password"),
        ("Password12345", "commonly used password"),
        ("manager@example.org", "must not be your email"),
        ("managerexample", "guess"),
    ],
)
def test_weak_passwords_are_refused(password, message):
    with pytest.raises(ServiceError, match=message):
        check_password_rules(password, 12, "manager@example.org")


def test_a_long_passphrase_is_accepted():
    check_password_rules("lantern orbit cabbage violin", 12, "manager@example.org")


def test_users_see_why_a_password_is_refused(client, factory):
    login(client, factory.user().email)
    response = post_form(
        client,
        "/account/password",
        {
            "current_password": Factory.PASSWORD,
            "new_password": "qwertyuiop123",
            "confirm_password": "qwertyuiop123",
        },
    )
    assert response.status_code == 400
    assert "This is a very common password." in response.get_data(as_text=True)


def test_proxy_headers_are_trusted_only_when_configured(database_url):
    plain = make_app(database_url, create_tables=False)
    proxied = make_app(database_url, create_tables=False, PROXY_FIX_HOPS=1)
    for app, expected in ((plain, "127.0.0.1"), (proxied, "203.0.113.9")):
        seen = {}

        @app.get("/_address")
        def address(seen=seen):
            from flask import request

            seen["address"] = request.remote_addr
            return "ok"

        app.test_client().get("/_address", headers={"X-Forwarded-For": "203.0.113.9"})
        assert seen["address"] == expected


def test_request_logs_hold_no_tokens_or_text(app, client, factory, caplog):
    user = factory.user()
    login(client, user.email)
    with caplog.at_level(logging.INFO, logger="walkabout.requests"):
        client.get("/admin/users/12345")
    entry = caplog.records[-1].fields
    assert entry["route"] == "/admin/users/<int:user_id>" and entry["ids"] == {"user_id": 12345}
    assert entry["status"] == 403 and entry["user_id"] == user.id
    assert user.email not in json.dumps(entry, default=str)


def test_backup_and_restore_round_trip(app, runner, tmp_path, factory):
    if not get_db(app).is_sqlite:
        result = runner.invoke(args=["backup", str(tmp_path / "b.db")])
        assert result.exit_code != 0 and "pg_dump" in result.output
        return
    migrate_app = make_app(app.config["DATABASE_URL"].replace("test.db", "migrated.db"), create_tables=False)
    migrate.upgrade(migrate_app)
    runner = migrate_app.test_cli_runner()
    runner.invoke(args=["seed-demo"])
    with session_scope(migrate_app) as session:
        users_before = session.exec(select(func.count()).select_from(User)).one()
    target = tmp_path / "backups" / "walkabout.db"
    result = runner.invoke(args=["backup", str(target)])
    assert result.exit_code == 0, result.output
    assert runner.invoke(args=["backup", str(target)]).exit_code != 0  # never overwrites

    with session_scope(migrate_app) as session:
        session.delete(session.exec(select(User).where(User.email == "admin@example.org")).one())
    result = runner.invoke(args=["restore", str(target), "--yes"])
    assert result.exit_code == 0, result.output
    with session_scope(migrate_app) as session:
        assert session.exec(select(func.count()).select_from(User)).one() == users_before
        versions = dict(session.exec(select(DataVersion.scope, DataVersion.version)).all())
    with sqlite3.connect(target) as backup_file:  # a worker's caches from before the restore are out of date
        backed_up = dict(backup_file.execute("SELECT scope, version FROM data_version").fetchall())
    assert versions == {scope: backed_up.get(scope, 0) + 1 for scope in ("records", "choices")}

    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all" * 100)
    refused = runner.invoke(args=["restore", str(junk), "--yes"])
    assert refused.exit_code != 0 and "not a readable SQLite database" in refused.output
    assert login(migrate_app.test_client(), "admin@example.org", "walkabout-demo").status_code == 303
