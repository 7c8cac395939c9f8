"""The hosts of `make test-cluster`: what runs in each network namespace of scripts/cluster-net.sh.

Every process is started with `ip netns exec <host> ...` (which execs the command, so the
Popen's pid is the process itself) and is stopped by its id; `Cluster.kill_host` SIGKILLs
every process inside one namespace and takes its link down, as a host losing power would.
"""

import os
import secrets
import shutil
import signal
import subprocess
import time
from pathlib import Path

from .common import BIN, ROOT

PREFIX = os.environ.get("CLUSTER_PREFIX", "walk")
NET_SCRIPT = ROOT / "scripts" / "cluster-net.sh"
DB, MAIL, PROXY_BACK, PROXY = "10.77.0.2", "10.77.0.3", "10.77.0.20", "10.77.1.20"
APPS = {"app1": "10.77.0.11", "app2": "10.77.0.12"}
APP_PORT, SMTP_PORT = 8000, 2525
# The proxy's public port, and one port per app host that skips the balancing (for the probes).
PUBLIC_PORT, PINNED_PORTS = 443, {"app1": 8441, "app2": 8442}
DB_PASSWORD = "walkabout-cluster"
DATABASE = f"postgresql+psycopg://walkabout:{DB_PASSWORD}@{DB}:5432/walkabout"
PG_BIN = Path("/usr/lib/postgresql/15/bin")


def ns(host: str) -> list[str]:
    return ["ip", "netns", "exec", f"{PREFIX}-{host}"]


def network(*action: str) -> None:
    subprocess.run(
        ["bash", str(NET_SCRIPT), *action], check=True, env=dict(os.environ, CLUSTER_PREFIX=PREFIX)
    )


def need_debian_packages() -> None:
    """nginx and the SMTP peer (aiosmtpd) from Debian, installed with apt when missing."""
    missing = [
        package
        for package, present in (
            ("nginx", shutil.which("nginx") or Path("/usr/sbin/nginx").exists()),
            ("python3-aiosmtpd", _system_python_has("aiosmtpd")),
            ("postgresql-15", (PG_BIN / "postgres").exists()),
        )
        if not present
    ]
    if missing:
        print(f"installing with apt: {' '.join(missing)}", flush=True)
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=True, stdout=subprocess.DEVNULL)


def _system_python_has(module: str) -> bool:
    return subprocess.run(["/usr/bin/python3", "-c", f"import {module}"], capture_output=True).returncode == 0


