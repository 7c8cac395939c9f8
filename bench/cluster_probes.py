"""Probes of `make test-cluster` that must reach one app host on purpose.

nginx has one port per app host beside the balanced one (bench.cluster_hosts.PINNED_PORTS),
with the same TLS and forwarded headers, so a probe can sign in on one host and try the
cookie on the other. Run on the client host by `python -m bench.cluster_users`.
"""

import http.client
import time

from .cluster_users import ProxyClient
from .common import PASSWORD, csrf

WRONG = "not-the-password-at-all"


def wait_for_hosts(plan: dict, seconds: float = 90) -> dict:
    """Until /healthz answers 200 through the proxy's port of each app host (and the balanced one)."""
    answered = {}
    for host, port in [*plan["pinned"].items(), ("proxy", plan["port"])]:
        until = time.time() + seconds
        while time.time() < until:
            try:
                status = ProxyClient(plan, port).request("GET", "/healthz")[0]
            except (OSError, http.client.HTTPException):
                status = None
            if status == 200:
                break
            time.sleep(0.3)
        answered[host] = status
    return answered


def _post_login(client: ProxyClient, email: str, password: str) -> int:
    page = client.request("GET", "/login")[2]
    return client.request("POST", "/login", {"email": email, "password": password, "csrf_token": csrf(page)})[
        0
    ]


def signed_out_elsewhere(plan: dict, email: str, first: str, second: str) -> dict:
    """Sign in on `first`, use the cookie on `second`, sign out on `first`, replay it on `second`."""
    ports = plan["pinned"]
    here = ProxyClient(plan, ports[first])
    token = here.sign_in(email)
    there = ProxyClient(plan, ports[second])
    there.cookie = here.cookie
    before = there.request("GET", "/")[0]
    old_cookie = here.cookie
    signed_out = here.request("POST", "/logout", {"csrf_token": token})[0]
    replay = ProxyClient(plan, ports[second])
    replay.cookie = old_cookie
    status, location, _ = replay.request("GET", "/")
    return {
        "signed_in_on": first,
        "cookie_works_on_other_host": before == 200,
        "sign_out_status": signed_out,
        "old_cookie_on_other_host": status,
        "old_cookie_refused": status in (302, 303) and "/login" in location,
    }


def throttled_across_hosts(plan: dict, email: str) -> dict:
    """Wrong passwords on alternate hosts until one is refused as throttled (429), then the
    right password on the other host while blocked (429 again), then after the block (303)."""
    hosts = list(plan["pinned"])
    clients = {host: ProxyClient(plan, plan["pinned"][host]) for host in hosts}
    attempts = []
    for number in range(10):
        host = hosts[number % 2]
        attempts.append([host, _post_login(clients[host], email, WRONG)])
        if attempts[-1][1] == 429:
            break
    last = attempts[-1][0]
    other = hosts[1 - hosts.index(last)]
    right_while_blocked = _post_login(clients[other], email, PASSWORD)
    failures = [a for a in attempts if a[1] == 401]
    after_block, until = None, time.time() + 90  # the first block lasts a few seconds (15 s at most)
    while time.time() < until:
        time.sleep(3)
        after_block = _post_login(ProxyClient(plan, plan["pinned"][last]), email, PASSWORD)
        if after_block != 429:
            break
    return {
        "attempts": attempts,
        "free_failures_across_hosts": len(failures),
        "hosts_that_counted": sorted({a[0] for a in failures}),
        "right_password_while_blocked_on_other_host": right_while_blocked,
        "right_password_after_block": after_block,
        "ok": (
            attempts[-1][1] == 429
            and len(failures) >= plan["free_failures"]
            and len({a[0] for a in failures}) == 2
            and right_while_blocked == 429
            and after_block == 303
        ),
    }


def probe(plan: dict) -> dict:
    sessions = [
        signed_out_elsewhere(plan, plan["probe_users"][0], "app1", "app2"),
        signed_out_elsewhere(plan, plan["probe_users"][1], "app2", "app1"),
    ]
    return {
        "sessions": sessions,
        "sessions_ok": all(s["cookie_works_on_other_host"] and s["old_cookie_refused"] for s in sessions),
        "throttle": throttled_across_hosts(plan, plan["throttle_user"]),
    }
