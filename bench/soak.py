"""Soak: 50 simulated users for 60 s on gunicorn (4 workers), then count the rows.

    .venv/bin/python -m bench.soak [--db sqlite|postgres] [--users 50] [--seconds 60] [--quick]
                                   [--kill-worker] [--json PATH]

Half the users are executives: each signs in, starts an ad-hoc walkabout and logs
concerns on it as fast as the server answers (POST /walkabouts/<id>/concerns, htmx,
a unique idempotency key per concern). The other half are ward managers posting
progress updates on their own action (POST /actions/<id>/updates with the version
they last saw). With --kill-worker one gunicorn worker gets SIGKILL half-way.

A request whose connection breaks has an unknown outcome: a concern is resent
with the same idempotency key (the server must return the first one, never a
second row); an update is not resent, its action page is read again for the
version. Afterwards every acknowledged concern and update must be in the
database exactly once, and nothing may be there that the client never sent.
Only 127.0.0.1 is loaded; every loop is bounded by the deadline.
"""

import argparse
import http.client
import json
import multiprocessing
import os
import re
import signal
import statistics
import tempfile
import threading
import time
import urllib.parse
import uuid
from pathlib import Path

from .common import PASSWORD, bench_env, children, csrf, gunicorn, prepare
from .soak_data import count_rows, create_users, postgres_database

TIMEOUT = 60


class Client:
    """One simulated user: a keep-alive connection and a session cookie."""

    def __init__(self, port: int):
        self.port, self.cookie, self.connection = port, "", None

    def request(self, method: str, path: str, form: dict | None = None, htmx: bool = False):
        headers = {"Cookie": self.cookie} if self.cookie else {}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if htmx:
            headers["HX-Request"] = "true"
        if self.connection is None:
            self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=TIMEOUT)
        try:
            self.connection.request(method, path, body=body, headers=headers)
            response = self.connection.getresponse()
            text = response.read().decode()
        except (OSError, http.client.HTTPException):
            self.connection.close()
            self.connection = None
            raise
        for cookie in response.headers.get_all("Set-Cookie") or []:
            name_value = cookie.split(";")[0]
            name = name_value.split("=")[0]
            kept = [c for c in self.cookie.split("; ") if c and not c.startswith(name + "=")]
            self.cookie = "; ".join([*kept, name_value])
        if response.getheader("Connection", "").lower() == "close":
            self.connection.close()
            self.connection = None
        return response.status, response.getheader("Location", ""), text

    def sign_in(self, email: str) -> str:
        _, _, page = self.request("GET", "/login")
        status, _, _ = self.request(
            "POST", "/login", {"email": email, "password": PASSWORD, "csrf_token": csrf(page)}
        )
        assert status == 303, (email, status)
        return csrf(self.request("GET", "/")[2])


def executive(client: Client, spec: dict, start: float, deadline: float, out: dict) -> None:
    token = spec["token"]
    status, location, _ = client.request(
        "POST",
        "/walkabouts/adhoc",
        {"csrf_token": token, "ward_id": spec["ward_id"], "idempotency_key": uuid.uuid4().hex},
    )
    walkabout_id = int(re.search(r"/walkabouts/(\d+)/capture", location).group(1))
    path = f"/walkabouts/{walkabout_id}/concerns"
    wait_until(start)
    while time.time() < deadline:
        key = uuid.uuid4().hex
        form = {
            "text": f"Soak {key}: hoist battery keeps failing",
            "kind": "concern",
            "likelihood": "3",
            "consequence": "4",
            "csrf_token": token,
            "idempotency_key": key,
        }
        for _attempt in range(5):  # resend with the same key after a broken connection
            began = time.perf_counter()
            try:
                status, _, _ = client.request("POST", path, form, htmx=True)
            except (OSError, http.client.HTTPException):
                out["broken"] += 1
                out["unknown"].add(key)
                time.sleep(0.2)
                continue
            out["latency"].append(time.perf_counter() - began)
            if status in (200, 201):
                out["acked"].add(key)
                out["unknown"].discard(key)
                out["replayed"] += status == 200
            else:
                out["errors"].append(status)
            break


