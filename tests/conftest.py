"""Fixtures: a database of each test's own, the app, clients, factories and helpers.

The tables and default list rows are built once per session (per xdist
worker), not per test: see `_Databases`. WALKABOUT_TEST_DATABASE_URL runs the
suite on PostgreSQL.
"""

import os
import re
import shutil
import tempfile
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import jinja2
import jinja2.bccache
import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlmodel import SQLModel

from walkabout import create_app
from walkabout.db import get_db
from walkabout.defaults import default_list_rows
from walkabout.timeutil import local_today

from .factories import Factory
from .oidc_provider import openid_provider  # noqa: F401  (a fixture: the real OpenID Provider of the SSO tests)

POSTGRES_URL = os.environ.get("WALKABOUT_TEST_DATABASE_URL")
TEST_SECRET = "test-secret-" + "x" * 40
# This process's PostgreSQL database: the pid tells other runs (and xdist workers) on the server
# apart, and lets a later run drop what a killed one left behind.
WORKER_DATABASE = f"wt_{os.getpid()}_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"


@pytest.fixture(autouse=True)
def no_real_smtp(monkeypatch):
    """Fail any test that would open a real SMTP connection."""
    import smtplib

    def refuse(*args, **kwargs):
        raise AssertionError("a test tried to open a real SMTP connection")

    monkeypatch.setattr(smtplib, "SMTP", refuse)
    monkeypatch.setattr(smtplib, "SMTP_SSL", refuse)


@pytest.fixture(autouse=True)
def own_instance_folder(monkeypatch, tmp_path_factory):
    """Each test's apps keep instance files (the outbox) in a folder of the test's own."""
    monkeypatch.setenv("WALKABOUT_INSTANCE_PATH", str(tmp_path_factory.mktemp("instance")))


class _Databases:
    """The session's built-once databases (per xdist worker), made on first use.

    SQLite: a template file with the tables and default list rows, copied for
    each test. PostgreSQL: a database of the worker's own with the tables, which
    each test empties back to the default rows (about 0.05 s). Cloning with
    `CREATE DATABASE ... TEMPLATE` costs 0.2 s and its DROP DATABASE waits for a
    checkpoint (0.2 s to several seconds here), and creating the tables takes 0.6 s.
    The reset leaves free space that new rows reuse, so a query without ORDER BY
    may return rows in any order (as PostgreSQL allows): order what you compare.
    """

    def __init__(self):
        self.directory: Path | None = None
        self.sqlite: Path | None = None
        self.postgres: str | None = None  # the worker database's URL
        self.postgres_engine: sa.Engine | None = None
        self.admin: sa.Engine | None = None

    def sqlite_template(self) -> Path:
        if self.sqlite is None:
            directory = self.directory or Path(tempfile.mkdtemp(prefix="walkabout-template-"))
            path = directory / "template.db"
            _build_schema(f"sqlite:///{path}")
            self.sqlite = path
        return self.sqlite

    def postgres_admin(self) -> sa.Engine:
        if self.admin is None:
            self.admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
        return self.admin

    def execute_as_admin(self, sql: str) -> None:
        with self.postgres_admin().connect() as connection:
            connection.exec_driver_sql(sql)

    def postgres_with_default_rows(self) -> str:
        """The worker's PostgreSQL database, emptied back to the tables' default rows."""
        if self.postgres is None:
            self.drop_left_behind()
            self.execute_as_admin(f'CREATE DATABASE "{WORKER_DATABASE}" TEMPLATE template0')
            url = postgres_url(WORKER_DATABASE)
            _build_schema(url)
            self.postgres_engine = sa.create_engine(url, poolclass=sa.StaticPool)
            self.postgres_engine.connect().close()  # StaticPool keeps it: the database is in use
            self.postgres = url
            return url
        with self.postgres_engine.begin() as connection:
            # A connection a test left inside a transaction fails the reset instead of hanging it.
            connection.exec_driver_sql("SET LOCAL lock_timeout = '10s'")
            _empty_tables(connection)
            _insert_default_rows(connection)
        return self.postgres

    def drop_left_behind(self) -> None:
        """Drop the worker databases of test runs that were killed (their process is gone)."""
        with self.postgres_admin().connect() as connection:
            query = sa.text("SELECT datname FROM pg_database WHERE datname LIKE :names")
            for name in connection.execute(query, {"names": r"wt\_%"}).scalars().all():
                pid = name.split("_")[1]
                if pid.isdigit() and not _process_alive(int(pid)):
                    connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def close(self) -> None:
        if self.postgres_engine is not None:
            self.postgres_engine.dispose()
            self.execute_as_admin(f'DROP DATABASE IF EXISTS "{WORKER_DATABASE}" WITH (FORCE)')
        if self.admin is not None:
            self.admin.dispose()


_databases = _Databases()


