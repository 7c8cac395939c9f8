"""CPU per request of each page, in process, on the small, large and xlarge demo trusts.

    .venv/bin/python -m bench.cpu [--requests 30] [--scales small large xlarge] [--json PATH] [--keep DIR]

Each trust is seeded into a fresh SQLite database in its own child process (so one trust's
caches and memory never reach the next), with the app's production settings. As in
bench/throughput.py the demo executive starts today's walkabout and logs five concerns, and the
demo ward manager signs in. Each page is then requested through the Flask test client: three
warm-up requests, then --requests timed with time.process_time() (the process's CPU, SQLite's
included since it runs in the process; a busy machine barely changes it, unlike the wall clock).
Prints CPU ms per request and SQL statements per request for each trust, warm and "cold" (each
request just after a change committed elsewhere, so nothing kept per process can be used), and
the xlarge/small ratio of the warm figures against the budget (DESIGN.md section 7: list pages
within 1.25x, the dashboard 1.5x).
With --keep DIR each seeded trust is kept as DIR/<scale>.db and later runs start from a copy of
it, migrated to head (seeding xlarge took 5-8 minutes on the shared machine on 1 Dec 2026).
"""

import argparse
import gc
import json
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

from .common import BASE_URL, BIN, EXECUTIVE, MAIL_FROM, MANAGER, PASSWORD, ROOT, csrf
from .targets import PAGES
from .throughput import ACCEPT_ENCODING, CONCERN

SCALES = ("small", "large", "xlarge")


