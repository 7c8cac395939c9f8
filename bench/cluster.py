"""Proof on several hosts (`make test-cluster`): the README's deployment, with a host killed under load.

    .venv/bin/python -m bench.cluster [--users 50] [--seconds 60] [--workers 2] [--json PATH]

Builds six hosts as network namespaces (scripts/cluster-net.sh): PostgreSQL 15 on `db` (its
own data directory, reachable only on the back network), an SMTP peer on `mail`, gunicorn
with the app on `app1` and `app2` (one release; `db-upgrade` run once, before either starts),
nginx on `proxy` (TLS, round robin with passive health checks, idempotent requests moved to
the other host on failure; WALKABOUT_PROXY_HOPS=1) and the users on `client`, which reaches
only the proxy. One scheduler runs on app1 and, on purpose, a second one on app2, started so
that their send cycles coincide on a batch of queued messages.

Then: probes of sessions and sign-in throttling across the hosts, and the soak of
bench.cluster_users through the proxy, during which app1 is powered off a third of the way
in (its link cut, then SIGKILL for gunicorn and its scheduler), a board pack is requested and
more messages are queued while it is down, and two thirds of the way in it comes back (a
fresh namespace with the same address) and starts gunicorn and its scheduler again. Afterwards
the database is counted against the clients' logs, the SMTP peer's Maildir against the
notification rows, and nginx's log for the failed requests. Everything is torn down at the
end, also on failure or Ctrl-C; `make test-cluster-clean` removes what a killed run left.
"""

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

from . import cluster_hosts as hosts
from . import cluster_report
from .common import BIN, ROOT

ARTIFACTS = ROOT / "test-artifacts" / "cluster"
MESSAGES_BEFORE, MESSAGES_DURING = 200, 100


