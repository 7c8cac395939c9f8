"""The users of `make test-cluster`, run on the client host: every request goes through nginx (HTTPS).

    python -m bench.cluster_users wait PLAN.json          # until both app hosts answer /healthz
    python -m bench.cluster_users probe PLAN.json OUT     # sessions and sign-in throttling across hosts
    python -m bench.cluster_users load PLAN.json OUT      # the soak, while the orchestrator kills a host

The soak's users come from bench.soak (its Client, sign-in, version reading and timing):
executives log concerns with an idempotency key each; ward managers post updates on their
action, fetch its photo and the walkabout's summary PDF, and now and then sign out and in again
(checking that the cookie they signed out with no longer works); a board secretary requests a
board pack while a host is down. A request that fails because its host died (nginx answers
502/504, or the connection breaks) is sent again unchanged: a concern with the same idempotency
key, an update with the same text and version (a 409 on the resend means the first one was
stored). Every failure is recorded with its times; the orchestrator decides which were in flight
on the killed host.
"""

import http.client
import json
import multiprocessing
import re
import ssl
import sys
import threading
import time
import uuid

from .soak import TIMEOUT, Client, read_version, wait_until

RETRY_STATUSES = (502, 503, 504)
ATTEMPTS = 8


class BrowserConnection(http.client.HTTPSConnection):
    """Sends a same-origin Referer as a browser does: Flask-WTF checks it on HTTPS."""

    def request(self, method, url, body=None, headers=None, **kwargs):
        origin = self.host if self.port == 443 else f"{self.host}:{self.port}"
        super().request(method, url, body, {"Referer": f"https://{origin}/", **(headers or {})}, **kwargs)


class ProxyClient(Client):
    """soak.Client over HTTPS to the proxy, plus binary GETs for photos and PDFs."""

    def __init__(self, plan: dict, port: int | None = None):
        super().__init__(port or plan["port"])
        self.host = plan["proxy"]
        self.context = ssl.create_default_context(cafile=plan["certificate"])

    def _connect(self) -> http.client.HTTPConnection:
        if self.connection is None:
            self.connection = BrowserConnection(self.host, self.port, timeout=TIMEOUT, context=self.context)
        return self.connection

    def request(self, method: str, path: str, form: dict | None = None, htmx: bool = False):
        self._connect()
        return super().request(method, path, form, htmx)

    def get_bytes(self, path: str) -> tuple[int, str, bytes]:
        connection = self._connect()
        try:
            connection.request("GET", path, headers={"Cookie": self.cookie})
            response = connection.getresponse()
            body = response.read()
        except (OSError, http.client.HTTPException):
            connection.close()
            self.connection = None
            raise
        if response.getheader("Connection", "").lower() == "close":
            connection.close()
            self.connection = None
        return response.status, response.getheader("Content-Type", ""), body


class Recorder:
    """One user's figures: latencies of answered requests, and every failure with its times."""

    def __init__(self, kind: str):
        self.out = {
            "kind": kind,
            "latency": [],
            "latency_by_request": {},
            "acked": set(),
            "unknown": set(),
            "failures": [],
            "errors": [],
            "broken": 0,
            "replayed": 0,
            "replay_accepted": 0,
            "sign_outs": 0,
        }

    def call(self, name: str, send, expected: tuple):
        """Send once; (status, answer) or (None, None) when the host failed it (recorded)."""
        began = time.time()
        try:
            answer = send()
        except (OSError, http.client.HTTPException):
            self.out["failures"].append([name, began, time.time(), "broken"])
            return None, None
        status = answer[0]
        if status in expected:
            elapsed = time.time() - began
            self.out["latency"].append(elapsed)
            self.out["latency_by_request"].setdefault(name, []).append(elapsed)
            return status, answer
        self.out["failures"].append([name, began, time.time(), status])
        return (None, None) if status in RETRY_STATUSES else (status, answer)

    def result(self) -> dict:
        return {**self.out, "acked": sorted(self.out["acked"]), "unknown": sorted(self.out["unknown"])}


