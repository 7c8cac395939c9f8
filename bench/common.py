"""Shared by the bench scripts: a seeded demo database and gunicorn on 127.0.0.1."""

import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from http.cookiejar import CookieJar
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
PASSWORD = "walkabout-demo"
EXECUTIVE = "executive@example.org"
MANAGER = "manager@example.org"
# Production settings refuse to start without the installation's own address and mailbox
# (config._require_mail_identity); the bench's trust sends nothing anywhere.
BASE_URL = "http://127.0.0.1"
MAIL_FROM = "Walkabout <walkabout@bench.walkabout.test>"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def served(workers: int = 4):
    """Seed a demo trust in a fresh SQLite database and serve it with gunicorn; yields the base URL."""
    instance = Path(tempfile.mkdtemp(prefix="walkabout-bench-"))
    env = bench_env(instance, f"sqlite:///{instance}/bench.db")
    prepare(env)
    with gunicorn(env, workers) as (base, _server):
        yield base


def bench_env(instance: Path, database_url: str) -> dict:
    """The environment of the bench's app processes: development settings, own instance folder."""
    return dict(
        os.environ,
        WALKABOUT_ENV="development",
        WALKABOUT_HTTPS="0",
        WALKABOUT_INSTANCE_PATH=str(instance),
        DATABASE_URL=database_url,
        WALKABOUT_BASE_URL=BASE_URL,
        WALKABOUT_MAIL_FROM=MAIL_FROM,
    )


def prepare(env: dict, scale: str = "small") -> float:
    """Migrate the database of `env` and seed the demo trust of `scale` into it; returns the seconds
    the seeding took."""
    flask = [str(BIN / "flask"), "--app", "walkabout"]
    subprocess.run([*flask, "db-upgrade"], env=env, check=True, cwd=ROOT, capture_output=True)
    started = time.perf_counter()
    subprocess.run(
        [*flask, "seed-demo", "--scale", scale, "--password", PASSWORD, "--force"],  # a throwaway bench trust
        env=env,
        check=True,
        cwd=ROOT,
        capture_output=True,
    )
    return time.perf_counter() - started


@contextmanager
def gunicorn(
    env: dict, workers: int = 4, app: str = "bench.wsgi:app", ready: str = "/healthz", log: str = "gunicorn"
):
    """gunicorn serving `app` with `workers` sync workers on 127.0.0.1, its output in
    <instance>/<log>.log; yields (base URL, the master's Popen) once `ready` answers."""
    port = free_port()
    output = (Path(env["WALKABOUT_INSTANCE_PATH"]) / f"{log}.log").open("ab")
    server = subprocess.Popen(
        [
            str(BIN / "gunicorn"),
            "-w",
            str(workers),
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            app,
        ],
        env=env,
        cwd=ROOT,
        stdout=output,
        stderr=output,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(base + ready, timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        else:
            sys.exit(f"gunicorn did not start {app}")
        yield base, server
    finally:
        server.terminate()
        server.wait(timeout=30)
        output.close()


def children(pid: int) -> list[int]:
    """The child process ids of `pid` (gunicorn's workers), from /proc."""
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(x) for x in path.read_text().split()] if path.exists() else []


def opener():
    jar = CookieJar()
    return urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar)), jar


def csrf(html: str) -> str:
    return re.search(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"', html).group(1)


def sign_in_and_start(base: str):
    """Sign in as the demo executive and start today's walkabout.

    Returns (opener, walkabout id, cookie header).
    """
    browser, jar = opener()
    token = csrf(browser.open(f"{base}/login").read().decode())
    data = urllib.parse.urlencode({"email": EXECUTIVE, "password": PASSWORD, "csrf_token": token}).encode()
    home = browser.open(f"{base}/login", data).read().decode()
    match = re.search(r'action="/walkabouts/(\d+)/start"', home) or re.search(
        r'href="/walkabouts/(\d+)/capture"', home
    )
    walkabout_id = int(match.group(1))
    start = urllib.parse.urlencode({"csrf_token": csrf(home)}).encode()
    browser.open(f"{base}/walkabouts/{walkabout_id}/start", start).read()
    cookie = "; ".join(f"{c.name}={c.value}" for c in jar)
    return browser, walkabout_id, cookie
