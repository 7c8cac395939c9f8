"""Each page's throughput and latency against a bare hello-world, with wrk.

    .venv/bin/python -m bench.throughput [--seconds 5] [--rounds 2] [--scale large] [--db sqlite|postgres]
                                         [--json PATH]

Seeds the demo trust (large by default) into a fresh SQLite database (or, with --db postgres, a
fresh database on the local PostgreSQL server, dropped after) and serves it with gunicorn
(2 sync workers, production settings, plain HTTP on 127.0.0.1). A second gunicorn with the same
settings, on another port, serves bench/hello.py: a bare Flask app, sent no cookie. The demo
executive starts today's walkabout and logs five concerns on it (the capture page measured), and
the demo ward manager signs in.

For each round and each page: `wrk -t2 -c8` on hello-world, then on the page with the user's
session cookie (`-H "Cookie: ..."`), each for --seconds. A page's share is the median over the
rounds of its req/s over the hello-world run just before it, so a change in the machine's load
hits both; req/s and p50/p95/p99 (bench/percentiles.lua) are medians over the rounds. Last, one
client logs concerns one after another, and the server time of each is read from the app's JSON
request log (its "ms" field).
"""

import argparse
import http.client
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
from pathlib import Path

from .common import MANAGER, ROOT, bench_env, csrf, gunicorn, prepare, sign_in_and_start
from .soak import Client
from .soak_data import postgres_database
from .targets import PAGES

LUA = ROOT / "bench" / "percentiles.lua"
ACCEPT_ENCODING = "br, gzip"  # as phones' browsers send it: pages are measured compressed (issue 21)
CONCERN = {
    "text": "Bench: hoist battery keeps failing",
    "kind": "concern",
    "likelihood": "3",
    "consequence": "4",
}


def wrk(url: str, seconds: float, connections: int, threads: int, cookie: str | None = None) -> dict:
    """One wrk run; returns req/s, p50/p95/p99 in ms and wrk's error counts."""
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: `make bench` installs it (apt-get install wrk)")
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "10s"]
    command += ["-s", str(LUA), "-H", f"Accept-Encoding: {ACCEPT_ENCODING}"]
    command += [*(["-H", f"Cookie: {cookie}"] if cookie else []), url]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=True)
    line = next((x for x in done.stdout.splitlines() if x.startswith("BENCH ")), None)
    if line is None:
        sys.exit(f"wrk printed no figures for {url}:\n{done.stdout}{done.stderr}")
    figures = {key: int(value) for key, value in re.findall(r"(\w+)=(\d+)", line)}
    errors = {k: figures[k] for k in ("connect", "read", "write", "status", "timeout") if figures[k]}
    return {
        "rps": figures["requests"] / (figures["duration_us"] / 1e6),
        "requests": figures["requests"],
        **{f"p{p}": figures[f"p{p}"] / 1000 for p in (50, 95, 99)},
        "errors": errors,
    }


def check(base: str, path: str, cookie: str | None, compressed: bool = True) -> None:
    """Fail loudly unless `path` answers 200 itself (no redirect to the sign-in page) and, when
    `compressed`, brotli-compressed as a phone's browser gets it."""
    client = Client(int(base.rsplit(":", 1)[1]))
    client.cookie = cookie or ""
    for _ in range(4):  # warm both workers
        status, location, _ = client.request("GET", path)
        if status != 200:
            sys.exit(f"GET {path} answered {status} {location}: the benchmark would measure the wrong page")
    connection = http.client.HTTPConnection("127.0.0.1", int(base.rsplit(":", 1)[1]), timeout=30)
    connection.request("GET", path, headers={"Cookie": cookie or "", "Accept-Encoding": ACCEPT_ENCODING})
    response = connection.getresponse()
    response.read()
    connection.close()
    if response.status != 200 or (compressed and response.getheader("Content-Encoding") != "br"):
        sys.exit(
            f"GET {path} answered {response.status}, Content-Encoding "
            f"{response.getheader('Content-Encoding')!r}: the benchmark would measure the wrong page"
        )


