"""Flask commands: db-upgrade, db-revision, seed-demo, create-user."""

import secrets
import sys
from pathlib import Path

import click
from alembic import command
from flask import Flask, current_app
from flask.cli import with_appcontext

from . import migrate
from .db import get_db, session_scope
from .models import Role
from .services import ServiceError, accounts, data_version


def register_commands(app: Flask) -> None:
    for cmd in (db_upgrade, db_revision, seed_demo, create_user, scheduler, backup_command, restore_command):
        app.cli.add_command(cmd)


@click.command("db-upgrade")
@click.option("--revision", default="head", show_default=True, help="Target revision.")
@with_appcontext
def db_upgrade(revision: str) -> None:
    """Apply database migrations."""
    migrate.upgrade(current_app, revision)
    click.echo(f"Database at revision {migrate.current_revision(current_app)}.")


@click.command("db-revision")
@click.option("-m", "--message", required=True, help="What the revision changes.")
@with_appcontext
def db_revision(message: str) -> None:
    """Generate a migration from the difference between the models and the database."""
    command.revision(migrate.alembic_config(current_app), message=message, autogenerate=True)


@click.command("seed-demo")
@click.option("--password", default="walkabout-demo", show_default=True, help="Password of every demo user.")
@click.option("--scale", type=click.Choice(["small", "large", "xlarge"]), default="small", show_default=True)
@click.option("--if-empty", is_flag=True, help="Do nothing when the database already has users.")
@click.option("--force", is_flag=True, help="Run even in production (a demo server only).")
@with_appcontext
def seed_demo(password: str, scale: str, if_empty: bool, force: bool) -> None:
    """Fill the database with a realistic demo trust."""
    from .demo import DEMO_LOGINS, seed

    if current_app.config["ENV"] == "production" and not force:
        raise click.ClickException(
            "seed-demo creates four accounts with a known password, so it does not run in production "
            "(WALKABOUT_ENV=production). On a demo server that is not for real patients' data, add --force."
        )
    with session_scope() as session:
        if accounts.count_users(session):
            if if_empty:
                click.echo("The database already has users; demo data not added.")
                return
            raise click.ClickException("The database already has users; seed-demo needs an empty database.")
        totals = seed(session, password=password, scale=scale)
    get_db(current_app).analyze()
    click.echo("Demo trust created: " + ", ".join(f"{n} {what}" for what, n in totals.items()) + ".")
    click.echo(f"Sign in as (password: {password}):")
    for email, role in DEMO_LOGINS:
        click.echo(f"  {email:<28} {role}")
    click.echo("The administrator sets up a second factor (an authenticator app) at first sign-in.")


@click.command("create-user")
@click.option("--email", prompt=True)
@click.option("--name", prompt=True)
@click.option(
    "--role",
    "roles",
    multiple=True,
    required=True,
    type=click.Choice([role.value for role in Role]),
    help="Repeat for several roles.",
)
@click.option("--job-title", default=None)
@click.option("--generate-password", is_flag=True, help="Generate and print a password instead of asking.")
@with_appcontext
def create_user(
    email: str, name: str, roles: tuple[str, ...], job_title: str | None, generate_password: bool
) -> None:
    """Add a user; the password is prompted for, or generated."""
    min_length = current_app.config["PASSWORD_MIN_LENGTH"]
    if generate_password or not sys.stdin.isatty():
        password = secrets.token_urlsafe(12)
        generated = True
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        generated = False
    try:
        accounts.check_password_rules(password, min_length, email)
        with session_scope() as session:
            user = accounts.create_user(
                session,
                None,
                email=email,
                name=name,
                roles={Role(r) for r in roles},
                password=password,
                job_title=job_title,
                must_change_password=generated,
            )
    except ServiceError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"Created {user.email} ({', '.join(sorted(roles))}).")
    if generated:
        click.echo(f"Password: {password}")


@click.command("scheduler")
@click.option("--once", is_flag=True, help="Run every job once and exit (for cron or a check).")
@with_appcontext
def scheduler(once: bool) -> None:
    """Run the scheduler process: reminders, digests, board packs, email."""
    from .scheduler import run

    run(current_app._get_current_object(), once=once)


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def backup_command(path: Path) -> None:
    """Back up the SQLite database to PATH while the app runs (PostgreSQL: pg_dump guidance)."""
    from .backup import BackupError, backup

    try:
        size = backup(current_app.config["DATABASE_URL"], path)
    except BackupError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"Backed up to {path} ({size // 1024} KB), integrity checked.")


@click.command("restore")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_appcontext
def restore_command(path: Path, yes: bool) -> None:
    """Replace the SQLite database with the backup at PATH. Stop the app and scheduler first."""
    from .backup import BackupError, restore

    if not yes:
        click.confirm("This replaces every record in the current database. Continue?", abort=True)
    try:
        restore(current_app.config["DATABASE_URL"], path)
    except BackupError as error:
        raise click.ClickException(str(error)) from error
    with session_scope() as session:  # a worker left running must not serve what it kept from before
        data_version.move_on_everything(session)
    click.echo(f"Restored from {path}. Run db-upgrade if the backup is from an older version.")
