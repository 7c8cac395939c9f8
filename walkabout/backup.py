"""Backup and restore: SQLite's online backup; PostgreSQL is left to pg_dump."""

import sqlite3
from pathlib import Path

from sqlalchemy.engine import make_url

PG_GUIDANCE = (
    "This database is PostgreSQL: back it up with pg_dump, e.g.\n"
    '  pg_dump --format=custom --file=walkabout.dump "$DATABASE_URL_WITHOUT_DRIVER"\n'
    "and restore with pg_restore --clean --if-exists --dbname=... walkabout.dump\n"
    "(use the URL without '+psycopg'). Schedule it with the rest of your PostgreSQL backups."
)


class BackupError(RuntimeError):
    """Backup or restore refused; the message says why and what to do."""


def sqlite_path(database_url: str) -> Path:
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        raise BackupError(PG_GUIDANCE)
    if not url.database or url.database == ":memory:":
        raise BackupError("An in-memory database cannot be backed up.")
    return Path(url.database)


def backup(database_url: str, target: Path) -> int:
    """Copy the live SQLite database to `target` (safe while the app runs); returns bytes."""
    source_path = sqlite_path(database_url)
    if target.exists():
        raise BackupError(f"{target} already exists; choose a new file name.")
    target.parent.mkdir(parents=True, exist_ok=True)
    _copy(source_path, target)
    _check(target)
    return target.stat().st_size


def restore(database_url: str, backup_file: Path) -> None:
    """Replace the SQLite database with `backup_file` (stop the app and scheduler first)."""
    target_path = sqlite_path(database_url)
    if not backup_file.is_file():
        raise BackupError(f"{backup_file} does not exist.")
    _check(backup_file)
    _copy(backup_file, target_path)


def _copy(source_path: Path, target_path: Path) -> None:
    """SQLite's online backup: page by page, consistent even while others write."""
    source = sqlite3.connect(source_path)
    destination = sqlite3.connect(target_path)
    try:
        with destination:
            source.backup(destination)
    finally:
        source.close()
        destination.close()


def _check(path: Path) -> None:
    connection = sqlite3.connect(path)
    try:
        result = connection.execute("PRAGMA integrity_check").fetchone()[0]
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    except sqlite3.DatabaseError as error:
        raise BackupError(f"{path} is not a readable SQLite database: {error}") from error
    finally:
        connection.close()
    if result != "ok":
        raise BackupError(f"{path} failed SQLite's integrity check: {result}")
    if "alembic_version" not in tables or "walkabout" not in tables:
        raise BackupError(f"{path} is not a Walkabout database.")
