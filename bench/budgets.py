"""`make bench`: run the bench scripts and print every budget of DESIGN.md section 7 in one table.

    .venv/bin/python -m bench.budgets [--full] [--skip NAME ...]

Quick by default (a few minutes); --full uses the scripts' long settings (the
60-second soaks, 10 s per endpoint). Each script's own output is kept in
test-artifacts/bench/<name>.txt. The "baseline" column is measured in the
same run: hello-world on the same server for the web pages, a trivial
WeasyPrint document for the PDFs.
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .common import BIN, ROOT, bench_env, csrf, gunicorn, prepare, sign_in_and_start
from .load import measure
from .soak import Client

ARTIFACTS = ROOT / "test-artifacts" / "bench"
NUMBER = r"([\d.]+)"


def script(name: str, *args: str, timeout: float = 900) -> str:
    """Run one bench script; returns its output (also saved under test-artifacts/bench/)."""
    command = [str(BIN / "python"), *args]
    print(f"--- {name}: {' '.join(args)}", flush=True)
    started = time.perf_counter()
    env = dict(os.environ, WALKABOUT_ENV=os.environ.get("WALKABOUT_ENV", "test"))
    done = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    output = done.stdout + done.stderr
    (ARTIFACTS / f"{name}.txt").write_text(output)
    print(f"    {time.perf_counter() - started:.0f} s, exit {done.returncode}", flush=True)
    return output


def web_pages(seconds: float, clients: int) -> dict:
    """8 clients on hello-world, the capture page, My actions, the walkabout list and the concern POST
    (one gunicorn, 4 workers, small demo trust); then one client posting concerns, whose server time
    is read from the app's JSON request log (its "ms" field)."""
    instance = Path(tempfile.mkdtemp(prefix="walkabout-bench-"))
    env = dict(bench_env(instance, f"sqlite:///{instance}/bench.db"), WALKABOUT_LOG_FORMAT="json")
    prepare(env)
    with gunicorn(env, 4) as (base, _server):
        port = int(base.rsplit(":", 1)[1])
        browser, walkabout_id, cookie = sign_in_and_start(base)
        capture = f"/walkabouts/{walkabout_id}/capture"
        token = csrf(browser.open(base + capture).read().decode())
        manager = Client(port)
        manager.sign_in("manager@example.org")
        concerns = f"/walkabouts/{walkabout_id}/concerns"
        cases = [
            ("hello", "GET", "/bench/hello", cookie),
            ("capture", "GET", capture, cookie),
            ("my_actions", "GET", "/actions?mine=1", manager.cookie),
            ("walkabout_list", "GET", "/walkabouts", cookie),
            ("concern", "POST", concerns, cookie),
        ]
        figures = {
            name: measure(port, method, path, who, token, clients, seconds)
            for name, method, path, who in cases
        }
        log = instance / "gunicorn.log"
        offset = log.stat().st_size
        figures["sequential_concern"] = measure(port, "POST", concerns, cookie, token, 1, seconds / 2)
        figures["sequential_hello"] = measure(port, "GET", "/bench/hello", cookie, token, 1, seconds / 2)
        time.sleep(0.5)
        with log.open("rb") as handle:
            handle.seek(offset)
            lines = handle.read().decode(errors="replace").splitlines()
    server = sorted(
        entry["ms"]
        for entry in map(_json_or_none, lines)
        if entry and entry.get("route") == "/walkabouts/<int:walkabout_id>/concerns"
    )
    figures["concern_server_ms"] = {
        "p50": statistics.median(server) if server else None,
        "p95": statistics.quantiles(server, n=20)[-1] if len(server) > 1 else None,
        "n": len(server),
    }
    return figures


def _json_or_none(line: str):
    try:
        return json.loads(line)
    except ValueError:
        return None


def parse_lists(actions_out: str, programme_out: str) -> dict:
    rows = {}
    for label, _rate, p50, p95, pct in re.findall(
        r"^(.+?)\s+(\d+) req/s\s+p50\s+([\d.]+) ms\s+p95\s+([\d.]+) ms\s+(\d+)%", actions_out, re.MULTILINE
    ):
        rows[label.strip()] = {"p50": float(p50), "p95": float(p95), "ratio": int(pct) / 100}
    programme = {
        re.sub(r"^/calendar/[^.]+", "/calendar/<token>", path): {
            "p50": float(p50),
            "p95": float(p95),
            "queries": int(q),
        }
        for path, p50, p95, q in re.findall(
            r"^(/\S+)\s+([\d.]+)\s+([\d.]+)\s+(\d+)$", programme_out, re.MULTILINE
        )
    }
    hello = re.search(r"hello-world Flask endpoint, same process: p50 ([\d.]+) ms", programme_out)
    return {
        "actions": rows,
        "programme": programme,
        "hello_in_process": float(hello.group(1)) if hello else None,
    }


