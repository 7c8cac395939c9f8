"""The installable app's server side (issue 14): worker, manifest, which pages a phone may
keep, the sender's session answer, and a start recorded at the phone's time."""

import json
from datetime import timedelta

from sqlmodel import select

from walkabout.db import session_scope
from walkabout.db_types import utcnow
from walkabout.models import AuditEvent, Role, Walkabout, WalkaboutStatus

from .conftest import csrf_token, login, post_form

KEEP = "X-Walkabout-Offline"


def test_worker_and_manifest_are_served_to_anyone(client):
    worker = client.get("/sw.js")
    assert worker.status_code == 200 and worker.mimetype == "text/javascript"
    source = worker.get_data(as_text=True)
    assert (
        "__VERSION__" not in source and '"/offline"' in source and "/static/vendor/capture.min.js" in source
    )
    assert worker.headers["Cache-Control"] == "no-cache"
    manifest = json.loads(client.get("/manifest.webmanifest").get_data(as_text=True))
    assert manifest["display"] == "standalone" and manifest["start_url"] == "/"
    assert {"maskable", "any"} == {icon["purpose"] for icon in manifest["icons"]}
    for icon in manifest["icons"]:
        assert client.get(icon["src"]).status_code == 200
    offline = client.get("/offline")
    assert offline.status_code == 200 and "You are offline" in offline.get_data(as_text=True)


def test_the_offline_page_holds_nothing_personal(client, factory):
    executive = factory.user(Role.EXECUTIVE, name="Zed Private")
    login(client, executive.email)
    page = client.get("/offline").get_data(as_text=True)
    assert "Zed Private" not in page and "csrf" not in page.lower()


def test_session_answer_lists_only_this_users_pages_of_today(client, factory):
    executive = factory.user(Role.EXECUTIVE)
    ward = factory.ward()
    today = factory.walkabout(ward, executive, start=utcnow())
    live = factory.walkabout(ward, executive, status=WalkaboutStatus.IN_PROGRESS)
    tomorrow = factory.walkabout(ward, executive, start=utcnow() + timedelta(days=2))
    done = factory.walkabout(ward, executive, status=WalkaboutStatus.COMPLETED)
    others = factory.walkabout(ward, factory.user(Role.EXECUTIVE), status=WalkaboutStatus.IN_PROGRESS)
    assert client.get("/offline/session").status_code == 302  # signed out: the sender waits
    login(client, executive.email)
    answer = client.get("/offline/session").get_json()
    assert answer["user"] == executive.id and answer["csrf"]
    pages = answer["pages"]
    assert "/" in pages
    for kept in (today, live):
        assert {
            f"/walkabouts/{kept.id}/capture",
            f"/walkabouts/{kept.id}/readback",
            f"/walkabouts/{kept.id}",
        } <= set(pages)
    for left in (tomorrow, done, others):
        assert not [p for p in pages if p.startswith(f"/walkabouts/{left.id}")]


def test_only_pages_a_phone_may_keep_are_marked(app, client, factory):
    executive = factory.user(Role.EXECUTIVE)
    ward = factory.ward()
    live = factory.walkabout(ward, executive, status=WalkaboutStatus.IN_PROGRESS)
    done = factory.walkabout(ward, executive, status=WalkaboutStatus.COMPLETED)
    login(client, executive.email)
    for path in (
        f"/walkabouts/{live.id}/capture",
        f"/walkabouts/{live.id}/readback",
        f"/walkabouts/{live.id}",
        "/",
    ):
        response = client.get(path)
        assert response.headers.get(KEEP) == str(executive.id), path
        assert response.headers["Cache-Control"] == "no-store"  # the HTTP cache still keeps nothing
    assert KEEP not in client.get(f"/walkabouts/{done.id}/capture").headers
    assert KEEP not in client.get("/actions").headers
    outsider = app.test_client()
    login(outsider, factory.user(Role.EXECUTIVE).email)
    assert KEEP not in outsider.get(f"/walkabouts/{live.id}/capture").headers
    manager = app.test_client()
    login(manager, factory.user(Role.WARD_MANAGER).email)
    assert KEEP not in manager.get("/").headers