def manager(client: Client, spec: dict, start: float, deadline: float, out: dict) -> None:
    token, path = spec["token"], f"/actions/{spec['action_id']}"
    version = read_version(client, path, deadline)
    wait_until(start)
    while version is not None and time.time() < deadline:
        text = f"Soak {uuid.uuid4().hex}: spare battery ordered"
        began = time.perf_counter()
        try:
            status, _, _ = client.request(
                "POST",
                path + "/updates",
                {"progress-text": text, "progress-version": version, "csrf_token": token},
            )
        except (OSError, http.client.HTTPException):
            out["broken"] += 1
            out["unknown"].add(text)
            version = read_version(client, path, deadline)
            continue
        out["latency"].append(time.perf_counter() - began)
        if status == 303:
            out["acked"].add(text)
            version += 1
        else:
            out["errors"].append(status)
            version = read_version(client, path, deadline)


def read_version(client: Client, path: str, deadline: float) -> int | None:
    while time.time() < deadline + 30:
        try:
            status, _, page = client.request("GET", path)
        except (OSError, http.client.HTTPException):
            time.sleep(0.2)
            continue
        # The action's version, from its due-date form (a progress note itself carries none).
        match = re.search(r'name="due-version"[^>]*value="(\d+)"', page)
        assert status == 200 and match, (path, status)
        return int(match.group(1))
    return None


def wait_until(moment: float) -> None:
    time.sleep(max(0.0, moment - time.time()))


def client_process(port: int, specs: list[dict], ready, go, results) -> None:
    """Sign in this process's users, wait for the start signal, run them as threads."""
    clients, signin_errors = [], []
    for spec in specs:
        client = Client(port)
        for _ in range(3):  # a failed sign-in is counted as an error, then tried again
            try:
                spec["token"] = client.sign_in(spec["email"])
                break
            except AssertionError as error:
                signin_errors.append(error.args[0][1])
        clients.append(client)
    ready.put(signin_errors)
    start, deadline = go.get()
    outs = []
    threads = []
    for spec, client in zip(specs, clients, strict=False):
        out = {
            "kind": spec["role"],
            "latency": [],
            "acked": set(),
            "unknown": set(),
            "errors": [],
            "broken": 0,
            "replayed": 0,
        }
        outs.append(out)
        target = executive if spec["role"] == "concern" else manager
        threads.append(threading.Thread(target=target, args=(client, spec, start, deadline, out)))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    results.put([{**o, "acked": sorted(o["acked"]), "unknown": sorted(o["unknown"])} for o in outs])


def run(options) -> dict:
    instance = Path(tempfile.mkdtemp(prefix="walkabout-soak-"))
    with postgres_database(options.db) as url:
        url = url or f"sqlite:///{instance}/soak.db"
        env = bench_env(instance, url)
        prepare(env)
        specs = create_users(env, options.users)
        with gunicorn(env, options.workers) as (base, server):
            port = int(base.rsplit(":", 1)[1])
            groups = [specs[i :: options.processes] for i in range(options.processes)]
            context = multiprocessing.get_context("fork")
            ready, go, results = context.Queue(), context.Queue(), context.Queue()
            processes = [
                context.Process(target=client_process, args=(port, group, ready, go, results))
                for group in groups
                if group
            ]
            for process in processes:
                process.start()
            signin_errors = [e for _ in processes for e in ready.get(timeout=300)]
            start = time.time() + 1
            deadline = start + options.seconds
            for _ in processes:
                go.put((start, deadline))
            killed = None
            if options.kill_worker:
                wait_until(start + options.seconds / 2)
                workers = children(server.pid)
                if workers:
                    killed = workers[0]
                    os.kill(killed, signal.SIGKILL)
            outs = [o for _ in processes for o in results.get(timeout=options.seconds + 300)]
            for process in processes:
                process.join()
            load = os.getloadavg()
        rows = count_rows(env)
    return report(options, outs, rows, killed, load, signin_errors)


def quantile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1] * 1000 if len(values) > 1 else float("nan")