def parse_page(out: str) -> dict:
    loads = re.search(r"WebPageTest 3G Slow.*?load event ([\d.]+) s", out)
    total = re.search(r"^total without htmx\s+([\d,]+)\s+([\d,]+)", out, re.MULTILINE)
    return {
        "load_s": float(loads.group(1)) if loads else None,
        "gzip_bytes": int(total.group(2).replace(",", "")) if total else None,
        "wire_bytes": int(total.group(1).replace(",", "")) if total else None,
    }


def parse_reports(out: str) -> dict:
    def row(prefix):
        match = re.search(rf"^{prefix}.*?\s+{NUMBER}\s+{NUMBER}\s+{NUMBER}", out, re.MULTILINE)
        return tuple(float(x) for x in match.groups()) if match else (None, None, None)

    peak = re.search(r"peak RSS of the generating process\s+(\d+)M", out)
    return {
        "summary": row("follow-up summary"),
        "pack": row("board pack 2"),
        "trivial": row("trivial"),
        "peak_mb": int(peak.group(1)) if peak else None,
    }


def load_json(path: Path) -> dict | None:
    return json.loads(path.read_text()) if path.exists() else None


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("met" if ok else "NOT MET")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--full", action="store_true", help="the long settings (60 s soaks, 10 s per endpoint)"
    )
    parser.add_argument(
        "--skip", nargs="*", default=[], choices=["web", "lists", "page", "reports", "soak", "faults"]
    )
    options = parser.parse_args()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    seconds = 10 if options.full else 4
    soak = [] if options.full else ["--quick"]
    started = time.time()
    results: dict = {}

    if "web" not in options.skip:
        print("--- web pages: 8 clients per endpoint on gunicorn (4 workers), small demo trust", flush=True)
        results["web"] = web_pages(seconds, 8)
    if "lists" not in options.skip:
        results["lists"] = parse_lists(
            script("actions_list", "bench/actions_list.py", "--seconds", str(seconds / 2)),
            script(
                "programme_pages", "bench/programme_pages.py", "--requests", "200" if options.full else "40"
            ),
        )
    if "page" not in options.skip:
        results["page"] = parse_page(script("page", "-m", "bench.page"))
    if "reports" not in options.skip:
        results["reports"] = parse_reports(
            script("reports", "bench/reports_bench.py", "--runs", "5" if options.full else "3")
        )
    for db in ("sqlite", "postgres"):
        if "soak" not in options.skip:
            path = ARTIFACTS / f"soak-{db}.json"
            path.unlink(missing_ok=True)
            script(f"soak-{db}", "-m", "bench.soak", "--db", db, "--kill-worker", "--json", str(path), *soak)
            results[f"soak-{db}"] = load_json(path)
        if "faults" not in options.skip:
            path = ARTIFACTS / f"faults-{db}.json"
            path.unlink(missing_ok=True)
            script(f"faults-{db}", "-m", "bench.faults", "--db", db, "--json", str(path))
            results[f"faults-{db}"] = load_json(path)
    (ARTIFACTS / "budgets.json").write_text(json.dumps(results, indent=1, default=str))
    print_table(results, time.time() - started)


