"""Throughput and latency of the capture page and the concern POST against hello-world,
in the same gunicorn run, at 8 concurrent clients (separate processes, 127.0.0.1 only).

    .venv/bin/python -m bench.load [--seconds 10] [--clients 8] [--workers 4]
"""

import argparse
import http.client
import multiprocessing
import statistics
import time
import urllib.parse
import uuid

from .common import csrf, served, sign_in_and_start


def _worker(args):
    port, method, path, cookie, token, seconds = args
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    latencies, failures = [], 0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        headers = {"Cookie": cookie}
        body = None
        if method == "POST":
            body = urllib.parse.urlencode(
                {
                    "text": "Bench: hoist battery keeps failing",
                    "kind": "concern",
                    "likelihood": "3",
                    "consequence": "4",
                    "csrf_token": token,
                    "idempotency_key": uuid.uuid4().hex,
                }
            )
            headers.update({"Content-Type": "application/x-www-form-urlencoded", "HX-Request": "true"})
        started = time.perf_counter()
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            ok = response.status in (200, 201)
            if response.getheader("Connection", "").lower() == "close":
                connection.close()
        except (OSError, http.client.HTTPException):
            ok = False
            connection.close()
        elapsed = time.perf_counter() - started
        if ok:
            latencies.append(elapsed)
        else:
            failures += 1
    return latencies, failures


def measure(port, method, path, cookie, token, clients, seconds):
    with multiprocessing.Pool(clients) as pool:
        results = pool.map(_worker, [(port, method, path, cookie, token, seconds)] * clients)
    latencies = sorted(x for r in results for x in r[0])
    failures = sum(r[1] for r in results)
    quantiles = statistics.quantiles(latencies, n=100)
    return {
        "rps": len(latencies) / seconds,
        "p50": quantiles[49] * 1000,
        "p95": quantiles[94] * 1000,
        "n": len(latencies),
        "failures": failures,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=4)
    options = parser.parse_args()
    with served(options.workers) as base:
        port = int(base.rsplit(":", 1)[1])
        browser, walkabout_id, cookie = sign_in_and_start(base)
        capture = f"/walkabouts/{walkabout_id}/capture"
        token = csrf(browser.open(base + capture).read().decode())
        targets = [
            ("hello-world", "GET", "/bench/hello"),
            ("capture page", "GET", capture),
            ("log a concern", "POST", f"/walkabouts/{walkabout_id}/concerns"),
        ]
        print(
            f"gunicorn {options.workers} sync workers, {options.clients} clients, "
            f"{options.seconds:g} s each, SQLite"
        )
        results = {}
        for name, method, path in targets:
            results[name] = measure(port, method, path, cookie, token, options.clients, options.seconds)
        hello = results["hello-world"]["rps"]
        print(f"{'endpoint':<15}{'req/s':>9}{'of hello':>10}{'p50 ms':>9}{'p95 ms':>9}{'failed':>8}")
        for name, r in results.items():
            print(
                f"{name:<15}{r['rps']:>9.0f}{r['rps'] / hello:>10.0%}{r['p50']:>9.1f}"
                f"{r['p95']:>9.1f}{r['failures']:>8}"
            )


if __name__ == "__main__":
    main()