def report(options, outs: list[dict], rows: dict, killed: int | None, load, signin_errors: list) -> dict:
    result = {
        "db": options.db,
        "users": options.users,
        "seconds": options.seconds,
        "workers": options.workers,
        "killed_worker": killed,
        "load_average": load[0],
        "kinds": {},
        "signin_errors": signin_errors,
        "ok": not signin_errors,
    }
    for kind, label in (("concern", "log a concern"), ("update", "post an action update")):
        mine = [o for o in outs if o["kind"] == kind]
        latency = sorted(x for o in mine for x in o["latency"])
        acked = {k for o in mine for k in o["acked"]}
        unknown = {k for o in mine for k in o["unknown"]} - acked
        in_db = rows[kind]
        texts = {k for k in in_db}
        duplicates = sum(n - 1 for n in in_db.values() if n > 1)
        lost = len(acked - texts)
        strangers = len(texts - acked - unknown)
        errors = [e for o in mine for e in o["errors"]]
        figures = {
            "label": label,
            "requests": len(latency),
            "rps": len(latency) / options.seconds,
            "p50_ms": quantile(latency, 50),
            "p95_ms": quantile(latency, 95),
            "p99_ms": quantile(latency, 99),
            "acknowledged": len(acked),
            "rows": sum(in_db.values()),
            "lost": lost,
            "duplicates": duplicates,
            "not_sent_but_stored": strangers,
            "unknown_outcome": len(unknown),
            "unknown_stored": len(unknown & texts),
            "errors": len(errors),
            "error_statuses": sorted(set(errors)),
            "broken_connections": sum(o["broken"] for o in mine),
            "replayed": sum(o["replayed"] for o in mine),
        }
        result["kinds"][kind] = figures
        result["ok"] &= not (lost or duplicates or strangers or errors or (unknown and not killed))
    return result


def print_report(result: dict) -> None:
    print(
        f"\nsoak on {result['db']}: {result['users']} users, {result['seconds']:g} s, gunicorn "
        f"{result['workers']} sync workers, load average {result['load_average']:.1f} "
        f"on {os.cpu_count()} cores"
        + (f", worker {result['killed_worker']} killed (SIGKILL) half-way" if result["killed_worker"] else "")
    )
    print(
        f"{'request':<24}{'done':>7}{'req/s':>7}{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}{'errors':>7}"
        f"{'acked':>7}{'rows':>7}{'lost':>5}{'dup':>5}{'broken':>7}"
    )
    for k in result["kinds"].values():
        print(
            f"{k['label']:<24}{k['requests']:>7}{k['rps']:>7.0f}{k['p50_ms']:>8.0f}{k['p95_ms']:>8.0f}"
            f"{k['p99_ms']:>8.0f}{k['errors']:>7}{k['acknowledged']:>7}{k['rows']:>7}{k['lost']:>5}"
            f"{k['duplicates']:>5}{k['broken_connections']:>7}"
        )
        if k["errors"]:
            print(f"  error statuses: {k['error_statuses']}")
        if k["unknown_outcome"] or k["replayed"] or k["not_sent_but_stored"]:
            print(
                f"  unknown outcome (connection broken, never acknowledged): {k['unknown_outcome']}, "
                f"of which stored: {k['unknown_stored']}; resent and answered 'already saved': "
                f"{k['replayed']}; stored but never sent: {k['not_sent_but_stored']}"
            )
    if result["signin_errors"]:
        print(f"sign-in errors before the load (statuses): {result['signin_errors']}")
    print("PASS: nothing lost, nothing duplicated, no errors." if result["ok"] else "FAIL: see above.")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--processes", type=int, default=5, help="client processes the users are spread over")
    parser.add_argument("--quick", action="store_true", help="10 s instead of --seconds")
    parser.add_argument("--kill-worker", action="store_true", help="SIGKILL one gunicorn worker half-way")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    options = parser.parse_args()
    if options.quick:
        options.seconds = 10
    result = run(options)
    print_report(result)
    if options.json:
        options.json.write_text(json.dumps(result, indent=1))
    raise SystemExit(0 if result["ok"] else 1)


if __name__ == "__main__":
    main()