class Cluster:
    """The processes of one run, their logs under `work`, and the app environment."""

    def __init__(self, work: Path, workers: int):
        self.work, self.workers = work, workers
        self.processes: dict[str, subprocess.Popen] = {}
        self.logs: list = []
        self.secret = secrets.token_hex(32)
        self.mail_dir = work / "mail"

    def _start(self, name: str, host: str, command: list[str], env: dict | None = None) -> subprocess.Popen:
        log = (self.work / f"{name}.log").open("ab")
        self.logs.append(log)
        process = subprocess.Popen(
            [*ns(host), *command], env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
        )
        self.processes[name] = process
        return process

    def run(self, host: str, command: list[str], env: dict | None = None, timeout: float = 300) -> str:
        """Run a command on `host` to completion; its stdout (its stderr in the error if it fails)."""
        done = subprocess.run(
            [*ns(host), *command], env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout
        )
        if done.returncode:
            raise RuntimeError(f"{' '.join(command)} on {host} failed:\n{done.stderr[-3000:]}")
        return done.stdout

    # --- the database host: its own PostgreSQL 15 cluster, on the back network only ---------------

    def start_database(self) -> None:
        data, sockets = self.work / "pgdata", self.work / "pgsocket"
        password = self.work / "pgpass"
        password.write_text(DB_PASSWORD)
        for path in (data, sockets):
            path.mkdir()
        subprocess.run(
            ["chown", "-R", "postgres:postgres", str(data), str(sockets), str(password)], check=True
        )
        as_postgres = ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups"]
        subprocess.run(
            [
                *as_postgres,
                str(PG_BIN / "initdb"),
                "-D",
                str(data),
                "-U",
                "walkabout",
                f"--pwfile={password}",
                "--auth-host=scram-sha-256",
                "--auth-local=peer",
                "-E",
                "UTF8",
            ],
            check=True,
            capture_output=True,
        )
        with (data / "pg_hba.conf").open("a") as hba:
            hba.write("host all walkabout 10.77.0.0/24 scram-sha-256\n")
        settings = {
            "listen_addresses": DB,
            "port": "5432",
            "unix_socket_directories": str(sockets),  # never the machine's own /var/run/postgresql
            "max_connections": "200",
            # A host that loses power sends no FIN: its open transaction (and the rows it locked, e.g.
            # an idempotency key a retry on the other host needs) would stay for the kernel's two
            # hours of keepalive, or its 15 minutes of retransmission when the server's last answer
            # is unacknowledged: keepalives and tcp_user_timeout end it within about 10 s.
            # (idle_in_transaction_session_timeout would end it too, but it also ends the board-pack
            # build, whose read transaction stays open while the PDF renders.) See the README.
            "tcp_keepalives_idle": "5",
            "tcp_keepalives_interval": "1",
            "tcp_keepalives_count": "5",
            "tcp_user_timeout": "10000",
        }
        flags = [f"--{key}={value}" for key, value in settings.items()]
        self._start("postgres", "db", [*as_postgres, str(PG_BIN / "postgres"), "-D", str(data), *flags])
        for _ in range(100):
            ready = subprocess.run(
                [*ns("db"), str(PG_BIN / "pg_isready"), "-q", "-h", DB, "-U", "walkabout"],
                capture_output=True,
            ).returncode
            if ready == 0:
                break
            time.sleep(0.2)
        else:
            raise RuntimeError("PostgreSQL did not start on the db host")
        env = dict(os.environ, PGPASSWORD=DB_PASSWORD)
        self.run("app1", [str(PG_BIN / "createdb"), "-h", DB, "-U", "walkabout", "walkabout"], env=env)

    # --- the mail host: an SMTP peer writing every message it accepts to a Maildir ----------------

    def start_mail(self) -> None:
        self._start(
            "smtp",
            "mail",
            [
                "/usr/bin/python3",
                "-m",
                "aiosmtpd",
                "-n",
                "-l",
                f"{MAIL}:{SMTP_PORT}",
                "-c",
                "aiosmtpd.handlers.Mailbox",
                str(self.mail_dir),
            ],
        )

    # --- the app hosts: one release, its own instance folder per host -----------------------------

    def app_env(self, host: str) -> dict:
        instance = self.work / host
        instance.mkdir(exist_ok=True)
        return dict(
            os.environ,
            WALKABOUT_ENV="production",
            SECRET_KEY=self.secret,
            DATABASE_URL=DATABASE,
            WALKABOUT_INSTANCE_PATH=str(instance),
            WALKABOUT_PROXY_HOPS="1",
            WALKABOUT_BASE_URL=f"https://{PROXY}",
            WALKABOUT_MAIL_FROM="Walkabout <walkabout@cluster.walkabout.test>",
            WALKABOUT_MAIL_BACKEND="smtp",
            SMTP_HOST=MAIL,
            SMTP_PORT=str(SMTP_PORT),
            SMTP_SECURITY="none",
            WALKABOUT_REPORTS_RUNNER="scheduler",
        )

    def flask(self, host: str, *args: str) -> str:
        return self.run(host, [str(BIN / "flask"), "--app", "walkabout", *args], env=self.app_env(host))

    def start_app(self, host: str) -> None:
        command = [
            str(BIN / "gunicorn"),
            "-w",
            str(self.workers),
            "-b",
            f"{APPS[host]}:{APP_PORT}",
            "--log-level",
            "warning",
            # Load the app before opening the port: otherwise a restarted host accepts connections
            # its workers answer only once they have imported the app (20 s on a busy machine).
            "--preload",
            "walkabout:create_app()",
        ]
        self._start(f"gunicorn-{host}", host, command, self.app_env(host))

    def start_scheduler(self, host: str, name: str) -> float:
        """Start a scheduler process; returns when it was started (epoch seconds)."""
        command = [str(BIN / "flask"), "--app", "walkabout", "scheduler"]
        started = time.time()
        self._start(name, host, command, self.app_env(host))
        return started

    def kill_host(self, host: str) -> list[int]:
        """Power `host` off: cut its link first (so no FIN or RST leaves it: its peers find out by
        timeouts), then SIGKILL every process on it (gunicorn master, workers, scheduler)."""
        name = f"{PREFIX}-{host}"
        subprocess.run(["ip", "-n", name, "link", "set", "eth0", "down"], check=True)
        pids = [
            int(p)
            for p in subprocess.run(
                ["ip", "netns", "pids", name], capture_output=True, text=True
            ).stdout.split()
        ]
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        for process in self.processes.values():
            if process.pid in pids:
                process.wait(timeout=10)
        deadline = time.time() + 10
        while time.time() < deadline and any(Path(f"/proc/{pid}").exists() for pid in pids):
            time.sleep(0.05)
        return pids

    def revive_host(self, host: str) -> None:
        """Power `host` on again: a fresh namespace (a rebooted kernel) with the same address."""
        network("replug", host)

    # --- the proxy host: nginx with TLS in front of both app hosts --------------------------------

    def start_proxy(self) -> None:
        proxy = self.work / "proxy"
        proxy.mkdir()
        self.certificate = proxy / "proxy.crt"
        subprocess.run(
            [
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-subj",
                "/CN=walkabout-cluster",
                "-addext",
                f"subjectAltName=IP:{PROXY}",
                "-keyout",
                str(proxy / "proxy.key"),
                "-out",
                str(self.certificate),
            ],
            check=True,
            capture_output=True,
        )
        (proxy / "nginx.conf").write_text(nginx_conf(proxy))
        self._start("nginx", "proxy", ["nginx", "-p", str(proxy), "-c", str(proxy / "nginx.conf")])

    def stop(self, name: str, timeout: float = 30) -> None:
        process = self.processes.get(name)
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def close_logs(self) -> None:
        for log in self.logs:
            log.close()


