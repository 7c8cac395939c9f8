"""The verdict of `make test-cluster`: the clients' logs against the database, the SMTP peer and nginx."""

import os
import re
from collections import Counter
from email.parser import BytesHeaderParser
from pathlib import Path
from types import SimpleNamespace

from .soak import quantile, report

IN_FLIGHT = (502, 504, "broken", "sign-in failed")
CLIENT = "10.77.1.30"
KILLED = "10.77.0.11"
# The scheduler's plain-text log line (it logs each cycle as JSON too).
SENT_LINE = re.compile(r"^\S+ \S+ INFO walkabout.scheduler: send cycle at .*'sent': (\d+)", re.MULTILINE)


def maildir(path: Path) -> dict:
    """What the SMTP peer received: Message-ID -> [[when, from which host (X-Peer)], ...]."""
    received: dict[str, list] = {}
    parser = BytesHeaderParser()
    for file in sorted((path / "new").glob("*")) if (path / "new").is_dir() else []:
        with file.open("rb") as handle:
            headers = parser.parse(handle)
        peer = str(headers["X-Peer"]).split("'")[1]
        received.setdefault(str(headers["Message-ID"]), []).append([file.stat().st_mtime, peer])
    return received


def proxy_failures(access_log: Path) -> dict:
    """nginx's own count of requests, and every 5xx it answered with the upstream it tried."""
    line = re.compile(r"^(\S+) (\S+) (\d{3}) \"(\S+) (\S+)\" upstream=(.*) upstream_status=(.*)$")
    total, failures = 0, []
    for text in access_log.read_text().splitlines() if access_log.exists() else []:
        match = line.match(text)
        if not match:
            continue
        total += 1
        msec, took, status, method, uri, upstream, _ = match.groups()
        if int(status) >= 500:
            failures.append(
                {
                    "at": float(msec) - float(took),
                    "status": int(status),
                    "request": f"{method} {uri}",
                    "upstream": upstream,
                }
            )
    return {"requests": total, "failures": failures}


def scheduler_sent(logs: list[Path]) -> dict:
    """Messages each scheduler process says it sent (its send-cycle log lines)."""
    sent = {}
    for log in logs:
        if log.exists():
            sent[log.stem] = sum(int(n) for n in SENT_LINE.findall(log.read_text(errors="replace")))
    return sent


def classify(outs: list[dict], timeline: dict) -> None:
    """A failure is "in flight on the killed host" when it is a proxy 502/504 or a broken
    connection of a request sent before the host was down and answered after the kill began;
    any other failure is an error."""
    for out in outs:
        for name, began, ended, status in out["failures"]:
            in_window = began <= timeline["kill_done"] + 0.5 and ended >= timeline["kill_started"] - 0.1
            if status in IN_FLIGHT and in_window:
                out["broken"] += 1
            elif status in (502, 503, 504, "broken", "sign-in failed"):
                out["errors"].append(f"{name}: {status} outside the kill")


def _quantile(values: list[float], q: int) -> float:
    return quantile(sorted(values), q) if len(values) > 1 else values[0] * 1000