def test_a_start_made_with_no_signal_keeps_the_phones_time(app, client, factory):
    executive = factory.user(Role.EXECUTIVE)
    planned = factory.walkabout(factory.ward(), executive, start=utcnow())
    login(client, executive.email)
    pressed = (utcnow() - timedelta(minutes=12)).replace(microsecond=0)
    response = client.post(
        f"/walkabouts/{planned.id}/start",
        data={
            "started_at": pressed.isoformat().replace("+00:00", "Z"),
            "csrf_token": csrf_token(client, "/"),
        },
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 204
    with session_scope(app) as session:
        started = session.get(Walkabout, planned.id)
        assert started.status == WalkaboutStatus.IN_PROGRESS and started.started_at == pressed
        assert session.exec(select(AuditEvent).where(AuditEvent.verb == "started")).one().changes == {
            "offline": True
        }
    # sent twice (the answer was lost): still started once, at the phone's time
    again = client.post(
        f"/walkabouts/{planned.id}/start",
        data={"started_at": utcnow().isoformat(), "csrf_token": csrf_token(client, "/")},
        headers={"HX-Request": "true"},
    )
    assert again.status_code == 204
    with session_scope(app) as session:
        assert session.get(Walkabout, planned.id).started_at == pressed


def test_a_phone_start_time_in_the_future_is_now_and_bad_ones_are_refused(app, client, factory):
    executive = factory.user(Role.EXECUTIVE)
    ward = factory.ward()
    login(client, executive.email)
    fast = factory.walkabout(ward, executive, start=utcnow())
    before = utcnow()
    post_form(
        client,
        f"/walkabouts/{fast.id}/start",
        {"started_at": (utcnow() + timedelta(hours=3)).isoformat()},
        "/",
    )
    with session_scope(app) as session:
        assert before <= session.get(Walkabout, fast.id).started_at <= utcnow()
    for bad, message in (
        ("yesterday-ish", "is not a date and time"),
        ("\uff12\uff10\uff12\uff16-01-01T10:00Z", "is not a date and time"),  # full-width digits
        ("2026-01-0\u00b2T10:00Z", "is not a date and time"),
        ("2026-12-01T10:00:00", "has no time zone"),
        ((utcnow() - timedelta(days=3)).isoformat(), "more than a day before"),
    ):
        planned = factory.walkabout(ward, executive, start=utcnow())
        response = client.post(
            f"/walkabouts/{planned.id}/start",
            data={"started_at": bad, "csrf_token": csrf_token(client, "/")},
            headers={"HX-Request": "true"},
        )
        assert response.status_code == 400 and message in response.get_data(as_text=True), bad
        page = post_form(
            client, f"/walkabouts/{planned.id}/start", {"started_at": bad}, "/", follow_redirects=True
        )
        assert message in page.get_data(as_text=True)
        with session_scope(app) as session:
            assert session.get(Walkabout, planned.id).status == WalkaboutStatus.PLANNED


def test_a_completed_walkabout_answers_the_sender_with_the_reason(app, client, factory):
    executive = factory.user(Role.EXECUTIVE)
    done = factory.walkabout(factory.ward(), executive, status=WalkaboutStatus.COMPLETED)
    login(client, executive.email)
    response = client.post(
        f"/walkabouts/{done.id}/start",
        data={"csrf_token": csrf_token(client, "/")},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 409 and "completed" in response.get_data(as_text=True)


def test_an_expired_form_token_is_marked_for_the_sender(client, factory):
    executive = factory.user(Role.EXECUTIVE)
    live = factory.walkabout(factory.ward(), executive, status=WalkaboutStatus.IN_PROGRESS)
    login(client, executive.email)
    response = client.post(
        f"/walkabouts/{live.id}/concerns",
        data={"text": "x", "csrf_token": "stale"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 400 and response.headers["X-CSRF-Failed"] == "1"
