"""The soak's rows: its users and actions before the run, the rows it made after it.

Each function runs the app in a child process (`python -m bench.soak_data ...`),
so the load generator's processes never inherit a database connection.
"""

import json
import subprocess
import sys
import uuid
from collections import Counter
from contextlib import contextmanager
from datetime import date, timedelta

from .common import BIN, PASSWORD, ROOT

PG_ADMIN = "postgresql://walkabout:walkabout@127.0.0.1:5432/postgres"
PG_URL = "postgresql+psycopg://walkabout:walkabout@127.0.0.1:5432/{name}"


@contextmanager
def postgres_database(kind: str):
    """For --db postgres: a fresh database on the local server, dropped after.

    The server is the one scripts/postgres-test-up.sh starts.
    """
    if kind != "postgres":
        yield None
        return
    import psycopg

    subprocess.run(["bash", str(ROOT / "scripts" / "postgres-test-up.sh")], check=True, capture_output=True)
    name = f"walkabout_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name}")
    try:
        yield PG_URL.format(name=name)
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as connection:
            connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _child(env: dict, *args: str):
    output = subprocess.run(
        [str(BIN / "python"), "-m", "bench.soak_data", *args],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def create_users(env: dict, users: int) -> list[dict]:
    """Half executives (each with a ward to walk), half ward managers (each with an open action)."""
    return _child(env, "create", str(users))


def count_rows(env: dict) -> dict:
    """{"concern": {text: rows}, "update": {text: rows}} for everything the soak wrote."""
    return _child(env, "count")


def _create(users: int) -> list[dict]:
    from walkabout import create_app
    from walkabout.db import session_scope
    from walkabout.db_types import utcnow
    from walkabout.models import (
        Action,
        ActionStatus,
        Concern,
        ConcernKind,
        Role,
        Site,
        User,
        UserRole,
        Walkabout,
        WalkaboutStatus,
        Ward,
        WardManager,
    )
    from walkabout.services.accounts import hash_password

    app = create_app()
    specs = []
    with app.app_context(), session_scope(app) as session:
        password = hash_password(PASSWORD)
        lead = session.query(User).filter(User.email == "executive@example.org").one()
        site = Site(name="Soak site")
        session.add(site)
        session.flush()
        for i in range(users):
            role = Role.EXECUTIVE if i % 2 == 0 else Role.WARD_MANAGER
            user = User(
                email=f"soak{i}@example.org",
                name=f"Soak User {i}",
                password_hash=password,
                password_changed_at=utcnow(),
                role_rows=[UserRole(role=role)],
            )
            ward = Ward(site_id=site.id, name=f"Soak Ward {i}")
            session.add_all([user, ward])
            session.flush()
            spec = {"email": user.email, "ward_id": ward.id}
            if role == Role.WARD_MANAGER:
                session.add(WardManager(ward_id=ward.id, user_id=user.id))
                walkabout = Walkabout(
                    ward_id=ward.id,
                    lead_id=lead.id,
                    scheduled_start=utcnow(),
                    status=WalkaboutStatus.COMPLETED,
                    started_at=utcnow(),
                    completed_at=utcnow(),
                    created_by_id=lead.id,
                )
                session.add(walkabout)
                session.flush()
                concern = Concern(
                    walkabout_id=walkabout.id,
                    kind=ConcernKind.CONCERN,
                    text="Hoist battery fails",
                    likelihood=3,
                    consequence=4,
                    risk_score=12,
                    created_by_id=lead.id,
                )
                session.add(concern)
                session.flush()
                action = Action(
                    concern_id=concern.id,
                    owner_id=user.id,
                    description="Buy a spare battery",
                    due_date=date.today() + timedelta(days=14),
                    status=ActionStatus.OPEN,
                    priority="high",
                    created_by_id=lead.id,
                )
                session.add(action)
                session.flush()
                spec["action_id"] = action.id
            spec["role"] = "concern" if role == Role.EXECUTIVE else "update"
            specs.append(spec)
    return specs


def _count() -> dict:
    from sqlmodel import select

    from walkabout import create_app
    from walkabout.db import session_scope
    from walkabout.models import ActionUpdate, Concern

    app = create_app()
    with app.app_context(), session_scope(app, write=False) as session:
        concerns = session.exec(select(Concern.text).where(Concern.text.like("Soak %"))).all()
        updates = session.exec(select(ActionUpdate.text).where(ActionUpdate.text.like("Soak %"))).all()
    return {
        "concern": Counter(t.split(":")[0].removeprefix("Soak ") for t in concerns),
        "update": Counter(t for t in updates),
    }


if __name__ == "__main__":
    command = sys.argv[1]
    print(json.dumps(_create(int(sys.argv[2])) if command == "create" else _count()))