def print_table(r: dict, elapsed: float) -> None:
    rows = []  # (budget, measured, baseline ratio, verdict)
    web = r.get("web")
    if web:
        hello = web["hello"]
        for key, label in (
            ("capture", "capture page"),
            ("my_actions", "my actions page"),
            ("walkabout_list", "walkabout list"),
        ):
            page = web[key]
            ratio = page["rps"] / hello["rps"]
            rows.append(
                (
                    f"{label}: >= 25% of hello-world req/s, p95 < 25 ms at 8 clients",
                    f"{page['rps']:.0f} req/s, p95 {page['p95']:.0f} ms (hello {hello['rps']:.0f} req/s)",
                    f"{ratio:.0%} of hello-world",
                    verdict(ratio >= 0.25 and page["p95"] < 25),
                )
            )
        server, base = web["concern_server_ms"], web["sequential_hello"]
        one = web["sequential_concern"]
        rows.append(
            (
                "logging a concern: one request, server time < 15 ms",
                (
                    f"server time p50 {server['p50']:.1f} ms, p95 {server['p95']:.1f} ms "
                    "(one client; round trip "
                    f"p50 {one['p50']:.1f} ms; 8 clients p95 {web['concern']['p95']:.0f} ms)"
                ),
                f"{one['p50'] / base['p50']:.1f}x hello-world round trip ({base['p50']:.1f} ms)",
                verdict(server["p50"] < 15),
            )
        )
    page = r.get("page")
    if page:
        ok = (
            None if page["gzip_bytes"] is None else page["gzip_bytes"] < 30_000 and (page["load_s"] or 99) < 3
        )
        rows.append(
            (
                "capture page weight < 30 KB compressed (htmx aside), usable < 3 s on slow 3G",
                f"{(page['gzip_bytes'] or 0) / 1024:.1f} KB gzip, load {page['load_s']} s (400 ms RTT)",
                f"{(page['gzip_bytes'] or 0) / (page['wire_bytes'] or 1):.0%} of uncompressed",
                verdict(ok),
            )
        )
    reports = r.get("reports")
    if reports and reports["summary"][0] is not None:
        wall, cpu, times = reports["summary"]
        rows.append(
            (
                "follow-up summary PDF < 0.5 s",
                f"{wall:.3f} s wall, {cpu:.3f} s CPU",
                f"{times:.0f}x trivial PDF",
                verdict(wall < 0.5),
            )
        )
        wall, cpu, times = reports["pack"]
        rows.append(
            (
                "board pack, large trust: < 2 s, < 300 MB, off the web worker",
                f"{wall:.2f} s wall, {cpu:.2f} s CPU, {reports['peak_mb']} MB peak",
                f"{times:.0f}x trivial PDF",
                verdict(wall < 2 and reports["peak_mb"] < 300),
            )
        )
    lists = r.get("lists")
    if lists and lists["programme"]:
        worst = max(lists["programme"].items(), key=lambda item: item[1]["p95"])
        actions = lists["actions"]
        worst_action = max(actions.items(), key=lambda item: item[1]["p95"]) if actions else None
        hello = lists["hello_in_process"] or 1
        rows.append(
            (
                "any list page at 10 years of large-trust data: p95 < 50 ms, fixed queries",
                (
                    f"worst in-process {worst[0]} p95 {worst[1]['p95']:.0f} ms "
                    f"({worst[1]['queries']} queries)"
                    + (
                        f"; 8 clients {worst_action[0]} p95 {worst_action[1]['p95']:.0f} ms"
                        if worst_action
                        else ""
                    )
                ),
                f"{worst[1]['p50'] / hello:.0f}x hello-world p50",
                verdict(worst[1]["p95"] < 50 and (not worst_action or worst_action[1]["p95"] < 50)),
            )
        )
    for db in ("sqlite", "postgres"):
        soak = r.get(f"soak-{db}")
        if soak:
            kinds = soak["kinds"]
            rows.append(
                (
                    f"soak {db}: {soak['users']} users {soak['seconds']:g} s, a worker killed: "
                    "0 errors, 0 lost",
                    "; ".join(
                        f"{k}: {v['requests']} ok, p50/p95/p99 {v['p50_ms']:.0f}/{v['p95_ms']:.0f}/"
                        f"{v['p99_ms']:.0f} ms, lost {v['lost']}, dup {v['duplicates']}, "
                        f"errors {v['errors']}"
                        for k, v in kinds.items()
                    ),
                    "",
                    verdict(soak["ok"]),
                )
            )
        faults = r.get(f"faults-{db}")
        if faults:
            rows.append(
                (
                    f"scheduler SIGKILLed mid-send on {db}: each due message once",
                    (
                        f"{faults['queued_sent_once']}/{faults['queued']} once, "
                        f"{len(faults['queued_duplicated'])} twice, "
                        f"outbox {faults['outbox_files']} = sent rows "
                        f"{faults['sent_rows']}"
                    ),
                    "",
                    verdict(faults["ok"]),
                )
            )
    load = os.getloadavg()
    print(
        f"\nBudgets (DESIGN.md section 7), {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
        f"{os.cpu_count()} cores, load average {load[0]:.1f}/{load[1]:.1f}/{load[2]:.1f}, {elapsed:.0f} s"
    )
    widths = [
        max(len(row[i]) for row in [*rows, ("budget", "measured", "baseline ratio", "verdict")])
        for i in range(4)
    ]
    for row in [("budget", "measured", "baseline ratio", "verdict"), *rows]:
        print(" | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)))


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
