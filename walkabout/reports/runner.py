"""Board pack generation, off the web worker.

`generate_board_pack(app, pack_id)` is the one reusable job: it claims a pending
pack (so two runners never build the same one), builds it and stores the PDF
and figures, or records why it failed. `REPORTS_RUNNER` chooses who runs it:
"thread" (embedded set-up: a daemon thread started after the request commits)
or "scheduler" (packs stay pending until the scheduler process, or
`flask --app walkabout reports build-pending`, calls `run_pending_board_packs`).
Production always uses "scheduler": config refuses "thread" there, and so does
`start_generation`, so a pack is never built in a web worker's thread.
"""

import logging
import threading
from datetime import date
from zoneinfo import ZoneInfo

from flask import Flask, current_app
from sqlalchemy import update
from sqlmodel import col, select

from ..config import REPORTS_RUNNERS as RUNNERS
from ..db import session_scope
from ..db_types import utcnow
from ..models import BoardPack, BoardPackStatus, User
from ..periods import Period, add_months
from ..services import audit
from . import boardpack

log = logging.getLogger(__name__)


def start_generation(pack_id: int, app: Flask | None = None) -> None:
    """Hand a committed pending pack to the configured runner."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    runner = app.config.get("REPORTS_RUNNER", "thread")
    if runner == "thread" and app.config.get("ENV") == "production":
        raise ValueError("REPORTS_RUNNER=thread is refused in production: the scheduler builds packs")
    if runner == "thread":
        threading.Thread(
            target=generate_board_pack, args=(app, pack_id), daemon=True, name=f"board-pack-{pack_id}"
        ).start()
    elif runner != "scheduler":
        raise ValueError(f"REPORTS_RUNNER must be one of {RUNNERS}, not {runner!r}")


def _claim(app: Flask, pack_id: int) -> bool:
    with session_scope(app) as session:
        claimed = session.execute(
            update(BoardPack)
            .where(col(BoardPack.id) == pack_id, col(BoardPack.status) == BoardPackStatus.PENDING)
            .values(status=BoardPackStatus.RUNNING)
        ).rowcount
    return bool(claimed)


def generate_board_pack(app: Flask, pack_id: int) -> BoardPackStatus | None:
    """Build and store pack `pack_id` if it is still pending; returns its final status."""
    with app.app_context():
        if not _claim(app, pack_id):
            return None
        try:
            with session_scope(app, write=False) as session:
                pack = session.get(BoardPack, pack_id)
                requester = session.get(User, pack.requested_by_id) if pack.requested_by_id else None
                year, month = (int(part) for part in pack.month.split("-"))
                start = date(year, month, 1)
                period = Period(start, add_months(start, 1), ZoneInfo(app.config["TIMEZONE"]))
                result = boardpack.build(session, period, pack.version, requester.name if requester else None)
        except Exception as error:  # the failure is stored and shown; the worker carries on
            log.exception("board pack %s failed", pack_id)
            _finish(app, pack_id, BoardPackStatus.FAILED, error=f"{type(error).__name__}: {error}"[:2000])
            return BoardPackStatus.FAILED
        _finish(app, pack_id, BoardPackStatus.READY, pdf=result.pdf, figures=result.figures)
        return BoardPackStatus.READY


def _finish(app: Flask, pack_id: int, status: BoardPackStatus, **values) -> None:
    with session_scope(app) as session:
        pack = session.get(BoardPack, pack_id)
        pack.status = status
        pack.completed_at = utcnow()
        for name, value in values.items():
            setattr(pack, name, value)
        audit.record(
            session,
            None,
            pack,
            "generated" if status == BoardPackStatus.READY else "failed",
            {"month": pack.month, "version": pack.version, "error": values.get("error")},
        )


def run_pending_board_packs(app: Flask) -> int:
    """Build every pending pack, oldest first (for the scheduler process); returns how many were built."""
    with app.app_context(), session_scope(app, write=False) as session:
        pending = session.exec(
            select(BoardPack.id).where(BoardPack.status == BoardPackStatus.PENDING).order_by(BoardPack.id)
        ).all()
    return sum(1 for pack_id in pending if generate_board_pack(app, pack_id) is not None)
