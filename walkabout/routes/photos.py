"""Photos of concerns and of action updates, for those who may see their ward."""

from flask import Blueprint, abort, make_response
from sqlmodel import select

from ..auth import signed_in, signed_in_user
from ..db import get_session
from ..models import Photo
from ..services.access import can_see_photo

bp = Blueprint("photos", __name__, url_prefix="/photos")


def _serve(photo_id: int, column):
    session = get_session()
    if not can_see_photo(session, signed_in_user(), photo_id):
        abort(404)  # not "forbidden": do not reveal that the photo exists
    data = session.exec(select(column).where(Photo.id == photo_id)).one()
    response = make_response(data)
    response.headers["Content-Type"] = "image/jpeg"
    response.headers["Cache-Control"] = "private, no-store"  # phones are shared on a ward
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("/<int:photo_id>.jpg")
@signed_in
def full(photo_id: int):
    return _serve(photo_id, Photo.data)


@bp.get("/<int:photo_id>/thumb.jpg")
@signed_in
def thumbnail(photo_id: int):
    return _serve(photo_id, Photo.thumbnail)