@pytest.fixture(scope="session", autouse=True)
def built_once_databases(tmp_path_factory):
    _databases.directory = tmp_path_factory.mktemp("template")
    yield _databases
    _databases.close()


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def postgres_url(database: str, search_path: str | None = None) -> str:
    """WALKABOUT_TEST_DATABASE_URL pointed at another database (or schema) on the same server.

    Commits do not wait for the disk (synchronous_commit=off): a test never
    survives a server crash, and commits are several times quicker.
    """
    url = sa.make_url(POSTGRES_URL).set(database=database)
    settings = ["-csynchronous_commit=off", f"-csearch_path={search_path}" if search_path else ""]
    options = " ".join(filter(None, [url.query.get("options"), *settings]))
    return url.update_query_dict({"options": options}).render_as_string(hide_password=False)


@contextmanager
def new_database(sqlite_path: Path) -> Iterator[str]:
    """The URL of an empty database of its own: a SQLite file at `sqlite_path`, or a PostgreSQL schema.

    make_app(url) fills it (SQLite: a copy of the template); make_app(url,
    create_tables=False) leaves it empty, as migrations need.
    """
    if not POSTGRES_URL:
        yield f"sqlite:///{sqlite_path}"
        return
    schema = f"t_{uuid.uuid4().hex[:16]}"
    _databases.execute_as_admin(f'CREATE SCHEMA "{schema}"')
    try:
        yield postgres_url(sa.make_url(POSTGRES_URL).database, search_path=schema)
    finally:
        _databases.execute_as_admin(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def database_url(request, tmp_path):
    """An empty database of the test's own (on PostgreSQL, holding the tables when the test uses `app`)."""
    if POSTGRES_URL and "app" in request.fixturenames:
        yield _databases.postgres_with_default_rows()
        return
    with new_database(tmp_path / "test.db") as url:
        yield url


def _config(database_url: str, **overrides) -> dict:
    config = {"ENV": "test", "SECRET_KEY": TEST_SECRET, "DATABASE_URL": database_url, "HTTPS": False}
    # Other features' tests sign administrators in with a password alone; tests/test_two_factor.py
    # and tests/test_sso.py run with the real default ("admins") or "everyone".
    config["TWO_FACTOR_REQUIRED"] = "nobody"
    config.update(overrides)
    return config


def _insert_default_rows(connection) -> None:
    for table, rows in default_list_rows().items():
        connection.execute(SQLModel.metadata.tables[table].insert(), rows)


def _empty_tables(connection) -> None:
    """Delete every row and restart the id sequences: a fresh database's state, without DDL."""
    for table in reversed(SQLModel.metadata.sorted_tables):
        connection.execute(table.delete())
    sequences = connection.exec_driver_sql(
        "SELECT sequencename FROM pg_sequences WHERE schemaname = current_schema()"
    ).scalars()
    for name in sequences:
        connection.exec_driver_sql(f'ALTER SEQUENCE "{name}" RESTART')


def _create_tables(app) -> None:
    engine = get_db(app).engine
    SQLModel.metadata.create_all(engine)
    with engine.begin() as connection:
        _insert_default_rows(connection)


def _build_schema(database_url: str) -> None:
    app = create_app(_config(database_url))
    _create_tables(app)
    get_db(app).engine.dispose()  # SQLite folds its WAL back into the file, ready to copy


def _has_tables_already(database_url: str) -> bool:
    """Give a new database the tables and default rows without DDL; False when it needs create_all."""
    if database_url == _databases.postgres:
        return True
    url = sa.make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return False
    path = Path(url.database)
    if path.exists() or not path.parent.is_dir():
        return False  # not new: create the tables in it as before
    shutil.copyfile(_databases.sqlite_template(), path)
    return True


class _CompiledTemplates(jinja2.BytecodeCache):
    """Templates compiled once per process and shared by every test's app.

    Compiling is most of a page's first render (about 60 ms for /login); Jinja
    checks each template's source checksum, so an edited template is compiled again.
    """

    def __init__(self):
        self.compiled: dict[str, bytes] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        if bucket.key in self.compiled:
            bucket.bytecode_from_string(self.compiled[bucket.key])

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self.compiled[bucket.key] = bucket.bytecode_to_string()


_compiled_templates = _CompiledTemplates()


def make_app(database_url: str, create_tables: bool = True, **overrides):
    """The app on `database_url`; with `create_tables`, the tables and default list rows in it."""
    filled = create_tables and _has_tables_already(database_url)
    app = create_app(_config(database_url, **overrides))
    app.jinja_env.bytecode_cache = _compiled_templates
    if create_tables and not filled:
        _create_tables(app)
    return app


def trust_today(app) -> date:
    """The trust's date (in its TIMEZONE), which due dates, lists and reports use; not date.today()."""
    with app.app_context():
        return local_today()


def wait_for_board_pack_threads(timeout: float = 60) -> None:
    """Let board packs built in threads finish, so none writes into the next test's database."""
    for thread in threading.enumerate():
        if thread.name.startswith("board-pack-"):
            thread.join(timeout)
            assert not thread.is_alive(), f"{thread.name} still running after {timeout}s"


@pytest.fixture
def app(database_url):
    app = make_app(database_url)
    yield app
    wait_for_board_pack_threads()
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