def figures(options, timeline: dict, raw: dict) -> dict:
    outs = raw["outs"]
    classify(outs, timeline)
    soak_part = report(
        SimpleNamespace(
            db="postgres", users=options.users, seconds=options.seconds, workers=options.workers * 2
        ),
        [o for o in outs if o["kind"] in ("concern", "update")],
        raw["counts"],
        "app1",
        timeline["load_average"],
        [],
    )
    latency = sorted(x for o in outs for x in o["latency"])
    by_request = {}
    for out in outs:
        for name, values in out["latency_by_request"].items():
            by_request.setdefault(name, []).extend(values)
    failures = [f for o in outs for f in o["failures"]]
    in_flight = sum(o["broken"] for o in outs)
    errors = [e for o in outs for e in o["errors"]]
    result = {
        "users": options.users,
        "seconds": options.seconds,
        "workers_per_host": options.workers,
        "load_average": timeline["load_average"],
        "cores": os.cpu_count(),
        "timeline": timeline,
        "requests": len(latency) + len(failures),
        "answered": len(latency),
        "p50_ms": quantile(latency, 50),
        "p95_ms": quantile(latency, 95),
        "p99_ms": quantile(latency, 99),
        "by_request": {
            name: {"n": len(v), "p50_ms": _quantile(v, 50), "p95_ms": _quantile(v, 95)}
            for name, v in sorted(by_request.items())
        },
        "in_flight_on_killed_host": in_flight,
        "errors": errors,
        "soak": soak_part,
        "lost": sum(k["lost"] for k in soak_part["kinds"].values()),
        "duplicated": sum(k["duplicates"] for k in soak_part["kinds"].values()),
        "nginx": nginx_check(raw["proxy_log"], timeline),
        "mail": mail_check(raw, timeline),
        "board_pack": pack_check(raw, outs),
        "sessions": session_check(raw, outs),
        "throttle": throttle_check(raw),
        "scheduler_sent": raw.get("scheduler_sent", {}),
        "settled": raw["settled"],
    }
    result["ok"] = (
        soak_part["ok"]
        and not errors
        and result["nginx"]["ok"]
        and result["mail"]["ok"]
        and result["board_pack"]["ok"]
        and result["sessions"]["ok"]
        and result["throttle"]["ok"]
    )
    return result


def nginx_check(log: dict, timeline: dict) -> dict:
    """Every 5xx nginx answered was from the killed host (app1), around the kill."""
    failures = [f for f in log["failures"] if f["at"] >= timeline["start"]]  # not the hosts booting
    stray = [
        f
        for f in failures
        if KILLED not in f["upstream"]
        or not (timeline["kill_started"] - 60 <= f["at"] <= timeline["kill_done"] + 0.5)
    ]
    return {
        "requests": log["requests"],
        "5xx": len(failures),
        "5xx_not_from_killed_host": stray,
        "ok": not stray,
    }


def mail_check(raw: dict, timeline: dict) -> dict:
    """Each sent row delivered once. A second delivery is put down to the killed host only when
    its first copy came from that host while it was being powered off (SMTP had the message, the
    row was not yet marked sent: no protocol makes that exactly-once; the copy has the same
    Message-ID, so mail clients show one)."""
    received = raw["mail"]
    deliveries = {message_id: len(copies) for message_id, copies in received.items()}
    twice = sorted(m for m, n in deliveries.items() if n > 1)
    in_flight = [
        m
        for m in twice
        if received[m][0][1] == KILLED
        and timeline["kill_started"] - 1 <= received[m][0][0] <= timeline["kill_done"] + 1
    ]
    sent = {n["message_id"]: n for n in raw["counts"]["notifications"] if n["status"] == "sent"}
    queued = set(raw["queued"])
    queued_rows = [n for n in raw["counts"]["notifications"] if n["dedupe_key"].startswith("new_action:")]
    queued_rows = [n for n in queued_rows if int(n["dedupe_key"].split(":")[1]) in queued]
    result = {
        "rows_sent": len(sent),
        "deliveries": sum(deliveries.values()),
        "sent_once": sum(1 for m in sent if deliveries.get(m) == 1),
        "sent_rows_not_delivered": sorted(n["id"] for m, n in sent.items() if m not in deliveries),
        "delivered_twice_or_more": {m: received[m] for m in twice},
        "delivered_twice_in_flight_on_killed_host": len(in_flight),
        "delivered_without_sent_row": sorted(m for m in deliveries if m not in sent),
        "delivered_from": dict(Counter(peer for copies in received.values() for _, peer in copies)),
        "queued": len(queued),
        "queued_sent": sum(1 for n in queued_rows if n["status"] == "sent"),
        "still_due": raw["settled"].get("due"),
    }
    result["ok"] = (
        result["sent_once"] + len(in_flight) == len(sent)
        and len(twice) == len(in_flight)
        and not result["delivered_without_sent_row"]
        and result["queued_sent"] == len(queued)
        and result["still_due"] == 0
    )
    return result


