"""Staff voice, part 2 (issue 18): "Did this fix it?" on the public ward page: anonymous,
one answer per item per device (the last one stands), limited per ward link and address;
a Not yet tells the executive who verified the action and shows on the action's page."""

import html
import re

import pytest
from sqlmodel import func, select

from walkabout import rules
from walkabout.db import session_scope
from walkabout.models import (
    ActionStatus,
    Concern,
    FeedbackUpdate,
    FixAnswer,
    Role,
    SentNotification,
    WalkaboutStatus,
    Ward,
)
from walkabout.routes.feedback import DEVICE_COOKIE
from walkabout.scheduler import send_cycle
from walkabout.services import notification_kinds as kinds

from .conftest import csrf_from, login

TOKEN = "f" * 32
HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@pytest.fixture
def ward_page(app, factory):
    verifier = factory.user(Role.EXECUTIVE, name="Vera Verifier", email="vera@example.org")
    manager = factory.user(Role.WARD_MANAGER, name="Mo Manager")
    ward = factory.ward(name="Beech Ward", managers=(manager,))
    walkabout = factory.walkabout(ward, verifier, status=WalkaboutStatus.COMPLETED)
    hoist = factory.concern(walkabout, text="Hoist battery fails")
    waiting = factory.concern(walkabout, text="Sluice door sticks")
    action = factory.action(hoist, manager, description="New batteries", status=ActionStatus.VERIFIED)
    with session_scope(app) as session:
        session.get(type(action), action.id).verified_by_id = verifier.id
        session.add(
            FeedbackUpdate(concern_id=hoist.id, kind="final", text=f"We fitted new batteries {HOSTILE}")
        )
        session.get(Ward, ward.id).public_token = TOKEN
    return dict(verifier=verifier, ward=ward, hoist=hoist, waiting=waiting, action=action)


def public_path(token=TOKEN) -> str:
    return f"/you-said-we-did/{token}"


def answer(client, concern, value, token=TOKEN, address="10.0.0.1"):
    page = client.get(public_path(token))
    if page.status_code != 200:  # a page open from before the link was revoked, or a made-up link
        page = client.get("/login")
    csrf = csrf_from(page.get_data(as_text=True))
    return client.post(
        f"{public_path(token)}/items/{concern.id}/fixed",
        data={"answer": value, "csrf_token": csrf},
        environ_base={"REMOTE_ADDR": address},
    )


def answers(app) -> list[tuple[int, bool]]:
    with session_scope(app) as session:
        return sorted((a.concern_id, a.fixed) for a in session.exec(select(FixAnswer)).all())


def text_of(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def test_only_items_with_final_feedback_offer_the_question_and_the_page_escapes(app, ward_page):
    page = app.test_client().get(public_path()).get_data(as_text=True)
    assert page.count("Did this fix it?</legend>") == 1 and "<script>alert" not in page
    assert (
        f"/items/{ward_page['hoist'].id}/fixed" in page
        and f"/items/{ward_page['waiting'].id}/fixed" not in page
    )


def test_one_answer_per_device_the_last_one_stands_and_each_device_counts(app, ward_page):
    hoist = ward_page["hoist"]
    phone = app.test_client()
    first = answer(phone, hoist, "yes")
    assert first.status_code == 303 and first.headers["Location"].endswith(f"#item-{hoist.id}")
    cookie = first.headers["Set-Cookie"]
    assert (
        cookie.startswith(f"{DEVICE_COOKIE}=") and "HttpOnly" in cookie and "Path=/you-said-we-did/" in cookie
    )
    assert answer(phone, hoist, "yes").status_code == 303
    assert answers(app) == [(hoist.id, True)]
    assert "Your answer: Yes" in text_of(phone.get(public_path()).get_data(as_text=True))
    assert answer(phone, hoist, "not_yet").status_code == 303
    assert answers(app) == [(hoist.id, False)]
    assert "Your answer: Not yet" in text_of(phone.get(public_path()).get_data(as_text=True))
    other = app.test_client()
    assert answer(other, hoist, "yes").status_code == 303
    assert answers(app) == [(hoist.id, False), (hoist.id, True)]
    # Nothing to say who answered: no user, no address.
    assert {column.name for column in FixAnswer.__table__.columns} == {
        "id",
        "concern_id",
        "device",
        "fixed",
        "answered_at",
    }


def test_a_not_yet_tells_the_verifier_and_shows_on_the_action_with_the_count(app, ward_page):
    hoist, verifier, action = ward_page["hoist"], ward_page["verifier"], ward_page["action"]
    for _ in range(2):
        assert answer(app.test_client(), hoist, "not_yet").status_code == 303
    assert answer(app.test_client(), hoist, "yes").status_code == 303
    with session_scope(app) as session:
        notes = session.exec(
            select(SentNotification).where(SentNotification.kind == kinds.FIX_NOT_YET.key)
        ).all()
        assert [(n.recipient_id, n.subject_id) for n in notes] == [(verifier.id, action.id)]  # once a day
    send_cycle(app)
    client = app.test_client()
    login(client, verifier.email)
    inbox = text_of(client.get("/notifications").get_data(as_text=True))
    assert "Staff on Beech Ward say this is not fixed yet" in inbox
    page = text_of(client.get(f"/actions/{action.id}").get_data(as_text=True))
    assert "Staff say: not fixed yet" in page
    assert "2 answered Not yet and 1 answered Yes" in page and "Consider reopening this action." in page
    assert "Did this fix it? 1 Yes, 2 Not yet" in page  # on the timeline


def test_revoked_or_wrong_tokens_are_404_and_bad_values_400(app, ward_page):
    hoist, waiting = ward_page["hoist"], ward_page["waiting"]
    client = app.test_client()
    for value in ("", "maybe", "YES", "<b>", "\u00b2", "yes\x00"):
        response = answer(client, hoist, value)
        assert response.status_code == 400, value
        if "\x00" not in value:  # the app refuses NUL characters everywhere, with its own message
            assert "Answer Yes or Not yet." in text_of(response.get_data(as_text=True))
    assert answer(client, waiting, "yes").status_code == 404  # no final feedback
    assert answer(client, hoist, "yes", token="x" * 32).status_code == 404
    with session_scope(app) as session:
        other = session.exec(select(Concern).where(Concern.id != hoist.id)).first()
        session.get(Ward, ward_page["ward"].id).public_token = None
    assert answer(client, other, "yes", token="x" * 32).status_code == 404
    response = client.post(f"{public_path()}/items/{hoist.id}/fixed", data={"answer": "yes"})
    assert response.status_code in (400, 404)
    assert answers(app) == []


def test_a_burst_from_one_address_gets_a_429_page_and_other_addresses_still_answer(app, ward_page):
    hoist = ward_page["hoist"]
    for _ in range(rules.FIX_ANSWERS_PER_HOUR):
        assert answer(app.test_client(), hoist, "yes", address="10.9.9.9").status_code == 303
    refused = answer(app.test_client(), hoist, "yes", address="10.9.9.9")
    assert refused.status_code == 429
    assert "Too many answers from this network" in text_of(refused.get_data(as_text=True))
    assert answer(app.test_client(), hoist, "not_yet", address="10.1.1.1").status_code == 303
    with session_scope(app) as session:
        assert session.exec(select(func.count(FixAnswer.id))).one() == rules.FIX_ANSWERS_PER_HOUR + 1
