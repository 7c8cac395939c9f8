"""Benchmark: programme pages on the large demo trust (120 wards, ten years of walkabouts).

    WALKABOUT_ENV=test .venv/bin/python bench/programme_pages.py [--requests 200]

Seeds a fresh SQLite trust in a temporary directory, signs in as the demo
executive and times each page in-process (no network), reporting p50/p95 and the
number of SQL statements per request. Not a timed test: run it by hand.
"""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from flask import Flask
from sqlalchemy import event
from sqlmodel import select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from walkabout import create_app, migrate  # noqa: E402
from walkabout.db import get_db, session_scope  # noqa: E402
from walkabout.models import User  # noqa: E402
from walkabout.services.calendar import rotate_token  # noqa: E402

PASSWORD = "benchmark-password"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(
            {
                "ENV": "test",
                "SECRET_KEY": "b" * 40,
                "HTTPS": False,
                "DATABASE_URL": f"sqlite:///{tmp}/bench.db",
            }
        )
        migrate.upgrade(app)
        started = time.perf_counter()
        result = app.test_cli_runner().invoke(args=["seed-demo", "--scale", "large", "--password", PASSWORD])
        assert result.exit_code == 0, result.output
        print(f"seeded the large trust in {time.perf_counter() - started:.1f} s")
        with app.app_context(), session_scope(app) as session:
            user = session.exec(select(User).where(User.email == "executive@example.org")).one()
            token = rotate_token(session, user)
        client = app.test_client()
        page = client.get("/login").get_data(as_text=True)
        csrf = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
        client.post(
            "/login", data={"email": "executive@example.org", "password": PASSWORD, "csrf_token": csrf}
        )
        statements = []
        event.listen(get_db(app).engine, "before_cursor_execute", lambda *a: statements.append(1))
        paths = [
            "/walkabouts",
            "/walkabouts?mine=0",
            "/walkabouts?tab=past&mine=0",
            "/walkabouts?tab=past&mine=0&page=40",
            "/coverage",
            "/coverage?sort=count",
            f"/calendar/{token}.ics",
        ]
        hello = Flask("hello")
        hello.add_url_rule("/", "hello", lambda: "Hello, world!")
        hello_client = hello.test_client()
        baseline = statistics.median(_time(hello_client.get, "/") for _ in range(args.requests))
        print(f"hello-world Flask endpoint, same process: p50 {baseline:.2f} ms")
        print(f"{'path':45} {'p50 ms':>8} {'p95 ms':>8} {'queries':>8}")
        for path in paths:
            timings = []
            for _ in range(args.requests):
                statements.clear()
                begin = time.perf_counter()
                response = client.get(path)
                timings.append((time.perf_counter() - begin) * 1000)
                assert response.status_code == 200, (path, response.status_code)
            p95 = statistics.quantiles(timings, n=20)[-1]
            print(f"{path[:45]:45} {statistics.median(timings):8.1f} {p95:8.1f} {len(statements):8d}")


def _time(get, path: str) -> float:
    begin = time.perf_counter()
    get(path)
    return (time.perf_counter() - begin) * 1000


if __name__ == "__main__":
    main()