def sequential(client: Client, method: str, path: str, count: int, form=None) -> list[float]:
    """Round-trip times in ms of `count` requests one after another; fails on any error status."""
    times = []
    for _ in range(count):
        body = None if form is None else {**form(), "idempotency_key": uuid.uuid4().hex}
        started = time.perf_counter()
        status, _, text = client.request(method, path, body, htmx=form is not None)
        times.append((time.perf_counter() - started) * 1000)
        if status not in (200, 201):
            sys.exit(f"{method} {path} answered {status}: {text[:300]}")
    return times


def median_of(runs: list[dict], key: str) -> float:
    return statistics.median(run[key] for run in runs)


def run(options) -> dict:
    """Seed, serve, measure; returns the figures. --db postgres: a fresh database on the local server."""
    with postgres_database(options.db) as url:
        return _run(options, url)


def _run(options, postgres_url: str | None) -> dict:
    instance = Path(tempfile.mkdtemp(prefix="walkabout-bench-"))
    env = dict(
        bench_env(instance, postgres_url or f"sqlite:///{instance}/bench.db"),
        WALKABOUT_ENV="production",
        SECRET_KEY=secrets.token_hex(32),
        WALKABOUT_LOG_FORMAT="json",
    )
    seeded = prepare(env, options.scale)
    print(f"{options.scale} demo trust seeded in {seeded:.1f} s", flush=True)
    workers = str(options.workers)
    with (
        gunicorn(env, options.workers) as (base, _app),
        gunicorn(env, options.workers, app="bench.hello:app", ready="/", log="hello") as (hello, _hello),
    ):
        _browser, walkabout, executive = sign_in_and_start(base)
        capture = f"/walkabouts/{walkabout}/capture"
        author = Client(int(base.rsplit(":", 1)[1]))
        author.cookie = executive
        token = csrf(author.request("GET", capture)[2])
        sequential(
            author, "POST", f"/walkabouts/{walkabout}/concerns", 5, lambda: {**CONCERN, "csrf_token": token}
        )
        manager = Client(int(base.rsplit(":", 1)[1]))
        manager.sign_in(MANAGER)
        cookies = {page.key: manager.cookie if page.user == MANAGER else executive for page in PAGES}
        check(hello, "/", None, compressed=False)  # 13 bytes: too short to compress
        for page in PAGES:
            check(base, page.url(walkabout), cookies[page.key])
        runs: dict[str, list] = {page.key: [] for page in PAGES}
        load = [os.getloadavg()]
        for number in range(options.rounds):
            for page in PAGES:
                baseline = wrk(hello + "/", options.seconds, options.connections, options.threads)
                measured = wrk(
                    base + page.url(walkabout),
                    options.seconds,
                    options.connections,
                    options.threads,
                    cookies[page.key],
                )
                share = measured["rps"] / baseline["rps"]
                runs[page.key].append({"hello": baseline, "page": measured, "share": share})
                print(
                    f"round {number + 1} {page.label:<34} {measured['rps']:7.0f} req/s "
                    f"(hello {baseline['rps']:6.0f}) {share:6.1%} p95 {measured['p95']:6.1f} ms",
                    flush=True,
                )
            load.append(os.getloadavg())
        log = instance / "gunicorn.log"
        offset = log.stat().st_size
        round_trips = sequential(
            author,
            "POST",
            f"/walkabouts/{walkabout}/concerns",
            options.concerns,
            lambda: {**CONCERN, "csrf_token": token},
        )
        bare = Client(int(hello.rsplit(":", 1)[1]))
        hello_trips = sequential(bare, "GET", "/", options.concerns)
        time.sleep(0.5)
        with log.open("rb") as handle:
            handle.seek(offset)
            lines = handle.read().decode(errors="replace").splitlines()
    server = sorted(
        entry["ms"]
        for entry in map(_json_or_none, lines)
        if entry and entry.get("method") == "POST" and str(entry.get("route", "")).endswith("/concerns")
    )
    if len(server) < 2:
        sys.exit(f"found {len(server)} concern POSTs in the request log {log}")
    shutil.rmtree(instance)
    pages = {}
    for page in PAGES:
        page_runs = [r["page"] for r in runs[page.key]]
        figures = {
            "rps": median_of(page_runs, "rps"),
            "hello_rps": median_of([r["hello"] for r in runs[page.key]], "rps"),
            "share": statistics.median(r["share"] for r in runs[page.key]),
            **{f"p{p}": median_of(page_runs, f"p{p}") for p in (50, 95, 99)},
            "errors": [r["page"]["errors"] for r in runs[page.key] if r["page"]["errors"]]
            + [r["hello"]["errors"] for r in runs[page.key] if r["hello"]["errors"]],
            "runs": runs[page.key],
        }
        figures["ok"] = (
            figures["share"] >= page.share and figures["p95"] < page.p95_ms and not figures["errors"]
        )
        pages[page.key] = figures
    return {
        "db": options.db,
        "scale": options.scale,
        "seed_seconds": seeded,
        "settings": (
            f"wrk -t{options.threads} -c{options.connections}, {options.seconds:g} s a run, "
            f"{options.rounds} rounds, gunicorn {workers} sync workers, "
            + ("PostgreSQL" if postgres_url else "SQLite")
        ),
        "load": load,
        "pages": pages,
        "concern": {
            "server_p50": statistics.median(server),
            "server_p95": statistics.quantiles(server, n=20)[-1],
            "n": len(server),
            "round_trip_p50": statistics.median(round_trips),
            "hello_round_trip_p50": statistics.median(hello_trips),
            "ok": statistics.median(server) < 15,
        },
    }


