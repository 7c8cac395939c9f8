"""The capture screen over HTTP: logging, bad input kept in place, idempotency, edit, complete."""

import io
import re

import pytest
from PIL import Image
from sqlmodel import func, select

from walkabout.db import session_scope
from walkabout.db_types import utcnow
from walkabout.models import (
    Category,
    Concern,
    FeedbackDelivery,
    IdempotencyKey,
    Photo,
    PromptQuestion,
    Role,
    StaffRole,
    Walkabout,
    WalkaboutStatus,
)

from .conftest import csrf_token, login, post_form
from .photo_samples import jpeg_with_gps

HTMX = {"HX-Request": "true"}


@pytest.fixture
def lead(factory):
    return factory.user(Role.EXECUTIVE, name="Sarah Lead")


@pytest.fixture
def walkabout(factory, lead):
    return factory.walkabout(factory.ward(name="Beech Ward"), lead, status=WalkaboutStatus.IN_PROGRESS)


def capture_path(walkabout) -> str:
    return f"/walkabouts/{walkabout.id}/capture"


def log(client, walkabout, headers=None, **fields):
    data = {"text": "Hoist battery keeps failing", "kind": "concern"}
    data.update(fields)
    return post_form(
        client,
        f"/walkabouts/{walkabout.id}/concerns",
        data,
        token_from=capture_path(walkabout),
        headers=headers or {},
        content_type="multipart/form-data",
    )


def count(app, model=Concern) -> int:
    with session_scope(app) as session:
        return session.exec(select(func.count()).select_from(model)).one()


def test_start_marks_in_progress_and_opens_capture(app, client, factory, lead):
    planned = factory.walkabout(factory.ward(), lead)
    login(client, lead.email)
    response = post_form(client, f"/walkabouts/{planned.id}/start", {}, token_from="/")
    assert response.status_code == 303 and response.headers["Location"] == capture_path(planned)
    with session_scope(app) as session:
        assert session.get(Walkabout, planned.id).status == WalkaboutStatus.IN_PROGRESS


def test_start_is_refused_to_others(client, factory, lead):
    planned = factory.walkabout(factory.ward(), lead)
    login(client, factory.user(Role.EXECUTIVE).email)
    response = post_form(client, f"/walkabouts/{planned.id}/start", {}, token_from="/")
    assert response.status_code == 403 and "not on this walkabout" in response.get_data(as_text=True)
    manager_client = client.application.test_client()
    login(manager_client, factory.user(Role.WARD_MANAGER).email)
    assert post_form(manager_client, f"/walkabouts/{planned.id}/start", {}, token_from="/").status_code == 403
    assert post_form(manager_client, "/walkabouts/999999/start", {}, token_from="/").status_code == 403
    lead_client = client.application.test_client()
    login(lead_client, lead.email)
    assert post_form(lead_client, "/walkabouts/999999/start", {}, token_from="/").status_code == 404


def test_capture_page_shows_team_script_form_and_items_newest_first(client, factory, lead, walkabout):
    attendee = factory.user(Role.EXECUTIVE, name="Tom Attendee")
    factory.attend(walkabout, attendee)
    factory.concern(walkabout, text="First thing said")
    factory.concern(walkabout, text="Second thing said")
    login(client, lead.email)
    page = client.get(capture_path(walkabout)).get_data(as_text=True)
    assert "Beech Ward" in page and "Sarah Lead (lead)" in page and "Tom Attendee" in page
    assert "We are here to listen and learn" in page and "What could cause the next patient" in page
    assert "Let us read back what we heard" in page
    assert page.index("Second thing said") < page.index("First thing said")
    assert re.search(r"data-count>2<", page)
    assert 'id="capture-form"' in page and 'accept="image/*"' in page and "capture=" in page
    assert 'name="idempotency_key" type="hidden" value="' in page
    assert "<script>" not in page and ' style="' not in page and "onclick" not in page


def test_capture_page_queries_do_not_grow_with_items(client, factory, lead, walkabout, count_queries):
    login(client, lead.email)
    client.get(capture_path(walkabout))  # the form's fields and the script are kept from here on
    factory.concern(walkabout)
    with count_queries() as few:
        assert client.get(capture_path(walkabout)).status_code == 200
    for i in range(5):
        factory.concern(walkabout, text=f"Item {i}")
    with count_queries() as many:
        assert client.get(capture_path(walkabout)).status_code == 200
    with count_queries() as unchanged:  # nothing changed since: the session record alone
        assert client.get(capture_path(walkabout)).status_code == 200
    assert many() == few() == 5 and unchanged() == 1