def nginx_conf(proxy: Path) -> str:
    """Round robin over both app hosts with passive health checks; idempotent requests move on
    to the other host when one fails (nginx never resends a POST it has already passed on)."""
    headers = """
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $remote_addr;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Forwarded-Host $http_host;
            proxy_connect_timeout 1s;
            proxy_read_timeout 30s;  # gunicorn's worker timeout: no answer takes longer
            proxy_next_upstream error timeout http_503;
            proxy_next_upstream_tries 2;
            proxy_next_upstream_timeout 0;"""
    tls = f"""
        ssl_certificate {proxy}/proxy.crt;
        ssl_certificate_key {proxy}/proxy.key;"""
    pinned = "".join(
        f"""
    server {{
        listen {PROXY}:{port} ssl;{tls}
        location / {{
            proxy_pass http://{APPS[host]}:{APP_PORT};{headers}
        }}
    }}"""
        for host, port in PINNED_PORTS.items()
    )
    servers = "\n".join(
        f"        server {address}:{APP_PORT} max_fails=2 fail_timeout=5s;" for address in APPS.values()
    )
    temp = "".join(
        f"    {kind}_temp_path {proxy}/{kind}_temp;\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""daemon off;
worker_processes 1;
pid {proxy}/nginx.pid;
error_log {proxy}/error.log warn;
events {{ worker_connections 1024; }}
http {{
{temp}    log_format timing '$msec $request_time $status "$request_method $uri" '
                      'upstream=$upstream_addr upstream_status=$upstream_status';
    access_log {proxy}/access.log timing;
    client_max_body_size 12m;
    gzip on;
    gzip_types text/css application/javascript application/json text/calendar;
    upstream walkabout {{
{servers}
    }}
    server {{
        listen {PROXY}:{PUBLIC_PORT} ssl;{tls}
        location / {{
            proxy_pass http://walkabout;{headers}
        }}
    }}{pinned}
}}
"""
