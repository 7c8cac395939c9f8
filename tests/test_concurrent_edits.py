"""Concurrent edits never overwrite each other (the ORM's version check), on SQLite and PostgreSQL.

Two people send a change to the same record, opened at the same version, at the same moment:
exactly one wins; the other gets the 409 page with the latest shown and what they typed kept.
A missing or non-numeric version is a conflict on every edit form; a progress note never is.
"""

import threading
from contextlib import contextmanager, suppress
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event
from sqlmodel import select

from walkabout.db import get_db, session_scope
from walkabout.models import (
    Action,
    ActionUpdate,
    ActionUpdateKind,
    Concern,
    Role,
    Walkabout,
    WalkaboutStatus,
)
from walkabout.timeutil import local_today

from .conftest import csrf_token, login

LONDON = ZoneInfo("Europe/London")


@contextmanager
def both_read_before_either_writes(app, table: str):
    """Hold each thread's first UPDATE of `table` until both threads have reached theirs.

    On PostgreSQL both requests then read version 1 before either writes, the interleaving
    that lost updates (unless one waits on the other's row lock: then the first goes on).
    SQLite writers queue at BEGIN IMMEDIATE (the second reads after the first commits), so
    there is nothing to hold there.
    """
    database = get_db(app)
    if database.is_sqlite:
        yield
        return
    gate = threading.Barrier(2, timeout=3)
    held: set[int] = set()

    def hold(conn, cursor, statement, *args):
        if statement.startswith(f"UPDATE {table} ") and threading.get_ident() not in held:
            held.add(threading.get_ident())
            # Broken when the other request waits on a row lock this one holds (SELECT ... FOR UPDATE).
            with suppress(threading.BrokenBarrierError):
                gate.wait()

    event.listen(database.engine, "before_cursor_execute", hold)
    try:
        yield
    finally:
        event.remove(database.engine, "before_cursor_execute", hold)


