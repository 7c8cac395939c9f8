"""The photo pipeline, and photos served only to people who may see them."""

import io

import pytest
from PIL import Image

from walkabout.db import session_scope
from walkabout.models import Photo, Role
from walkabout.services.photos import MAX_SIDE, THUMB_SIDE, PhotoRejected, process_upload

from .conftest import login
from .photo_samples import jpeg_with_gps, png


def test_gps_and_exif_are_removed_orientation_applied_and_size_bounded():
    raw = jpeg_with_gps(3000, 2000, orientation=6)
    assert b"PhoneMaker" in raw
    photo = process_upload(raw)
    image = Image.open(io.BytesIO(photo.data))
    assert image.format == "JPEG"
    assert (image.width, image.height) == (photo.width, photo.height)
    assert max(image.size) == MAX_SIDE and image.height > image.width  # turned upright
    assert not image.getexif() and b"PhoneMaker" not in photo.data
    thumb = Image.open(io.BytesIO(photo.thumbnail))
    assert max(thumb.size) == THUMB_SIDE


def test_transparent_png_becomes_a_small_jpeg():
    photo = process_upload(png(40, 30))
    assert (photo.width, photo.height) == (40, 30)
    assert Image.open(io.BytesIO(photo.data)).mode == "RGB"


@pytest.mark.parametrize(
    "raw, message",
    [
        (b"", "empty"),
        (b"plain text, not an image", "not a photo"),
        (b"MZ\x90\x00" + b"\x00" * 500, "not a photo"),  # a Windows executable renamed .jpg
        (jpeg_with_gps(400, 300)[:600], "damaged"),
        (b"x" * (10 * 1024 * 1024 + 1), "larger than 10 MB"),
    ],
)
def test_bad_files_are_refused_with_a_reason(raw, message):
    with pytest.raises(PhotoRejected, match=message):
        process_upload(raw)


def test_decompression_bomb_is_refused_without_decoding():
    out = io.BytesIO()
    Image.new("1", (20000, 20000)).save(out, "PNG")  # 400 megapixels in a few kilobytes
    assert len(out.getvalue()) < 200_000
    with pytest.raises(PhotoRejected, match=r"too large in pixels|not a photo"):
        process_upload(out.getvalue())


def test_svg_with_a_script_is_refused():
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    with pytest.raises(PhotoRejected):
        process_upload(svg)


def test_photos_are_served_only_to_users_who_see_the_ward(app, factory):
    executive = factory.user(Role.EXECUTIVE)
    manager = factory.user(Role.WARD_MANAGER)
    stranger = factory.user(Role.WARD_MANAGER)
    ward = factory.ward(managers=(manager,))
    concern = factory.concern(factory.walkabout(ward, executive))
    processed = process_upload(jpeg_with_gps(800, 600))
    with session_scope(app) as session:
        photo = Photo(concern_id=concern.id, **processed.fields)
        session.add(photo)
        session.flush()
        photo_id = photo.id

    for user, expected in ((executive, 200), (manager, 200), (stranger, 404)):
        client = app.test_client()
        login(client, user.email)
        for path in (f"/photos/{photo_id}.jpg", f"/photos/{photo_id}/thumb.jpg"):
            response = client.get(path)
            assert response.status_code == expected, (user.email, path)
            if expected == 200:
                assert response.headers["Content-Type"] == "image/jpeg"
                assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert app.test_client().get(f"/photos/{photo_id}.jpg").status_code == 302  # signed out
    client = app.test_client()
    login(client, executive.email)
    assert client.get("/photos/999999.jpg").status_code == 404


def test_a_photo_of_a_deleted_concern_is_not_found(app, factory):
    """Deleting a concern hides its photos and its actions' evidence photos from everyone."""
    from walkabout.db_types import utcnow
    from walkabout.models import ActionUpdate, ActionUpdateKind, Concern

    executive = factory.user(Role.EXECUTIVE)
    manager = factory.user(Role.WARD_MANAGER)
    ward = factory.ward(managers=(manager,))
    concern = factory.concern(factory.walkabout(ward, executive))
    action = factory.action(concern, manager)
    processed = process_upload(jpeg_with_gps(800, 600))
    with session_scope(app) as session:
        update = ActionUpdate(action_id=action.id, author_id=manager.id, kind=ActionUpdateKind.COMMENT)
        session.add(update)
        session.flush()
        on_concern = Photo(concern_id=concern.id, **processed.fields)
        on_update = Photo(action_update_id=update.id, **processed.fields)
        session.add_all([on_concern, on_update])
        session.flush()
        photo_ids = (on_concern.id, on_update.id)
    client = app.test_client()
    login(client, executive.email)
    assert [client.get(f"/photos/{pid}.jpg").status_code for pid in photo_ids] == [200, 200]

    with session_scope(app) as session:
        session.get(Concern, concern.id).deleted_at = utcnow()
    for photo_id in photo_ids:
        for path in (f"/photos/{photo_id}.jpg", f"/photos/{photo_id}/thumb.jpg"):
            assert client.get(path).status_code == 404, path
