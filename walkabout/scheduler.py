"""The scheduler process (`flask --app walkabout scheduler`): plans and sends messages.

Run exactly one, beside the web workers and never inside them. Both jobs are
idempotent (every message has a dedupe key; sending locks each row), so a job
that runs twice, a restart, or a second scheduler started by mistake sends
nothing twice.
"""

import logging
from zoneinfo import ZoneInfo

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask

from .db import session_scope
from .db_types import utcnow
from .models import BoardPackStatus
from .notify.backends import get_backend
from .notify.dispatch import dispatch_due
from .reports.runner import generate_board_pack, run_pending_board_packs
from .services import notification_plans as plans
from .services.reports import scheduler_pack

log = logging.getLogger("walkabout.scheduler")

JOB_DEFAULTS = {
    "coalesce": True,  # after downtime, run a missed job once, not once per missed slot
    "max_instances": 1,  # never overlap a job with itself
    "misfire_grace_time": 3600,  # a run up to an hour late still happens
}


def send_cycle(app: Flask, now=None) -> dict:
    """Every minute: build requested board packs (REPORTS_RUNNER=scheduler), queue event
    messages and reminders, then send what is due."""
    now = now or utcnow()
    with app.app_context():
        if app.config.get("REPORTS_RUNNER") == "scheduler":
            run_pending_board_packs(app)
        with session_scope(app) as session:
            plans.plan_events(session, now)
            plans.plan_reminders(session, now)
        result = dispatch_due(app, get_backend(app), now)
    summary = {
        "sent": result.sent,
        "skipped": result.skipped,
        "retried": result.retried,
        "failed": result.failed,
    }
    log.info("send cycle at %s: %s", now.isoformat(timespec="seconds"), summary)
    return summary


def daily_cycle(app: Flask, now=None) -> None:
    """Every ten minutes: daily digests, weekly escalations and the monthly board pack, when due."""
    now = now or utcnow()
    zone = ZoneInfo(app.config["TIMEZONE"])
    with app.app_context():
        with session_scope(app) as session:
            plans.plan_digests(session, now, zone)
            plans.plan_escalations(session, now, zone)
        monthly_board_pack(app, now, zone)
    log.info("daily cycle at %s done", now.isoformat(timespec="seconds"))


def monthly_board_pack(app: Flask, now, zone: ZoneInfo) -> None:
    """From the 1st at 07:00: last month's pack built (the scheduler's own version),
    archived and queued to the board secretaries, once."""
    month = plans.previous_month(now, zone)
    if month is None:
        return
    with session_scope(app) as session:
        if plans.board_pack_queued(session, month):
            return
        pack = scheduler_pack(session, month)
        pack_id, ready = pack.id, pack.status == BoardPackStatus.READY
    if not ready and generate_board_pack(app, pack_id) != BoardPackStatus.READY:
        return
    with session_scope(app) as session:
        plans.plan_board_pack(session, month, now)


def _guarded(job, app: Flask) -> None:
    try:
        job(app)
    except Exception:  # logged; the scheduler keeps running and the next run catches up
        log.exception("scheduler job %s failed", job.__name__)


def build_scheduler(app: Flask, scheduler_class=BlockingScheduler):
    scheduler = scheduler_class(timezone=app.config["TIMEZONE"], job_defaults=JOB_DEFAULTS)
    start = utcnow()
    scheduler.add_job(
        _guarded,
        IntervalTrigger(minutes=1),
        args=[send_cycle, app],
        id="send",
        name="send messages",
        next_run_time=start,
    )
    scheduler.add_job(
        _guarded,
        IntervalTrigger(minutes=10),
        args=[daily_cycle, app],
        id="daily",
        name="daily digests and escalations",
        next_run_time=start,
    )
    return scheduler


def run(app: Flask, once: bool = False) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if once:
        _guarded(daily_cycle, app)
        _guarded(send_cycle, app)
        return
    log.info("scheduler started (time zone %s)", app.config["TIMEZONE"])
    build_scheduler(app).start()