def pack_check(raw: dict, outs: list[dict]) -> dict:
    secretary = next(o for o in outs if o["kind"] == "secretary")
    pack_id = secretary.get("pack_id")
    packs = raw["counts"]["packs"]
    mine = next((p for p in packs if p["id"] == pack_id), None)
    month = mine["month"] if mine else None
    created = [p for p in packs if p["month"] == month and pack_id is not None and p["id"] >= pack_id]
    result = {
        "pack_id": pack_id,
        "status": mine and mine["status"],
        "times_built": mine and mine["generated"],
        "packs_for_the_month_since_request": len(created),
        "requested_at": secretary.get("pack_requested_at"),
        "ready_after_s": (
            secretary["pack_ready_at"] - secretary["pack_requested_at"]
            if "pack_ready_at" in secretary
            else None
        ),
        "downloaded_bytes": secretary.get("pack_bytes", 0),
        "errors": secretary["errors"],
    }
    result["ok"] = bool(
        mine
        and mine["status"] == "ready"
        and mine["generated"] == 1
        and len(created) == 1
        and result["downloaded_bytes"]
    )
    return result


def session_check(raw: dict, outs: list[dict]) -> dict:
    probes = raw["probes"]
    sign_outs = sum(o["sign_outs"] for o in outs)
    accepted = sum(o["replay_accepted"] for o in outs)
    return {
        "probes": probes["sessions"],
        "sign_outs_during_load": sign_outs,
        "old_cookie_accepted_after_sign_out": accepted,
        "ok": probes["sessions_ok"] and accepted == 0 and sign_outs > 0,
    }


def throttle_check(raw: dict) -> dict:
    keys = raw["counts"]["throttle_keys"]
    addresses = {k: v for k, v in keys.items() if k.startswith("address:")}
    probe = raw["probes"]["throttle"]
    return {
        **probe,
        "address_keys": addresses,
        "client_address_seen": f"address:{CLIENT}" in addresses,
        "ok": probe["ok"] and list(addresses) == [f"address:{CLIENT}"],
    }


def print_report(r: dict) -> None:
    t = r["timeline"]
    print(
        f"\ncluster soak: {r['users']} users, {r['seconds']:g} s through nginx to 2 app hosts x "
        f"{r['workers_per_host']} gunicorn workers, PostgreSQL 15 on its own host; load average "
        f"{r['load_average'][0]:.1f} on {r['cores']} cores; app1 killed at "
        f"+{t['kill_started'] - t['start']:.1f} s, restarted at +{t['restart'] - t['start']:.1f} s"
    )
    print(
        f"requests {r['requests']} (answered {r['answered']}), p50/p95/p99 "
        f"{r['p50_ms']:.0f}/{r['p95_ms']:.0f}/"
        f"{r['p99_ms']:.0f} ms; in flight on the killed host (retried) {r['in_flight_on_killed_host']}; "
        f"errors {len(r['errors'])}; lost {r['lost']}; duplicated {r['duplicated']}"
    )
    for name, f in r["by_request"].items():
        print(f"  {name:<28}{f['n']:>6}  p50 {f['p50_ms']:>6.0f} ms  p95 {f['p95_ms']:>6.0f} ms")
    for label, kind in r["soak"]["kinds"].items():
        print(
            f"  {label}: acknowledged {kind['acknowledged']}, rows {kind['rows']}, lost {kind['lost']}, "
            f"duplicated {kind['duplicates']}, stored but never sent {kind['not_sent_but_stored']}, "
            f"unknown outcome {kind['unknown_outcome']}, "
            f"answered 'already saved' on a resend {kind['replayed']}"
        )
    for name in ("nginx", "mail", "board_pack", "sessions", "throttle"):
        section = r[name]
        print(f"{name}: {'ok' if section['ok'] else 'FAILED'} {section}")
    print(f"messages sent per scheduler process: {r['scheduler_sent']}")
    if r["errors"]:
        print(f"errors: {r['errors'][:20]}")
    print("PASS" if r["ok"] else "FAIL: see above.")
