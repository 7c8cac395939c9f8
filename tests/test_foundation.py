"""Migrations, configuration safety, packaging and the home page's queries."""

from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel, func, select

from walkabout import create_app, migrate
from walkabout.config import ConfigError
from walkabout.db import get_db, session_scope
from walkabout.db_types import utcnow
from walkabout.defaults import CATEGORIES, STAFF_ROLES
from walkabout.models import Category, PromptQuestion, Role, StaffRole

from .conftest import login, make_app

ROOT = Path(__file__).resolve().parent.parent


def test_migrations_build_the_schema_the_models_describe(database_url):
    app = make_app(database_url, create_tables=False)
    assert migrate.current_revision(app) is None
    migrate.upgrade(app)
    assert migrate.current_revision(app) == migrate.head_revision(app)
    engine = get_db(app).engine
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, SQLModel.metadata) == []
    with session_scope(app) as session:
        assert [c.name for c in session.exec(select(Category).order_by(Category.sort_order))] == CATEGORIES
        assert session.exec(select(func.count()).select_from(PromptQuestion)).one() == 8  # with read-back
        assert session.exec(select(func.count()).select_from(StaffRole)).one() == len(STAFF_ROLES)


def test_migrations_downgrade_and_upgrade_again(database_url):
    app = make_app(database_url, create_tables=False)
    migrate.upgrade(app)
    migrate.downgrade(app, "base")
    assert migrate.current_revision(app) is None
    migrate.upgrade(app)
    assert migrate.current_revision(app) == migrate.head_revision(app)


def test_db_upgrade_command(database_url):
    app = make_app(database_url, create_tables=False)
    result = app.test_cli_runner().invoke(args=["db-upgrade"])
    assert result.exit_code == 0, result.output
    assert f"revision {migrate.head_revision(app)}" in result.output


@pytest.mark.parametrize("secret", [None, "", "dev", "changeme", "too-short-secret"])
def test_production_refuses_a_missing_or_weak_secret(tmp_path, monkeypatch, secret):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    if secret is not None:
        monkeypatch.setenv("SECRET_KEY", secret)
    monkeypatch.setenv("WALKABOUT_ENV", "production")
    monkeypatch.setenv("WALKABOUT_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/x.db")
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app()


def test_production_starts_with_a_strong_secret_and_secure_cookies(tmp_path, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "s" * 48)
    monkeypatch.setenv("WALKABOUT_ENV", "production")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/x.db")
    monkeypatch.setenv("WALKABOUT_BASE_URL", "https://walkabout.riverside.nhs.uk")
    monkeypatch.setenv("WALKABOUT_MAIL_FROM", "Walkabout <walkabout@riverside.nhs.uk>")
    app = create_app()
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["REMEMBER_COOKIE_SECURE"]


def test_development_generates_a_secret_once_into_instance(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("WALKABOUT_ENV", "development")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/x.db")
    from walkabout.config import build_config

    first = build_config(tmp_path)["SECRET_KEY"]
    assert len(first) >= 32 and (tmp_path / "secret_key").read_text() == first
    assert build_config(tmp_path)["SECRET_KEY"] == first


def test_sqlite_is_set_up_for_safe_concurrent_writes(app):
    if not get_db(app).is_sqlite:
        assert get_db(app).engine.dialect.name == "postgresql"  # nothing SQLite-specific to check
        return
    with get_db(app).engine.connect() as connection:
        pragma = lambda name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()  # noqa: E731
        assert pragma("journal_mode") == "wal"
        assert pragma("busy_timeout") >= 5000
        assert pragma("foreign_keys") == 1


def test_home_page_queries_do_not_grow_with_rows(app, client, factory, count_queries):
    executive = factory.user(Role.EXECUTIVE)
    ward = factory.ward()
    login(client, executive.email)

    def add_rows(n):
        for i in range(n):
            walkabout = factory.walkabout(ward, executive, start=utcnow() + timedelta(minutes=i + 1))
            factory.action(factory.concern(walkabout), executive)

    add_rows(1)
    client.get("/")  # fills the process's choice cache (services/choice_cache): both counts are warm
    add_rows(1)  # Home is kept until a change (services/versioned_cache): count it built afresh
    with count_queries() as few:
        assert client.get("/").status_code == 200
    add_rows(6)
    with count_queries() as many:
        page = client.get("/").get_data(as_text=True)
    assert many() == few()
    assert page.count("Order a second scanner") == 8


def test_ward_manager_home_shows_only_their_wards_walkabouts(client, factory):
    manager = factory.user(Role.WARD_MANAGER)
    executive = factory.user(Role.EXECUTIVE)
    mine = factory.ward(name="Mine Ward", managers=(manager,))
    other = factory.ward(name="Other Ward")
    zone = ZoneInfo("Europe/London")
    early_today = datetime.combine(factory.today(), time(0, 30), tzinfo=zone)
    factory.walkabout(mine, executive, start=early_today)
    factory.walkabout(other, executive, start=early_today)
    login(client, manager.email)
    page = client.get("/").get_data(as_text=True)
    assert "Mine Ward" in page and "Other Ward" not in page


def test_an_older_database_is_upgraded_without_losing_rows(database_url):
    """A trust's database at revision 0001, full of data, upgrades to head intact."""
    app = make_app(database_url, create_tables=False)
    # Seeded with today's models, then taken back to 0001 (so the downgrades run on data too).
    migrate.upgrade(app)
    result = app.test_cli_runner().invoke(args=["seed-demo", "--password", "demo-password-123"])
    assert result.exit_code == 0, result.output
    migrate.downgrade(app, "0001")
    import sqlalchemy as sa

    def counts():
        with get_db(app).engine.connect() as connection:
            return {
                table: connection.execute(sa.text(f'SELECT COUNT(*) FROM "{table}"')).scalar()
                for table in ("user", "ward", "walkabout", "concern", "action", "audit_event")
            }

    before = counts()
    with get_db(app).engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO walkabout_series "
                "(ward_id, lead_id, rule, first_start, duration_minutes, created_at) "
                "VALUES (1, 1, 'FREQ=MONTHLY;COUNT=3', '2026-01-06 14:00:00', 60, '2026-01-01 09:00:00')"
            )
        )
    migrate.upgrade(app)
    assert migrate.current_revision(app) == migrate.head_revision(app) != "0001"
    assert counts() == before and before["concern"] > 100
    with session_scope(app) as session:
        from walkabout.models import WalkaboutSeries

        versions = [s.version for s in session.exec(select(WalkaboutSeries)).all()]
        assert len(versions) > 1 and set(versions) == {1}  # the demo's series and the one added
    assert login(app.test_client(), "executive@example.org", "demo-password-123").status_code == 303