def test_capture_page_shows_at_once_what_another_client_changed(app, client, factory, lead, walkabout):
    # The page is kept at the data version (services/versioned_cache): any change is seen at once.
    attendee = factory.user(Role.EXECUTIVE, name="Tom Attendee")
    factory.attend(walkabout, attendee)
    login(client, lead.email)
    other = app.test_client()
    login(other, attendee.email)
    assert "Nothing logged yet" in client.get(capture_path(walkabout)).get_data(as_text=True)
    assert log(other, walkabout, text="Bed rails sticking").status_code == 303
    page = client.get(capture_path(walkabout)).get_data(as_text=True)
    assert "Bed rails sticking" in page and re.search(r"data-count>1<", page)
    concern_id = int(re.search(r'id="concern-(\d+)"', page).group(1))
    deleted = post_form(
        other, f"/walkabouts/{walkabout.id}/concerns/{concern_id}/delete", {}, capture_path(walkabout)
    )
    assert deleted.status_code == 303
    assert "Bed rails sticking" not in client.get(capture_path(walkabout)).get_data(as_text=True)
    with session_scope(app) as session:  # the admin adds a category, a staff role and a question
        session.add(Category(name="Falls prevention", sort_order=99))
        session.add(StaffRole(name="Play specialist", sort_order=99))
        session.add(PromptQuestion(text="What would make today safer?", sort_order=99))
    page = client.get(capture_path(walkabout)).get_data(as_text=True)
    assert "Falls prevention" in page and 'value="Play specialist"' in page
    assert "What would make today safer?" in page


def test_plain_post_logs_and_redirects(app, client, lead, walkabout, factory):
    login(client, lead.email)
    response = log(
        client,
        walkabout,
        likelihood="4",
        consequence="4",
        category_id=str(factory.category_id()),
        raised_by_role="Staff nurse",
        immediate_action="Spare battery borrowed",
        ward_can_fix="y",
    )
    assert response.status_code == 303 and response.headers["Location"].startswith(capture_path(walkabout))
    with session_scope(app) as session:
        concern = session.exec(select(Concern)).one()
        assert (concern.risk_score, concern.raised_by_role, concern.ward_can_fix) == (16, "Staff nurse", True)
        assert concern.created_by_id == lead.id
    page = client.get(capture_path(walkabout)).get_data(as_text=True)
    assert "16 extreme" in page and "Saved" in page and "Spare battery borrowed" in page


def test_htmx_post_returns_the_item_fragment(client, lead, walkabout):
    login(client, lead.email)
    response = log(client, walkabout, headers=HTMX, kind="good_practice", text="Safety huddle every shift")
    assert response.status_code == 201
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith("<li") and "Good practice" in html and "Safety huddle" in html
    assert "<html" not in html and "Assign action" not in html


def test_same_idempotency_key_twice_makes_one_concern(app, client, lead, walkabout):
    login(client, lead.email)
    first = log(client, walkabout, headers=HTMX, idempotency_key="tap-tap-0001")
    second = log(client, walkabout, headers=HTMX, idempotency_key="tap-tap-0001")
    assert (first.status_code, second.status_code) == (201, 200)
    without_token = lambda r: re.sub(r'name="csrf_token" value="[^"]+"', "", r.get_data(as_text=True))  # noqa: E731
    assert without_token(first) == without_token(second)
    assert log(client, walkabout, idempotency_key="tap-tap-0001").status_code == 303
    assert count(app) == 1 and count(app, IdempotencyKey) == 1
    assert log(client, walkabout, idempotency_key="").status_code == 303  # a missing key is accepted
    assert count(app) == 2


