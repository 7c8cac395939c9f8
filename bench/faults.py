"""Scheduler fault: kill the scheduler (SIGKILL) while it sends, restart it, check each message went once.

    .venv/bin/python -m bench.faults [--db sqlite|postgres] [--messages 300] [--kill-after 0.2] [--kills 3]
                                    [--json PATH]

Seeds the demo trust, adds `--messages` new actions for the demo ward manager and
queues their "new action" email (due now, dedupe key new_action:<action>:<owner>).
Starts `flask --app walkabout scheduler` (mail goes to instance/outbox/ as .eml
files) and SIGKILLs it once another fraction (--kill-after) of the queued mail is
in the outbox, --kills times; then starts it again and waits until nothing is due. Then every .eml file is
read: each queued action's message must be there exactly once, and the outbox
must hold as many files as the database has rows marked sent.
(The worker-kill fault during web load is `bench.soak --kill-worker`.)
"""

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from email import policy
from email.parser import BytesParser
from pathlib import Path

from .common import BIN, ROOT, bench_env, prepare
from .soak_data import postgres_database

ACTION_LINK = re.compile(r"/actions/(\d+)\b")


def _child(env: dict, *args: str):
    output = subprocess.run(
        [str(BIN / "python"), "-m", "bench.faults", "--child", *args],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def _queue(count: int) -> list[int]:
    """New open actions owned by the demo ward manager, each with its email queued, due now."""
    from datetime import date, timedelta

    from sqlmodel import select

    from walkabout import create_app
    from walkabout.db import session_scope
    from walkabout.db_types import utcnow
    from walkabout.models import Action, ActionStatus, Concern, User
    from walkabout.services import notification_kinds as kinds
    from walkabout.services.notifications import enqueue, set_digest_choice

    app = create_app()
    ids = []
    with app.app_context(), session_scope(app) as session:
        manager = session.exec(select(User).where(User.email == "manager@example.org")).one()
        concern = session.exec(
            select(Concern).where(Concern.deleted_at.is_(None)).order_by(Concern.id)
        ).first()
        for i in range(count):
            action = Action(
                concern_id=concern.id,
                owner_id=manager.id,
                description=f"Fault test action {i}",
                due_date=date.today() + timedelta(days=30),
                status=ActionStatus.OPEN,
                priority="moderate",
                created_by_id=concern.created_by_id,
            )
            session.add(action)
            session.flush()
            enqueue(
                session,
                kind=kinds.NEW_ACTION,
                recipient_id=manager.id,
                due_at=utcnow(),
                dedupe_key=f"new_action:{action.id}:{manager.id}",
                subject_type="action",
                subject_id=action.id,
            )
            ids.append(action.id)
        # One email per new action. A manager owning 10 open actions gets them in the digest by
        # default; the choice is stored only when it differs from that default, so it is made
        # once the actions exist (whatever the demo manager owned before).
        set_digest_choice(session, manager, False)
    return ids


def _status() -> dict:
    """Rows per status, and how many are pending and due now."""
    import sqlalchemy as sa
    from sqlmodel import select

    from walkabout import create_app
    from walkabout.db import session_scope
    from walkabout.db_types import utcnow
    from walkabout.models import NotificationStatus, SentNotification

    app = create_app()
    with app.app_context(), session_scope(app, write=False) as session:
        rows = dict(
            session.exec(
                select(SentNotification.status, sa.func.count()).group_by(SentNotification.status)
            ).all()
        )
        due = session.exec(
            select(sa.func.count()).where(
                SentNotification.status == NotificationStatus.PENDING, SentNotification.due_at <= utcnow()
            )
        ).one()
        dupes = session.exec(
            select(sa.func.count()).select_from(
                select(SentNotification.dedupe_key)
                .group_by(SentNotification.dedupe_key)
                .having(sa.func.count() > 1)
                .subquery()
            )
        ).one()
    return {
        "rows": {str(k.value if hasattr(k, "value") else k): v for k, v in rows.items()},
        "due": due,
        "duplicate_keys": dupes,
    }


def scheduler(env: dict, log) -> subprocess.Popen:
    return subprocess.Popen(
        [str(BIN / "flask"), "--app", "walkabout", "scheduler"], env=env, cwd=ROOT, stdout=log, stderr=log
    )


def emails(outbox: Path) -> list[Path]:
    return sorted(outbox.glob("*.eml")) if outbox.is_dir() else []


def run(options) -> dict:
    instance = Path(tempfile.mkdtemp(prefix="walkabout-faults-"))
    outbox = instance / "outbox"
    with postgres_database(options.db) as url:
        env = bench_env(instance, url or f"sqlite:///{instance}/faults.db")
        prepare(env)
        queued = _child(env, "queue", str(options.messages))
        kills = []
        with open(instance / "scheduler.log", "ab") as log:
            for _number in range(1, options.kills + 1):  # kill it at evenly spread points of the sending
                threshold = len(emails(outbox)) + int(options.messages * options.kill_after)
                first = scheduler(env, log)
                deadline = time.time() + 120
                while len(emails(outbox)) < threshold and time.time() < deadline and first.poll() is None:
                    time.sleep(0.01)
                first.send_signal(signal.SIGKILL)
                first.wait()
                kills.append(len(emails(outbox)))
            at_kill = kills[0]
            after_kill = _child(env, "status")
            second = scheduler(env, log)
            try:
                deadline = time.time() + 300
                status = after_kill
                while time.time() < deadline:
                    time.sleep(1)
                    status = _child(env, "status")
                    if status["due"] == 0:
                        break
            finally:
                second.terminate()
                second.wait(timeout=30)
    links = Counter()
    for path in emails(outbox):
        message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
        if str(message["Subject"]).startswith("New action for you"):
            body = message.get_body(("plain",)).get_content()
            links.update({int(m) for m in ACTION_LINK.findall(body)})
    wanted = set(queued)
    sent_rows = status["rows"].get("sent", 0)
    result = {
        "db": options.db,
        "queued": len(queued),
        "in_outbox_at_kill": at_kill,
        "outbox_at_each_kill": kills,
        "pending_after_kill": after_kill["due"],
        "rows": status["rows"],
        "due_left": status["due"],
        "outbox_files": len(emails(outbox)),
        "sent_rows": sent_rows,
        "queued_sent_once": sum(1 for a in wanted if links[a] == 1),
        "queued_missing": sorted(a for a in wanted if links[a] == 0),
        "queued_duplicated": sorted(a for a in wanted if links[a] > 1),
        "duplicate_dedupe_keys": status["duplicate_keys"],
        "load_average": os.getloadavg()[0],
    }
    result["ok"] = (
        not result["queued_missing"]
        and not result["queued_duplicated"]
        and result["outbox_files"] == sent_rows
        and status["due"] == 0
        and not status["duplicate_keys"]
        and 0 < kills[-1] < len(queued)
    )
    return result


def print_report(r: dict) -> None:
    print(
        f"\nscheduler fault on {r['db']}: {r['queued']} new-action emails queued; scheduler started and "
        f"SIGKILLed {len(r['outbox_at_each_kill'])} times mid-send (outbox files at each kill: "
        f"{r['outbox_at_each_kill']}), {r['pending_after_kill']} messages still due; restarted"
    )
    print(
        f"after the restart: rows by status {r['rows']}, still due {r['due_left']}; outbox files "
        f"{r['outbox_files']} vs rows marked sent {r['sent_rows']}"
    )
    print(
        f"queued messages sent exactly once: {r['queued_sent_once']} of {r['queued']}; missing "
        f"{len(r['queued_missing'])}; sent twice or more {len(r['queued_duplicated'])} "
        f"{r['queued_duplicated'][:10]}; duplicate dedupe keys in the table {r['duplicate_dedupe_keys']}"
    )
    print("PASS: every due message sent once." if r["ok"] else "FAIL: see above.")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument(
        "--kill-after", type=float, default=0.2, help="fraction of the mail sent before each kill"
    )
    parser.add_argument("--kills", type=int, default=3, help="how many times the scheduler is killed")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if not options.child and options.kills * options.kill_after >= 0.9:
        parser.error("--kills x --kill-after must stay below 0.9: every kill must hit the scheduler mid-send")
    if options.child:
        command, *rest = options.child
        print(json.dumps(_queue(int(rest[0])) if command == "queue" else _status()))
        return
    result = run(options)
    print_report(result)
    if options.json:
        options.json.write_text(json.dumps(result, indent=1))
    sys.exit(0 if result["ok"] else 1)


if __name__ == "__main__":
    main()