def _json_or_none(line: str):
    try:
        return json.loads(line)
    except ValueError:
        return None


def budget_text(page) -> str:
    return f">= {page.share:.0%} of hello, p95 < {page.p95_ms:g} ms"


def print_table(result: dict) -> None:
    load = result["load"]
    print(
        f"\nPages against a bare hello-world, {result['scale']} trust, {result['settings']}; "
        f"load average (1 min) {' -> '.join(f'{x[0]:.1f}' for x in load)} over the rounds"
    )
    header = f"{'page':<34}{'req/s':>8}{'hello':>8}{'share':>8}{'p50':>8}{'p95':>8}{'p99':>8}  budget"
    print(header)
    for page in PAGES:
        f = result["pages"][page.key]
        errors = f"  errors {f['errors']}" if f["errors"] else ""
        print(
            f"{page.label:<34}{f['rps']:8.0f}{f['hello_rps']:8.0f}{f['share']:8.1%}{f['p50']:8.1f}"
            f"{f['p95']:8.1f}{f['p99']:8.1f}  {budget_text(page)}: {'met' if f['ok'] else 'NOT MET'}{errors}"
        )
    c = result["concern"]
    print(
        f"logging a concern, one client: server time p50 {c['server_p50']:.1f} ms, p95 "
        f"{c['server_p95']:.1f} ms ({c['n']} requests); round trip p50 {c['round_trip_p50']:.1f} ms "
        f"(bare hello-world {c['hello_round_trip_p50']:.1f} ms); budget < 15 ms: "
        f"{'met' if c['ok'] else 'NOT MET'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=5, help="each wrk run (default 5)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--scale", default="large", choices=["small", "large", "xlarge"])
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers, both servers")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--concerns", type=int, default=40, help="concern POSTs timed one after another")
    parser.add_argument("--json", type=Path, help="write the figures here")
    options = parser.parse_args()
    result = run(options)  # its scratch folder is left in /tmp when it fails, for the logs
    if options.json:
        options.json.write_text(json.dumps(result, indent=1))
    print_table(result)


if __name__ == "__main__":
    main()