def _bomb() -> bytes:
    out = io.BytesIO()
    Image.new("1", (20000, 20000)).save(out, "PNG")
    return out.getvalue()


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"text": ""}, "Write what was said."),
        ({"text": "   "}, "Write what was said."),
        ({"text": "y" * 5001}, "under 5,000 characters"),
        ({"likelihood": "0", "consequence": "3"}, "likelihood from 1 to 5"),
        ({"likelihood": "6", "consequence": "3"}, "likelihood from 1 to 5"),
        ({"likelihood": "3", "consequence": "9"}, "consequence from 1 to 5"),
        ({"likelihood": "high", "consequence": "3"}, "Choose a number from 1 to 5"),
        ({"likelihood": "3"}, "Choose a consequence too"),
        ({"category_id": "999999"}, "Choose a category from the list."),
        ({"category_id": "drop table"}, "Choose a category from the list."),
        ({"kind": "rumour"}, "Choose concern or good practice."),
        ({"photo": (b"just some text", "notes.jpg")}, "not a photo"),
        ({"photo": (b"MZ\x90\x00" + b"\x00" * 2000, "photo.jpg")}, "not a photo"),  # a renamed executable
        ({"photo": (_bomb(), "bomb.png")}, "not a photo"),  # a decompression bomb
    ],
)
def test_bad_input_is_explained_in_place_with_the_text_kept(app, client, lead, walkabout, fields, message):
    login(client, lead.email)
    fields = {"text": "Typed by the scribe <b>bold</b>", **fields}
    for htmx in (False, True):
        sent = dict(fields)
        if "photo" in sent:
            sent["photo"] = (io.BytesIO(fields["photo"][0]), fields["photo"][1])
        response = log(client, walkabout, headers=HTMX if htmx else None, **sent)
        assert response.status_code == 400
        html = response.get_data(as_text=True)
        assert message in html
        assert 'id="capture-form"' in html and ("<html" in html) != htmx
        typed = fields["text"].strip()
        if typed and len(typed) <= 5000:
            assert "Typed by the scribe &lt;b&gt;bold&lt;/b&gt;" in html
    assert count(app) == 0


def test_oversized_upload_gets_a_friendly_413(app, client, lead, walkabout):
    login(client, lead.email)
    app.config["MAX_CONTENT_LENGTH"] = 50_000
    response = log(client, walkabout, photo=(io.BytesIO(b"x" * 60_000), "huge.jpg"))
    assert response.status_code == 413 and "That file is too large" in response.get_data(as_text=True)
    assert count(app) == 0


@pytest.mark.parametrize(
    "status, message",
    [
        (WalkaboutStatus.COMPLETED, "This walkabout is completed"),
        (WalkaboutStatus.CANCELLED, "This walkabout was cancelled"),
        (WalkaboutStatus.PLANNED, "has not been started yet"),
    ],
)
def test_logging_into_a_closed_walkabout_is_refused_in_place(app, client, factory, lead, status, message):
    closed = factory.walkabout(factory.ward(), lead, status=status)
    login(client, lead.email)
    for headers in (None, HTMX):
        response = log(client, closed, headers=headers, text="Kept text")
        assert response.status_code == 409
        html = response.get_data(as_text=True)
        assert message in html and "Kept text" in html
    assert count(app) == 0


def test_logging_by_someone_not_on_the_team_is_refused_in_place(app, client, factory, walkabout):
    login(client, factory.user(Role.EXECUTIVE).email)
    page = client.get(capture_path(walkabout)).get_data(as_text=True)
    assert "not on this walkabout" in page and 'id="capture-form"' not in page
    response = log(client, walkabout, text="Outsider text")
    assert response.status_code == 403
    assert "not on this walkabout" in response.get_data(as_text=True)
    assert "Outsider text" in response.get_data(as_text=True)
    for role in (Role.WARD_MANAGER, Role.BOARD_SECRETARY):
        other = app.test_client()
        login(other, factory.user(role).email)
        token = csrf_token(other, "/")
        assert other.get(capture_path(walkabout)).status_code == 403
        assert (
            other.post(
                f"/walkabouts/{walkabout.id}/concerns", data={"text": "x", "csrf_token": token}
            ).status_code
            == 403
        )
    assert count(app) == 0


def test_signed_out_visitors_go_to_sign_in(client, walkabout):
    response = client.get(capture_path(walkabout))
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_photo_in_a_concern_shows_a_thumbnail_served_to_the_team(app, client, lead, walkabout):
    login(client, lead.email)
    response = log(
        client, walkabout, headers=HTMX, photo=(io.BytesIO(jpeg_with_gps(2400, 1800)), "IMG_1.jpg")
    )
    assert response.status_code == 201
    with session_scope(app) as session:
        photo = session.exec(select(Photo)).one()
        assert max(photo.width, photo.height) == 1600
    html = response.get_data(as_text=True)
    assert f"/photos/{photo.id}/thumb.jpg" in html
    thumb = client.get(f"/photos/{photo.id}/thumb.jpg")
    assert thumb.status_code == 200 and b"PhoneMaker" not in thumb.data