def measure_scale(scale: str, requests: int, keep: Path | None = None) -> dict:
    """In this process: seed `scale` (or copy the one kept in `keep`), sign in, time every page.
    Returns the figures."""
    from sqlalchemy import event

    from walkabout.db import get_db

    app, folder, seed_seconds = open_trust(scale, seeded_copy(scale, keep))
    executive, manager, walkabout = set_up(app)
    statements = []
    event.listen(get_db(app).engine, "before_cursor_execute", lambda *a: statements.append(1))
    pages = {}
    for page in PAGES:
        client = manager if page.user == MANAGER else executive
        url = page.url(walkabout)
        for _ in range(3):
            get(client, url)
        gc.collect()
        statements.clear()
        wall = []
        cpu_started = time.process_time()
        for _ in range(requests):
            began = time.perf_counter()
            get(client, url)
            wall.append((time.perf_counter() - began) * 1000)
        cpu = (time.process_time() - cpu_started) * 1000 / requests
        warm_statements = len(statements) / requests
        cold, cold_statements = cold_requests(app, client, url, max(5, requests // 4), statements)
        pages[page.key] = {
            "cpu_ms": cpu,
            "cold_cpu_ms": cold,
            "wall_p50_ms": statistics.median(wall),
            "statements": warm_statements,
            "cold_statements": cold_statements,
        }
    close_trust(app, folder)
    return {"scale": scale, "seed_seconds": seed_seconds, "pages": pages}


def cold_requests(app, client, url: str, requests: int, statements: list) -> tuple[float, float]:
    """CPU ms and SQL statements per request of `url` each just after a change committed elsewhere
    (the data version moved on, as when someone logs a concern): what the page costs when nothing
    it keeps per process (services/versioned_cache) can be used."""
    from walkabout.db import session_scope
    from walkabout.services import data_version

    spent, counted = 0.0, 0
    for _ in range(requests):
        with session_scope(app) as session:
            data_version.move_on_everything(session)
        statements.clear()
        started = time.process_time()
        get(client, url)
        spent += time.process_time() - started
        counted += len(statements)
    return spent * 1000 / requests, counted / requests


def seeded_copy(scale: str, keep: Path | None) -> Path | None:
    """The kept database of `scale` (seeded into DIR the first time), or None to seed afresh."""
    if keep is None:
        return None
    kept = keep / f"{scale}.db"
    if not kept.exists():
        keep.mkdir(parents=True, exist_ok=True)
        app, folder, seconds = open_trust(scale)
        close_trust(app, folder, keep_as=kept)  # once closed: SQLite has folded its WAL into the file
        print(f"{scale} trust seeded in {seconds:.1f} s, kept in {kept}", file=sys.stderr)
    return kept


def open_trust(scale: str, seeded: Path | None = None):
    """The app with production settings on a fresh SQLite database in a temporary folder: a copy of
    `seeded` (migrated to head) when given, else the demo trust of `scale` seeded into it.
    Returns (app, folder, seconds the seeding took)."""
    from walkabout import create_app, migrate

    folder = Path(tempfile.mkdtemp(prefix="walkabout-bench-cpu-"))
    os.environ["WALKABOUT_INSTANCE_PATH"] = str(folder)
    if seeded is not None:
        shutil.copyfile(seeded, folder / "bench.db")
    app = create_app(
        {
            "ENV": "production",
            "SECRET_KEY": secrets.token_hex(32),
            "HTTPS": False,
            "DATABASE_URL": f"sqlite:///{folder / 'bench.db'}",
            "BASE_URL": BASE_URL,
            "BASE_URL_SET": True,
            "MAIL_FROM": MAIL_FROM,
        }
    )
    migrate.upgrade(app)
    if seeded is not None:
        _walkabout_now(app)
        return app, folder, 0.0
    started = time.perf_counter()
    seed = ["seed-demo", "--scale", scale, "--password", PASSWORD, "--force"]  # a throwaway bench trust
    result = app.test_cli_runner().invoke(args=seed)
    if result.exit_code:
        raise RuntimeError(result.output)
    return app, folder, time.perf_counter() - started


def _walkabout_now(app) -> None:
    """A kept trust may be from an earlier day: the demo executive's next planned walkabout is
    moved to now, as seeding makes today's (set_up starts it)."""
    from sqlmodel import select

    from walkabout.db import session_scope
    from walkabout.db_types import utcnow
    from walkabout.models import User, Walkabout, WalkaboutStatus

    with app.app_context(), session_scope(app) as session:
        lead = session.exec(select(User).where(User.email == EXECUTIVE)).one()
        now = utcnow()
        planned = session.exec(
            select(Walkabout)
            .where(Walkabout.lead_id == lead.id, Walkabout.status == WalkaboutStatus.PLANNED)
            .where(Walkabout.scheduled_start >= now - timedelta(hours=1))
            .order_by(Walkabout.scheduled_start)
        ).first()
        if planned is not None and planned.scheduled_start > now + timedelta(hours=1):
            planned.scheduled_start = now


def set_up(app):
    """As bench/throughput.py: the executive starts today's walkabout and logs five concerns, the
    manager signs in. Returns (executive's client, manager's client, the walkabout's id)."""
    executive, manager = sign_in(app, EXECUTIVE), sign_in(app, MANAGER)
    home = executive.get("/").get_data(as_text=True)
    found = re.search(r'action="/walkabouts/(\d+)/start"', home) or re.search(
        r'href="/walkabouts/(\d+)/capture"', home
    )
    walkabout = int(found.group(1))
    executive.post(f"/walkabouts/{walkabout}/start", data={"csrf_token": csrf(home)})
    token = csrf(executive.get(f"/walkabouts/{walkabout}/capture").get_data(as_text=True))
    for _ in range(5):
        logged = executive.post(
            f"/walkabouts/{walkabout}/concerns",
            data={**CONCERN, "csrf_token": token, "idempotency_key": uuid.uuid4().hex},
            headers={"HX-Request": "true"},
        )
        if logged.status_code not in (200, 201):
            raise RuntimeError(f"logging a concern answered {logged.status_code}")
    return executive, manager, walkabout


def close_trust(app, folder: Path, keep_as: Path | None = None) -> None:
    """Close the trust's database (copied to `keep_as` first, when given) and remove its folder."""
    from walkabout.db import get_db

    with app.app_context():
        get_db(app).engine.dispose()
    if keep_as is not None:
        shutil.copyfile(folder / "bench.db", keep_as)
    shutil.rmtree(folder)


def sign_in(app, email: str):
    client = app.test_client()
    token = csrf(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": token})
    if response.status_code != 303:
        raise RuntimeError(f"signing in {email} answered {response.status_code}")
    return client


def get(client, url: str) -> None:
    response = client.get(url, headers={"Accept-Encoding": ACCEPT_ENCODING})  # compressed, as served
    if response.status_code != 200:
        raise RuntimeError(f"GET {url} answered {response.status_code} {response.location or ''}")


def run(scales: list[str], requests: int, keep: Path | None = None) -> dict:
    """Each scale in a child process; returns the figures and the growth verdicts."""
    results = {"requests": requests, "scales": {}, "load": [os.getloadavg()]}
    for scale in scales:
        started = time.perf_counter()
        child = subprocess.run(
            [str(BIN / "python"), "-m", "bench.cpu", "--one", scale, "--requests", str(requests)]
            + (["--keep", str(keep)] if keep else []),
            cwd=ROOT,
            env=dict(os.environ, WALKABOUT_ENV="production"),
            capture_output=True,
            text=True,
            check=False,
        )
        if child.returncode:
            sys.exit(f"bench.cpu --one {scale} failed:\n{child.stderr[-3000:]}")
        results["scales"][scale] = json.loads(child.stdout.strip().splitlines()[-1])
        results["load"].append(os.getloadavg())
        print(
            f"{scale}: seeded in {results['scales'][scale]['seed_seconds']:.1f} s, "
            f"{time.perf_counter() - started:.0f} s in all",
            flush=True,
        )
    if "small" in results["scales"] and "xlarge" in results["scales"]:
        small, xlarge = results["scales"]["small"]["pages"], results["scales"]["xlarge"]["pages"]
        results["growth"] = {
            page.key: {
                "ratio": xlarge[page.key]["cpu_ms"] / small[page.key]["cpu_ms"],
                "budget": page.growth,
                "ok": xlarge[page.key]["cpu_ms"] / small[page.key]["cpu_ms"] <= page.growth,
            }
            for page in PAGES
        }
    return results


def print_table(results: dict) -> None:
    scales = list(results["scales"])
    load = " -> ".join(f"{x[0]:.1f}" for x in results["load"])
    print(
        f"\nCPU ms per request in process (Flask test client, {results['requests']} requests a page, "
        f"SQLite); load average (1 min) {load}"
    )
    print(
        f"{'page':<34}"
        + "".join(f"{s + ' ms':>11}{'SQL':>5}{'cold ms':>9}{'SQL':>5}" for s in scales)
        + ("   xlarge/small  budget" if "growth" in results else "")
    )
    for page in PAGES:
        cells = "".join(
            f"{results['scales'][s]['pages'][page.key]['cpu_ms']:11.1f}"
            f"{results['scales'][s]['pages'][page.key]['statements']:5.0f}"
            f"{results['scales'][s]['pages'][page.key].get('cold_cpu_ms', 0):9.1f}"
            f"{results['scales'][s]['pages'][page.key].get('cold_statements', 0):5.0f}"
            for s in scales
        )
        growth = results.get("growth", {}).get(page.key)
        verdict = (
            f"   {growth['ratio']:11.2f}x  <= {growth['budget']:g}x: {'met' if growth['ok'] else 'NOT MET'}"
            if growth
            else ""
        )
        print(f"{page.label:<34}{cells}{verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=30, help="timed requests a page (default 30)")
    parser.add_argument("--scales", nargs="+", default=list(SCALES), choices=SCALES)
    parser.add_argument("--one", choices=SCALES, help=argparse.SUPPRESS)  # the child process
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument(
        "--keep",
        type=Path,
        help="keep each seeded trust as DIR/<scale>.db; later runs start from a copy of it",
    )
    options = parser.parse_args()
    if options.one:
        print(json.dumps(measure_scale(options.one, options.requests, options.keep)))
        return
    results = run(options.scales, options.requests, options.keep)
    if options.json:
        options.json.write_text(json.dumps(results, indent=1))
    print_table(results)


if __name__ == "__main__":
    main()