class Run:
    def __init__(self, options, work: Path):
        self.options, self.work = options, work
        self.cluster = hosts.Cluster(work, options.workers)
        self.timeline: dict = {}

    def python(self, host: str, *args: str, timeout: float = 300) -> str:
        env = self.cluster.app_env(host)
        return self.cluster.run(host, [str(BIN / "python"), *args], env=env, timeout=timeout)

    def data(self, host: str, *args: str):
        return json.loads(self.python(host, "-m", "bench.cluster_data", *args).strip().splitlines()[-1])

    def queue(self, host: str, count: int) -> list[int]:
        output = self.python(host, "-m", "bench.faults", "--child", "queue", str(count))
        return json.loads(output.strip().splitlines()[-1])

    def queue_later(self, host: str, count: int) -> subprocess.Popen:
        command = [str(BIN / "python"), "-m", "bench.faults", "--child", "queue", str(count)]
        env = self.cluster.app_env(host)
        return subprocess.Popen(
            [*hosts.ns(host), *command], env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True
        )

    def users(self, command: str, plan: dict, **popen):
        path = self.work / "plan.json"
        path.write_text(json.dumps(plan))
        args = [*hosts.ns("client"), str(BIN / "python"), "-m", "bench.cluster_users", command, str(path)]
        if command == "load":
            return subprocess.Popen(args, cwd=ROOT, text=True, **popen)
        out = self.work / f"{command}.json"
        subprocess.run([*args, str(out)], cwd=ROOT, check=True, timeout=300)
        return json.loads(out.read_text())

    def build(self) -> dict:
        cluster = self.cluster
        cluster.start_database()
        cluster.start_mail()
        cluster.flask("app1", "db-upgrade")  # the release step, once, before any web worker starts
        # A demo trust in production mode: newer versions ask for --force to do that on purpose.
        force = ["--force"] if "--force" in cluster.flask("app1", "seed-demo", "--help") else []
        cluster.flask("app1", "seed-demo", "--password", "walkabout-demo", *force)
        specs = self.data("app1", "users", str(self.options.users))
        cluster.start_proxy()
        for host in hosts.APPS:
            cluster.start_app(host)
        plan = {
            "proxy": hosts.PROXY,
            "port": hosts.PUBLIC_PORT,
            "pinned": hosts.PINNED_PORTS,
            "certificate": str(cluster.certificate),
            "users": specs,
            "processes": min(5, max(1, self.options.users // 10)),
            "secretary": "secretary@example.org",
            "probe_users": ["executive@example.org", "manager@example.org"],
            "throttle_user": "admin@example.org",
            "free_failures": 5,
            "month": (date.today().replace(day=1) - timedelta(days=1)).strftime("%Y-%m"),
            "pack_timeout": 150.0,
        }
        answered = self.users("wait", plan)
        if any(status != 200 for status in answered.values()):
            raise RuntimeError(f"the app hosts did not answer through the proxy: {answered}")
        return plan

    def first_cycle(self, log: Path, seconds: float = 90) -> float:
        """When the scheduler in `log` ran its first send cycle (epoch seconds)."""
        until = time.time() + seconds
        while time.time() < until:
            match = re.search(r"send cycle at (\S+):", log.read_text(errors="replace"))
            if match:
                return datetime.fromisoformat(match.group(1)).timestamp()
            time.sleep(0.5)
        raise RuntimeError(f"the scheduler logged no send cycle in {seconds:g} s ({log})")

    def soak(self, plan: dict) -> dict:
        cluster, options = self.cluster, self.options
        started = cluster.start_scheduler("app1", "scheduler-app1")
        first = self.first_cycle(self.work / "scheduler-app1.log")
        probes = self.users("probe", plan)
        queued = self.meet_second_scheduler(first, first - started)
        load = self.users("load", plan, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        try:
            if load.stdout.readline().strip() != "signed in":
                raise RuntimeError("the users could not sign in (see the output above)")
            start = time.time() + 1
            seconds = options.seconds
            timeline = {"start": start, "deadline": start + seconds, "pack_at": start + seconds / 3 + 3}
            load.stdin.write(json.dumps(timeline) + "\n")
            load.stdin.flush()
            self.timeline.update(timeline)
            time.sleep(max(0, start + seconds / 3 - time.time()))
            self.timeline["kill_started"] = time.time()
            killed = cluster.kill_host("app1")
            self.timeline["kill_done"] = time.time()
            during = self.queue_later("app2", MESSAGES_DURING)  # in the background: the restart keeps time
            time.sleep(max(0, start + 2 * seconds / 3 - time.time()))
            self.timeline["restart"] = time.time()
            cluster.revive_host("app1")
            cluster.start_app("app1")
            cluster.start_scheduler("app1", "scheduler-app1-restarted")
            outs = json.loads(load.communicate(timeout=seconds + plan["pack_timeout"] + 300)[0])
            queued += json.loads(during.communicate(timeout=300)[0].strip().splitlines()[-1])
        finally:
            if load.poll() is None:
                load.kill()
        self.timeline["load_average"] = os.getloadavg()
        self.timeline["second_scheduler_first_cycle"] = self.first_cycle(self.work / "scheduler-app2.log")
        settled = self.settle()
        for name in ("scheduler-app1-restarted", "scheduler-app2"):
            cluster.stop(name)
        counts = self.data("app2", "count")
        return {
            "probes": probes,
            "outs": outs,
            "counts": counts,
            "queued": queued,
            "killed_pids": killed,
            "settled": settled,
            "mail": cluster_report.maildir(cluster.mail_dir),
            "scheduler_sent": cluster_report.scheduler_sent(sorted(self.work.glob("scheduler-*.log"))),
            "proxy_log": cluster_report.proxy_failures(self.work / "proxy" / "access.log"),
        }

    def meet_second_scheduler(self, first: float, boot: float) -> list[int]:
        """Start the second scheduler, by mistake, so that its first send cycle meets the first
        scheduler's next one on a batch queued just after the first one's previous cycle began;
        `first` is that scheduler's first cycle, `boot` how long it took to start."""
        cycle = first + 60 * (int((time.time() - first) // 60) + 1)  # the first scheduler's next cycle
        time.sleep(max(0, cycle + 3 - time.time()))  # it has chosen its messages: the batch waits
        queued = self.queue("app1", MESSAGES_BEFORE)
        target = cycle + 60
        if time.time() > target - boot - 1:  # the queueing took too long: meet one cycle later
            target += 60
        time.sleep(max(0, target - boot - 1 - time.time()))
        self.cluster.start_scheduler("app2", "scheduler-app2")
        self.timeline["scheduler_cycle"] = target
        return queued

    def settle(self, seconds: float = 180) -> dict:
        """Wait (bounded) until no message is due and no board pack is being built."""
        until = time.time() + seconds
        state = {}
        while time.time() < until:
            state = self.data("app2", "state")
            if state["due"] == 0 and state["packs_busy"] == 0:
                break
            time.sleep(5)
        return state


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers per app host")
    parser.add_argument("--json", type=Path, default=ARTIFACTS / "cluster.json")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs, Maildir)")
    options = parser.parse_args()
    hosts.need_debian_packages()
    work = Path(tempfile.mkdtemp(prefix="walkabout-cluster-"))
    work.chmod(0o755)  # PostgreSQL runs as the postgres user inside it
    run = Run(options, work)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the finally below on a kill too
    hosts.network("up")
    try:
        plan = run.build()
        raw = run.soak(plan)
    finally:
        hosts.network("down")  # SIGKILLs every process still inside the namespaces
        run.cluster.close_logs()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        for log in work.glob("*.log"):
            shutil.copy(log, ARTIFACTS / log.name)
        if (work / "proxy" / "access.log").exists():
            shutil.copy(work / "proxy" / "access.log", ARTIFACTS / "nginx-access.log")
        if not options.keep:
            shutil.rmtree(work, ignore_errors=True)
    result = cluster_report.figures(options, run.timeline, raw)
    options.json.parent.mkdir(parents=True, exist_ok=True)
    options.json.write_text(json.dumps(result, indent=1))
    cluster_report.print_report(result)
    sys.exit(0 if result["ok"] else 1)


if __name__ == "__main__":
    main()