def test_edit_updates_and_a_stale_version_shows_the_latest(app, client, factory, lead, walkabout):
    concern = factory.concern(walkabout, text="Original words")
    login(client, lead.email)
    path = f"/walkabouts/{walkabout.id}/concerns/{concern.id}/edit"
    form_page = client.get(path).get_data(as_text=True)
    assert "Original words" in form_page and 'name="version" type="hidden" value="1"' in form_page
    response = post_form(
        client,
        path,
        {"text": "Corrected words", "kind": "concern", "likelihood": "2", "consequence": "2", "version": "1"},
    )
    assert response.status_code == 303
    stale = post_form(client, path, {"text": "My late change", "kind": "concern", "version": "1"})
    assert stale.status_code == 409
    html = stale.get_data(as_text=True)
    assert "Someone changed this item" in html and "Corrected words" in html and "My late change" in html
    bad = post_form(client, path, {"text": "", "kind": "concern", "version": "2"})
    assert bad.status_code == 400 and "Write what was said." in bad.get_data(as_text=True)
    with session_scope(app) as session:
        saved = session.get(Concern, concern.id)
        assert (saved.text, saved.risk_score, saved.version) == ("Corrected words", 4, 2)
    other_walkabout = factory.walkabout(factory.ward(), lead, status=WalkaboutStatus.IN_PROGRESS)
    assert client.get(f"/walkabouts/{other_walkabout.id}/concerns/{concern.id}/edit").status_code == 404


def test_delete_is_soft_and_can_be_undone(app, client, factory, lead, walkabout):
    concern = factory.concern(walkabout, text="Logged by mistake")
    login(client, lead.email)
    token = csrf_token(client, capture_path(walkabout))
    base = f"/walkabouts/{walkabout.id}/concerns/{concern.id}"
    response = client.post(f"{base}/delete", data={"csrf_token": token}, headers=HTMX)
    assert response.status_code == 200 and "Undo" in response.get_data(as_text=True)
    assert (
        "Logged by mistake"
        not in client.get(capture_path(walkabout)).get_data(as_text=True).split("data-count")[1]
    )
    restored = client.post(f"{base}/restore", data={"csrf_token": token}, headers=HTMX)
    assert restored.status_code == 200 and "Saved" in restored.get_data(as_text=True)
    plain = client.post(f"{base}/delete", data={"csrf_token": token})
    assert plain.status_code == 303 and f"undo={concern.id}" in plain.headers["Location"]
    page = client.get(plain.headers["Location"]).get_data(as_text=True)
    assert "Deleted &ldquo;Logged by mistake" in page and f"{base}/restore" in page
    with session_scope(app) as session:
        assert session.get(Concern, concern.id).deleted_at is not None


def test_readback_and_complete(app, client, factory, lead, walkabout):
    factory.concern(walkabout, text="Concern one")
    factory.concern(walkabout, text="Nice practice", kind="good_practice")
    login(client, lead.email)
    readback = f"/walkabouts/{walkabout.id}/readback"
    page = client.get(readback).get_data(as_text=True)
    assert "Concern one" in page and "Nice practice" in page and "Complete the walkabout" in page
    with session_scope(app) as session:
        role_ids = {role.name: role.id for role in session.exec(select(StaffRole))}
    nurse, assistant = f"staff_{role_ids['Staff nurse']}", f"staff_{role_ids['Healthcare assistant']}"
    missing = post_form(
        client,
        f"/walkabouts/{walkabout.id}/complete",
        {"summary_notes": "Kept summary", nurse: "x"},
        token_from=readback,
    )
    assert missing.status_code == 400
    html = missing.get_data(as_text=True)
    assert "Say whether feedback was given" in html and "Kept summary" in html
    done = post_form(
        client,
        f"/walkabouts/{walkabout.id}/complete",
        {
            "summary_notes": "Open conversation",
            nurse: "3",
            assistant: "1",
            "other_role": "Chaplain",
            "other_count": "1",
            "feedback_given": "yes",
            "version": str(walkabout.version),
        },
        token_from=readback,
    )
    assert done.status_code == 303
    with session_scope(app) as session:
        saved = session.get(Walkabout, walkabout.id)
        assert saved.status == WalkaboutStatus.COMPLETED
        assert session.exec(select(FeedbackDelivery).where(FeedbackDelivery.walkabout_id == saved.id)).one()
        assert saved.staff_participation == {"Staff nurse": 3, "Healthcare assistant": 1, "Chaplain": 1}
    page = client.get(capture_path(walkabout)).get_data(as_text=True)
    assert 'id="capture-form"' not in page and "completed" in page and "/edit" not in page
    assert log(client, walkabout, text="After the end").status_code == 409