def race(app, posts: list[tuple]) -> list:
    """Send each (client, path, data) from its own thread, released together by a barrier."""
    start = threading.Barrier(len(posts), timeout=10)
    responses: list = [None] * len(posts)
    errors: list[BaseException] = []

    def send(index, client, path, data):
        try:
            start.wait()
            responses[index] = client.post(path, data=data)
        except BaseException as error:  # reported below, never swallowed
            errors.append(error)

    threads = [threading.Thread(target=send, args=(i, *post)) for i, post in enumerate(posts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors, errors
    assert all(response is not None for response in responses), "a request did not finish"
    return responses


def signed_in(app, user, path: str):
    client = app.test_client()
    login(client, user.email)
    return client, csrf_token(client, path)


def winner_and_loser(responses):
    codes = sorted(response.status_code for response in responses)
    assert codes == [303, 409], f"expected exactly one winner and one 409, got {codes}"
    winner = 0 if responses[0].status_code == 303 else 1
    return winner, 1 - winner


@pytest.fixture
def people(factory):
    executive = factory.user(Role.EXECUTIVE, name="Erin Exec")
    other_executive = factory.user(Role.EXECUTIVE, name="Olu Exec")
    manager = factory.user(Role.WARD_MANAGER, name="Mo Manager")
    other_manager = factory.user(Role.WARD_MANAGER, name="Pat Manager")
    ward = factory.ward(factory.site("North Site"), "Beech Ward", managers=(manager, other_manager))
    return dict(
        executive=executive,
        other_executive=other_executive,
        manager=manager,
        other_manager=other_manager,
        ward=ward,
    )


@pytest.fixture
def action(app, factory, people):
    walkabout = factory.walkabout(people["ward"], people["executive"])
    concern = factory.concern(walkabout, text="Hoist sling frayed", likelihood=4, consequence=4)
    return factory.action(concern, people["manager"])


def test_two_managers_changing_one_due_date_at_once_one_wins(app, people, action):
    path = f"/actions/{action.id}"
    with app.app_context():
        today = local_today()
    typed = [
        ("Supplier late, says Mo", today + timedelta(days=10)),
        ("Parts on order, says Pat", today + timedelta(days=20)),
    ]
    posts = []
    for user, (reason, due) in zip((people["manager"], people["other_manager"]), typed, strict=True):
        client, token = signed_in(app, user, path)
        data = {"csrf_token": token, "due-due_date": due.isoformat(), "due-reason": reason}
        data["due-version"] = "1"
        posts.append((client, f"{path}/due-date", data))
    with both_read_before_either_writes(app, "action"):
        responses = race(app, posts)
    winner, loser = winner_and_loser(responses)
    body = responses[loser].get_data(as_text=True)
    assert "Someone else changed this action" in body
    assert typed[winner][0] in body  # the latest: the winner's change on the timeline
    assert f"{typed[loser][0]}</textarea>" in body  # what the loser typed is kept
    assert 'name="due-version" type="hidden" value="2"' in body
    with session_scope(app) as session:
        saved = session.get(Action, action.id)
        assert (saved.due_date, saved.version) == (typed[winner][1], 2)
        changes = session.exec(
            select(ActionUpdate).where(
                ActionUpdate.action_id == action.id, ActionUpdate.kind == ActionUpdateKind.DUE_DATE_CHANGE
            )
        ).all()
        assert [change.text for change in changes] == [typed[winner][0]]


def test_two_executives_rescheduling_one_walkabout_at_once_one_wins(app, factory, people):
    executive, ward = people["executive"], people["ward"]
    day = datetime.now(LONDON).date() + timedelta(days=5)
    walkabout = factory.walkabout(ward, executive, start=datetime.combine(day, time(14), tzinfo=LONDON))
    path = f"/walkabouts/{walkabout.id}/edit"
    typed = [("15:00", "Board meeting moved"), ("16:30", "Ward asked for later")]
    posts = []
    for user, (at, reason) in zip((executive, people["other_executive"]), typed, strict=True):
        client, token = signed_in(app, user, path)
        data = {
            "csrf_token": token,
            "ward_id": ward.id,
            "lead_id": executive.id,
            "day": day.isoformat(),
            "at": at,
            "duration_minutes": "60",
            "reason": reason,
            "version": "1",
            "confirm_clashes": "y",
        }
        posts.append((client, path, data))
    with both_read_before_either_writes(app, "walkabout"):
        responses = race(app, posts)
    winner, loser = winner_and_loser(responses)
    body = responses[loser].get_data(as_text=True)
    assert "changed by someone else" in body
    assert "Now: Beech Ward, North Site" in body and typed[winner][0] in body.split("Now:")[1]
    assert f"{typed[loser][1]}</textarea>" in body and f'value="{typed[loser][0]}"' in body
    assert 'name="version" type="hidden" value="2"' in body
    with session_scope(app) as session:
        saved = session.get(Walkabout, walkabout.id)
        assert saved.version == 2
        assert saved.scheduled_start.astimezone(LONDON).strftime("%H:%M") == typed[winner][0]


def test_two_executives_editing_one_concern_at_once_one_wins(app, factory, people):
    executive = people["executive"]
    walkabout = factory.walkabout(people["ward"], executive, status=WalkaboutStatus.IN_PROGRESS)
    factory.attend(walkabout, people["other_executive"])
    concern = factory.concern(walkabout, text="Original words")
    path = f"/walkabouts/{walkabout.id}/concerns/{concern.id}/edit"
    typed = ["Hoist sling frayed at the seam", "Hoist sling worn through"]
    posts = []
    for user, text in zip((executive, people["other_executive"]), typed, strict=True):
        client, token = signed_in(app, user, path)
        data = {
            "csrf_token": token,
            "text": text,
            "kind": "concern",
            "likelihood": "3",
            "consequence": "3",
            "version": "1",
        }
        posts.append((client, path, data))
    with both_read_before_either_writes(app, "concern"):
        responses = race(app, posts)
    winner, loser = winner_and_loser(responses)
    body = responses[loser].get_data(as_text=True)
    assert "Someone changed this item" in body
    assert f"{typed[winner]}</textarea>" in body  # the form now holds the latest
    assert f"What you had typed: <q>{typed[loser]}</q>" in body
    with session_scope(app) as session:
        saved = session.get(Concern, concern.id)
        assert (saved.text, saved.version) == (typed[winner], 2)


def test_two_progress_notes_at_once_both_are_kept(app, people, action):
    path = f"/actions/{action.id}"
    notes = ["Called estates", "Sling ordered"]
    posts = []
    for user, note in zip((people["manager"], people["other_manager"]), notes, strict=True):
        client, token = signed_in(app, user, path)
        posts.append((client, f"{path}/updates", {"csrf_token": token, "progress-text": note}))
    with both_read_before_either_writes(app, "action"):
        responses = race(app, posts)
    assert [response.status_code for response in responses] == [303, 303]
    with session_scope(app) as session:
        texts = session.exec(
            select(ActionUpdate.text).where(
                ActionUpdate.action_id == action.id, ActionUpdate.kind == ActionUpdateKind.COMMENT
            )
        ).all()
        assert sorted(texts) == sorted(notes)


BAD_VERSIONS = [None, "", "abc", "²", "\u0661", "99999999999999999999"]  # U+0661: Arabic-Indic 1


@pytest.mark.parametrize("version", BAD_VERSIONS)
def test_a_missing_or_non_numeric_version_is_a_conflict_on_every_edit_form(app, factory, people, version):
    executive, ward = people["executive"], people["ward"]
    planned = factory.walkabout(ward, executive)
    live = factory.walkabout(ward, executive, status=WalkaboutStatus.IN_PROGRESS)
    concern = factory.concern(live, text="Original words")
    done_concern = factory.concern(planned, text="Quiet at night")
    action = factory.action(concern, people["manager"])
    client = app.test_client()
    login(client, executive.email)
    day = (datetime.now(LONDON).date() + timedelta(days=9)).isoformat()
    due = (datetime.now(LONDON).date() + timedelta(days=30)).isoformat()
    forms = [
        (f"/actions/{action.id}/due-date", "due-version", {"due-due_date": due, "due-reason": "Late"}),
        (f"/actions/{action.id}/complete", "complete-version", {"complete-closure_note": "Done"}),
        (f"/concerns/{done_concern.id}/no-action", "noaction-version", {"noaction-reason": "Fine"}),
        (
            f"/walkabouts/{live.id}/concerns/{concern.id}/edit",
            "version",
            {"text": "New words", "kind": "concern"},
        ),
        (
            f"/walkabouts/{planned.id}/edit",
            "version",
            {
                "ward_id": ward.id,
                "lead_id": executive.id,
                "day": day,
                "at": "10:00",
                "duration_minutes": "60",
                "reason": "Moved",
                "confirm_clashes": "y",
            },
        ),
        (f"/walkabouts/{planned.id}/cancel", "version", {"reason": "Major incident"}),
        (
            f"/walkabouts/{live.id}/complete",
            "version",
            {"feedback_given": "no", "summary_notes": "Good visit"},
        ),
    ]
    token = csrf_token(client, f"/actions/{action.id}")
    for path, field, data in forms:
        data = {**data, "csrf_token": token}
        if version is not None:
            data[field] = version
        response = client.post(path, data=data)
        assert response.status_code == 409, (path, response.status_code)
    with session_scope(app) as session:
        for model, record in ((Action, action), (Concern, concern), (Concern, done_concern)):
            assert session.get(model, record.id).version == 1, model
        for record in (planned, live):
            assert session.get(Walkabout, record.id).version == 1


def test_a_progress_note_with_a_stale_or_missing_version_is_still_posted(app, people, action):
    path = f"/actions/{action.id}"
    client, token = signed_in(app, people["manager"], path)
    first = client.post(f"{path}/updates", data={"csrf_token": token, "progress-text": "Started"})
    second = client.post(
        f"{path}/updates", data={"csrf_token": token, "progress-text": "Still going", "progress-version": "1"}
    )
    assert (first.status_code, second.status_code) == (303, 303)
    body = client.get(path).get_data(as_text=True)
    assert "Started" in body and "Still going" in body
