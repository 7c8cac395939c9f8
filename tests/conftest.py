"""Fixtures: a fresh database per test (SQLite file, or a PostgreSQL schema when
WALKABOUT_TEST_DATABASE_URL is set), the app, clients and factories."""

import os
import re
import uuid
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlmodel import SQLModel

from walkabout import create_app
from walkabout.db import get_db
from walkabout.defaults import default_list_rows

from .factories import Factory

POSTGRES_URL = os.environ.get("WALKABOUT_TEST_DATABASE_URL")
TEST_SECRET = "test-secret-" + "x" * 40


@pytest.fixture(autouse=True)
def no_real_smtp(monkeypatch):
    """Fail any test that would open a real SMTP connection."""
    import smtplib

    def refuse(*args, **kwargs):
        raise AssertionError("a test tried to open a real SMTP connection")

    monkeypatch.setattr(smtplib, "SMTP", refuse)
    monkeypatch.setattr(smtplib, "SMTP_SSL", refuse)


@pytest.fixture
def database_url(tmp_path):
    if not POSTGRES_URL:
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in POSTGRES_URL else "?"
    yield f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}"
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def make_app(database_url: str, create_tables: bool = True, **overrides):
    config = {"ENV": "test", "SECRET_KEY": TEST_SECRET, "DATABASE_URL": database_url, "HTTPS": False}
    config.update(overrides)
    app = create_app(config)
    if create_tables:
        engine = get_db(app).engine
        SQLModel.metadata.create_all(engine)
        with engine.begin() as connection:
            for table, rows in default_list_rows().items():
                connection.execute(SQLModel.metadata.tables[table].insert(), rows)
    return app


@pytest.fixture
def app(database_url):
    app = make_app(database_url)
    yield app
    get_db(app).engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def factory(app):
    return Factory(app)


@pytest.fixture
def count_queries(app):
    """Context manager counting SQL statements: `with count_queries() as counted: ...; counted()`."""

    @contextmanager
    def counting():
        statements = []

        def on_execute(conn, cursor, statement, *args):
            if not statement.startswith(("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")):
                statements.append(statement)

        engine = get_db(app).engine
        event.listen(engine, "before_cursor_execute", on_execute)
        try:
            yield lambda: len(statements)
        finally:
            event.remove(engine, "before_cursor_execute", on_execute)

    return counting


CSRF_INPUT = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    match = CSRF_INPUT.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1) or match.group(2)


def csrf_token(client, path: str = "/login") -> str:
    return csrf_from(client.get(path).get_data(as_text=True))


def post_form(client, path: str, data: dict, token_from: str | None = None, **kwargs):
    """POST a form the way a browser does: with the CSRF token from a page."""
    data = dict(data)
    data["csrf_token"] = csrf_token(client, token_from or path)
    return client.post(path, data=data, **kwargs)


def login(client, email: str, password: str = Factory.PASSWORD, remember: bool = False):
    data = {"email": email, "password": password}
    if remember:
        data["remember"] = "y"
    return post_form(client, "/login", data)