def test_late_notes_by_executives_only_on_completed(app, client, factory, lead, walkabout):
    login(client, lead.email)
    readback = f"/walkabouts/{walkabout.id}/readback"
    early = post_form(
        client, f"/walkabouts/{walkabout.id}/late-notes", {"note": "Too early"}, token_from=readback
    )
    assert early.status_code == 409 and "still open" in early.get_data(as_text=True)
    done = factory.walkabout(factory.ward(), lead, status=WalkaboutStatus.COMPLETED, completed_at=utcnow())
    other = app.test_client()
    login(other, factory.user(Role.EXECUTIVE, name="Nia Note").email)
    path = f"/walkabouts/{done.id}/readback"
    response = post_form(
        other, f"/walkabouts/{done.id}/late-notes", {"note": "Door fixed next day"}, token_from=path
    )
    assert response.status_code == 303
    assert "Nia Note: Door fixed next day" in other.get(path).get_data(as_text=True)
    secretary = app.test_client()
    login(secretary, factory.user(Role.BOARD_SECRETARY).email)
    token = csrf_token(secretary, "/")
    assert (
        secretary.post(
            f"/walkabouts/{done.id}/late-notes", data={"note": "x", "csrf_token": token}
        ).status_code
        == 403
    )


def test_home_offers_start_continue_and_adhoc(app, client, factory, lead):
    today = utcnow()
    ward = factory.ward(name="Cedar Ward")
    planned = factory.walkabout(ward, lead, start=today)
    login(client, lead.email)
    page = client.get("/").get_data(as_text=True)
    assert f'action="/walkabouts/{planned.id}/start"' in page and "Start an ad-hoc walkabout" in page
    outsider = app.test_client()
    login(outsider, factory.user(Role.EXECUTIVE).email)
    assert f"/walkabouts/{planned.id}/start" not in outsider.get("/").get_data(as_text=True)
    post_form(client, f"/walkabouts/{planned.id}/start", {}, token_from="/")
    assert f'href="/walkabouts/{planned.id}/capture">Continue' in client.get("/").get_data(as_text=True)

    data = {"ward_id": str(ward.id), "idempotency_key": "adhoc-0000001"}
    first = post_form(client, "/walkabouts/adhoc", data, token_from="/")
    second = post_form(client, "/walkabouts/adhoc", data, token_from="/")
    assert first.status_code == 303 and first.headers["Location"] == second.headers["Location"]
    with session_scope(app) as session:
        assert len(session.exec(select(Walkabout).where(Walkabout.is_adhoc)).all()) == 1
    refused = post_form(client, "/walkabouts/adhoc", {"ward_id": "nope"}, token_from="/")
    assert refused.status_code == 303
    assert "Choose a ward" in client.get("/").get_data(as_text=True)
    manager = app.test_client()
    login(manager, factory.user(Role.WARD_MANAGER).email)
    assert "ad-hoc" not in manager.get("/").get_data(as_text=True)


def test_concurrent_double_submit_makes_one_concern(app, factory, lead, walkabout):
    import threading

    clients = [app.test_client(), app.test_client()]
    for one in clients:
        login(one, lead.email)
    tokens = [csrf_token(one, capture_path(walkabout)) for one in clients]
    barrier, statuses = threading.Barrier(2), []

    def submit(one, token):
        barrier.wait()
        response = one.post(
            f"/walkabouts/{walkabout.id}/concerns",
            headers=HTMX,
            data={
                "text": "Double tap",
                "kind": "concern",
                "idempotency_key": "same-key-0042",
                "csrf_token": token,
            },
        )
        statuses.append(response.status_code)

    threads = [threading.Thread(target=submit, args=pair) for pair in zip(clients, tokens, strict=False)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(statuses) == [200, 201]
    assert count(app) == 1