def sign_in(client: ProxyClient, email: str, recorder: Recorder | None = None) -> str:
    """soak.Client.sign_in, tried again when the proxy or the host fails it."""
    for _ in range(ATTEMPTS):
        began = time.time()
        try:
            token = client.sign_in(email)
        except (OSError, http.client.HTTPException, AssertionError, AttributeError):
            if recorder:
                recorder.out["failures"].append(["sign in", began, time.time(), "sign-in failed"])
            client.connection = None
            time.sleep(0.3)
            continue
        if recorder:
            recorder.out["latency_by_request"].setdefault("sign in", []).append(time.time() - began)
        return token
    raise RuntimeError(f"{email} could not sign in")


def executive(plan: dict, spec: dict, client: ProxyClient, recorder: Recorder) -> None:
    token = spec["token"]
    form = {"csrf_token": token, "ward_id": spec["ward_id"], "idempotency_key": uuid.uuid4().hex}
    for _ in range(ATTEMPTS):
        status, answer = recorder.call(
            "start walkabout", lambda: client.request("POST", "/walkabouts/adhoc", form), (303,)
        )
        if status:
            break
    path = re.search(r"/walkabouts/(\d+)/capture", answer[1]).group(0).replace("capture", "concerns")
    wait_until(plan["start"])
    while time.time() < plan["deadline"]:
        key = uuid.uuid4().hex
        concern = {
            "text": f"Soak {key}: hoist battery keeps failing",
            "kind": "concern",
            "likelihood": "3",
            "consequence": "4",
            "csrf_token": token,
            "idempotency_key": key,
        }
        for attempt in range(ATTEMPTS):  # the same key every time: the server stores it once
            send = lambda form=concern: client.request("POST", path, form, htmx=True)  # noqa: E731
            status, _ = recorder.call("log concern", send, (200, 201))
            if status in (200, 201):
                recorder.out["acked"].add(key)
                recorder.out["unknown"].discard(key)
                recorder.out["replayed"] += status == 200 and attempt > 0
                break
            if status is not None:
                recorder.out["errors"].append(status)
                break
            recorder.out["unknown"].add(key)
            time.sleep(0.3)


def manager(plan: dict, spec: dict, client: ProxyClient, recorder: Recorder) -> None:
    path = f"/actions/{spec['action_id']}"
    version = read_version(client, path, plan["deadline"])
    wait_until(plan["start"])
    turn = 0
    while version is not None and time.time() < plan["deadline"]:
        turn += 1
        text = f"Soak {uuid.uuid4().hex}: spare battery ordered"
        update = {"progress-text": text, "progress-version": version, "csrf_token": spec["token"]}
        for attempt in range(ATTEMPTS):  # the same text and version: a resend is stored once or refused
            send = lambda form=update: client.request("POST", path + "/updates", form)  # noqa: E731
            status, _ = recorder.call("update action", send, (303, 409))
            if status == 303 or (status == 409 and attempt > 0):
                recorder.out["acked"].add(text)
                recorder.out["unknown"].discard(text)
                recorder.out["replayed"] += status == 409
                break
            if status is not None:
                recorder.out["errors"].append(status)
                break
            recorder.out["unknown"].add(text)
            time.sleep(0.3)
        version = read_version(client, path, plan["deadline"])
        if turn % 3 == 0:
            fetch(client, recorder, "photo", f"/photos/{spec['photo_id']}.jpg", b"\xff\xd8")
            fetch(client, recorder, "summary PDF", f"/walkabouts/{spec['walkabout_id']}/summary.pdf", b"%PDF")
        if turn % 6 == 2:
            spec["token"] = sign_out_and_in(plan, spec, client, recorder)


def fetch(client: ProxyClient, recorder: Recorder, name: str, path: str, magic: bytes) -> None:
    for _ in range(ATTEMPTS):
        status, answer = recorder.call(name, lambda: client.get_bytes(path), (200,))
        if status == 200 and not answer[2].startswith(magic):
            recorder.out["errors"].append(f"{name}: not a {magic!r} file")
        if status is not None:
            if status != 200:
                recorder.out["errors"].append(status)
            return
        time.sleep(0.3)


