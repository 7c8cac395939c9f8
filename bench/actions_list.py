"""Benchmark: the actions list and My actions on a large demo trust (seed-demo --scale large).

Serves the app from one werkzeug threaded server and compares, in the same run,
8 concurrent clients on a hello-world endpoint with the same clients on
/actions?mine=1 (ward manager), /actions (executive, first page of every open
action) and an action's page. Prints requests per second, p50 and p95 and the
ratio to hello-world (DESIGN.md section 7: >= 25%, p95 < 25 ms; lists < 50 ms).

    .venv/bin/python bench/actions_list.py [--seconds 5] [--clients 8]
"""

import argparse
import http.client
import logging
import re
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from werkzeug.serving import make_server

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from walkabout import create_app
from walkabout.db import session_scope
from walkabout.demo import seed
from walkabout.migrate import upgrade

PASSWORD = "bench-password-long"


def sign_in(port: int, email: str) -> str:
    connection = http.client.HTTPConnection("127.0.0.1", port)
    connection.request("GET", "/login")
    response = connection.getresponse()
    cookie = response.getheader("Set-Cookie").split(";")[0]
    token = re.search(
        r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', response.read().decode()
    ).group(1)
    body = f"email={email}&password={PASSWORD}&csrf_token={token}"
    connection.request(
        "POST",
        "/login",
        body=body,
        headers={"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"},
    )
    response = connection.getresponse()
    response.read()
    assert response.status == 303, response.status
    return response.getheader("Set-Cookie").split(";")[0]


def hammer(
    port: int, path: str, cookie: str | None, seconds: float, clients: int
) -> tuple[float, float, float]:
    timings: list[float] = []
    lock = threading.Lock()
    stop = time.perf_counter() + seconds

    def client():
        mine = []
        while time.perf_counter() < stop:
            connection = http.client.HTTPConnection("127.0.0.1", port)
            started = time.perf_counter()
            connection.request("GET", path, headers={"Cookie": cookie} if cookie else {})
            response = connection.getresponse()
            response.read()
            assert response.status == 200, (path, response.status)
            mine.append(time.perf_counter() - started)
            connection.close()
        with lock:
            timings.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    timings.sort()
    return len(timings) / seconds, statistics.median(timings) * 1000, timings[int(len(timings) * 0.95)] * 1000


def main() -> None:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="walkabout-bench-"))
    app = create_app(
        {
            "ENV": "test",
            "SECRET_KEY": "b" * 40,
            "HTTPS": False,
            "DATABASE_URL": f"sqlite:///{folder / 'bench.db'}",
        }
    )
    app.add_url_rule("/hello", "hello", lambda: "Hello, World!")
    upgrade(app)
    started = time.perf_counter()
    with app.app_context(), session_scope(app) as session:
        totals = seed(session, password=PASSWORD, scale="large")
    print(f"large trust seeded in {time.perf_counter() - started:.1f} s: {totals}")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_port
    manager, executive = sign_in(port, "manager@example.org"), sign_in(port, "executive@example.org")
    cases = [
        ("hello world", "/hello", None),
        ("my actions (ward manager)", "/actions?mine=1", manager),
        ("all open actions (executive)", "/actions", executive),
        ("overdue, sorted by risk", "/actions?overdue=1&sort=priority", executive),
        ("one action's page", "/actions/1", executive),
    ]
    baseline = None
    for label, path, cookie in cases:
        rate, p50, p95 = hammer(port, path, cookie, args.seconds, args.clients)
        baseline = baseline or rate
        print(
            f"{label:32} {rate:8.0f} req/s  p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  "
            f"{100 * rate / baseline:5.0f}%"
        )
    server.shutdown()


if __name__ == "__main__":
    main()
