from flask import Blueprint, abort, make_response
from flask_login import login_required
from sqlmodel import select

from ..auth import signed_in_user
from ..db import get_session
from ..models import Action, ActionUpdate, Concern, Photo, Walkabout
from ..services.access import visible_ward_ids

bp = Blueprint("photos", __name__, url_prefix="/photos")


def _ward_of(photo_id: int) -> int | None:
    """The ward a photo belongs to (through its concern, or its action's concern)."""
    session = get_session()
    by_concern = (
        select(Walkabout.ward_id)
        .join(Concern, Concern.walkabout_id == Walkabout.id)
        .join(Photo, Photo.concern_id == Concern.id)
        .where(Photo.id == photo_id, Photo.deleted_at.is_(None), Concern.deleted_at.is_(None))
    )
    by_action = (
        select(Walkabout.ward_id)
        .join(Concern, Concern.walkabout_id == Walkabout.id)
        .join(Action, Action.concern_id == Concern.id)
        .join(ActionUpdate, ActionUpdate.action_id == Action.id)
        .join(Photo, Photo.action_update_id == ActionUpdate.id)
        .where(Photo.id == photo_id, Photo.deleted_at.is_(None))
    )
    return session.exec(by_concern).first() or session.exec(by_action).first()


def _serve(photo_id: int, column):
    ward_id = _ward_of(photo_id)
    allowed = visible_ward_ids(get_session(), signed_in_user())
    if ward_id is None or (allowed is not None and ward_id not in allowed):
        abort(404)  # not "forbidden": do not reveal that the photo exists
    data = get_session().exec(select(column).where(Photo.id == photo_id)).one()
    response = make_response(data)
    response.headers["Content-Type"] = "image/jpeg"
    response.headers["Cache-Control"] = "private, no-store"  # phones are shared on a ward
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("/<int:photo_id>.jpg")
@login_required
def full(photo_id: int):
    return _serve(photo_id, Photo.data)


@bp.get("/<int:photo_id>/thumb.jpg")
@login_required
def thumbnail(photo_id: int):
    return _serve(photo_id, Photo.thumbnail)
