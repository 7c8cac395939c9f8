"""The cluster run's database work, run on an app host: `python -m bench.cluster_data COMMAND`.

    users N     the soak's users (bench.soak_data), plus a photo on each manager's concern
    state       what the schedulers still have to do: messages due, board packs not finished
    count       the soak's rows, the notification rows with their Message-IDs, board packs,
                sign-in throttle keys

Prints one JSON line. Like bench.soak_data, it runs as its own process so that the
orchestrator never holds a database connection (nor needs a route to the database host).
"""

import io
import json
import os
import sys
from collections import Counter

from .soak_data import count_rows, create_users


def _users(count: int) -> list[dict]:
    from PIL import Image
    from sqlmodel import select

    from walkabout import create_app
    from walkabout.db import session_scope
    from walkabout.models import Action, Concern, Photo
    from walkabout.services.photos import process_upload

    specs = create_users(dict(os.environ), count)
    raw = io.BytesIO()
    Image.new("RGB", (1200, 900), (40, 110, 160)).save(raw, "JPEG")
    photo = process_upload(raw.getvalue())
    app = create_app()
    with app.app_context(), session_scope(app) as session:
        for spec in specs:
            if "action_id" not in spec:
                continue
            concern = session.exec(
                select(Concern)
                .join(Action, Action.concern_id == Concern.id)
                .where(Action.id == spec["action_id"])
            ).one()
            row = Photo(concern_id=concern.id, **photo.fields)
            session.add(row)
            session.flush()
            spec["photo_id"], spec["walkabout_id"] = row.id, concern.walkabout_id
    return specs


def _state() -> dict:
    import sqlalchemy as sa
    from sqlmodel import select

    from walkabout import create_app
    from walkabout.db import session_scope
    from walkabout.db_types import utcnow
    from walkabout.models import BoardPack, BoardPackStatus, NotificationStatus, SentNotification

    app = create_app()
    with app.app_context(), session_scope(app, write=False) as session:
        due = session.exec(
            select(sa.func.count()).where(
                SentNotification.status == NotificationStatus.PENDING, SentNotification.due_at <= utcnow()
            )
        ).one()
        busy = session.exec(
            select(sa.func.count()).where(
                sa.or_(
                    BoardPack.status == BoardPackStatus.PENDING, BoardPack.status == BoardPackStatus.RUNNING
                )
            )
        ).one()
    return {"due": due, "packs_busy": busy}


def _count() -> dict:
    from sqlmodel import select

    from walkabout import create_app
    from walkabout.db import session_scope
    from walkabout.models import AuditEvent, BoardPack, LoginThrottle, SentNotification
    from walkabout.notify.compose import message_id

    result = count_rows(dict(os.environ))
    app = create_app()
    with app.app_context(), session_scope(app, write=False) as session:
        notes = session.exec(select(SentNotification)).all()
        packs = session.exec(select(BoardPack.id, BoardPack.month, BoardPack.version, BoardPack.status)).all()
        generated = Counter(
            session.exec(
                select(AuditEvent.entity_id).where(
                    AuditEvent.entity_type == BoardPack.__tablename__, AuditEvent.verb == "generated"
                )
            ).all()
        )
        throttles = session.exec(select(LoginThrottle.key, LoginThrottle.failures)).all()
    status = lambda value: str(getattr(value, "value", value))  # noqa: E731
    result["notifications"] = [
        {"id": n.id, "status": status(n.status), "message_id": message_id(n), "dedupe_key": n.dedupe_key}
        for n in notes
    ]
    result["packs"] = [
        {"id": i, "month": m, "version": v, "status": status(s), "generated": generated[i]}
        for i, m, v, s in packs
    ]
    result["throttle_keys"] = dict(throttles)
    return result


if __name__ == "__main__":
    command = sys.argv[1]
    if command == "users":
        print(json.dumps(_users(int(sys.argv[2]))))
    elif command == "state":
        print(json.dumps(_state()))
    else:
        print(json.dumps(_count()))