def sign_out_and_in(plan: dict, spec: dict, client: ProxyClient, recorder: Recorder) -> str:
    """Sign out, check the old cookie is refused (on whichever host the proxy picks), sign in."""
    old_cookie = client.cookie
    form = {"csrf_token": spec["token"]}
    for _ in range(ATTEMPTS):
        status, _ = recorder.call("sign out", lambda: client.request("POST", "/logout", form), (303,))
        if status is not None:
            break
        time.sleep(0.3)
    recorder.out["sign_outs"] += 1
    replay = ProxyClient(plan)
    replay.cookie = old_cookie
    for _ in range(ATTEMPTS):
        status, _ = recorder.call("old cookie after sign-out", lambda: replay.request("GET", "/"), (200, 302))
        if status is not None:
            recorder.out["replay_accepted"] += status == 200
            break
        time.sleep(0.3)
    return sign_in(client, spec["email"], recorder)


def secretary(plan: dict, spec: dict, client: ProxyClient, recorder: Recorder) -> None:
    """Request the board pack while a host is down, then wait for it and download it."""
    wait_until(plan["pack_at"])
    form = {"csrf_token": spec["token"]}
    path = f"/reports/monthly/{plan['month']}/packs"
    location = None
    for _ in range(ATTEMPTS):
        status, answer = recorder.call(
            "request board pack", lambda: client.request("POST", path, form), (303,)
        )
        if status == 303:
            location = answer[1]
            break
        if status is not None:
            recorder.out["errors"].append(status)
            return
        time.sleep(0.3)
    recorder.out["pack_requested_at"] = time.time()
    match = re.search(r"/reports/packs/(\d+)", location or "")
    if not match:
        recorder.out["errors"].append(f"board pack request answered {location!r}")
        return
    pack_id = int(match.group(1))
    recorder.out["pack_id"] = pack_id
    until = time.time() + plan["pack_timeout"]
    while time.time() < until:
        status, answer = recorder.call(
            "board pack PDF", lambda: client.get_bytes(f"/reports/packs/{pack_id}.pdf"), (200, 404)
        )
        if status == 200:
            recorder.out["pack_ready_at"] = time.time()
            recorder.out["pack_bytes"] = len(answer[2]) if answer[2].startswith(b"%PDF") else 0
            return
        time.sleep(2)


ROLES = {"concern": executive, "update": manager, "secretary": secretary}


def client_process(plan: dict, specs: list[dict], ready, go, results) -> None:
    """Sign this process's users in, wait for the timeline, then run each user as a thread."""
    clients = []
    for spec in specs:
        client = ProxyClient(plan)
        spec["token"] = sign_in(client, spec["email"])
        clients.append(client)
    ready.put(len(clients))
    plan.update(go.get())
    recorders = [Recorder(spec["role"]) for spec in specs]
    threads = [
        threading.Thread(target=ROLES[spec["role"]], args=(plan, spec, client, recorder))
        for spec, client, recorder in zip(specs, clients, recorders, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    results.put([recorder.result() for recorder in recorders])


def load(plan: dict) -> list[dict]:
    """Sign everyone in, say so on stdout, read the timeline (start, deadline, pack_at) from stdin, run."""
    specs = [*plan["users"], {"email": plan["secretary"], "role": "secretary"}]
    groups = [specs[i :: plan["processes"]] for i in range(plan["processes"])]
    context = multiprocessing.get_context("fork")
    ready, go, results = context.Queue(), context.Queue(), context.Queue()
    processes = [
        context.Process(target=client_process, args=(plan, g, ready, go, results)) for g in groups if g
    ]
    for process in processes:
        process.start()
    for _ in processes:
        ready.get(timeout=300)
    print("signed in", flush=True)
    plan.update(json.loads(sys.stdin.readline()))
    for _ in processes:
        go.put({key: plan[key] for key in ("start", "deadline", "pack_at")})
    outs = [
        o
        for _ in processes
        for o in results.get(timeout=plan["deadline"] - time.time() + plan["pack_timeout"] + 120)
    ]
    for process in processes:
        process.join()
    return outs


def main() -> None:
    from . import cluster_probes

    command, plan_path, *out = sys.argv[1:]
    with open(plan_path) as handle:
        plan = json.load(handle)
    if command == "wait":
        result = cluster_probes.wait_for_hosts(plan)
    elif command == "probe":
        result = cluster_probes.probe(plan)
    else:
        result = load(plan)
    with open(out[0] if out else "/dev/stdout", "w") as handle:
        json.dump(result, handle)


if __name__ == "__main__":
    main()
