"""Staff voice, part 3 (issue 18): the ward pulse on the public ward page: the active
statements on a 5-point scale, once per device per quarter; results per ward and quarter
only from rules.PULSE_MIN_RESPONSES responses, on the public page and the ward's page."""

import html
import re

import pytest
from sqlmodel import func, select

from walkabout import rules
from walkabout.db import session_scope
from walkabout.models import PulseResponse, PulseStatement, Role, Ward

from .conftest import csrf_from, login

TOKEN = "q" * 32
HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@pytest.fixture
def ward(app, factory):
    ward = factory.ward(name="Beech Ward")
    with session_scope(app) as session:
        session.get(Ward, ward.id).public_token = TOKEN
        for statement in session.exec(select(PulseStatement)).all():
            statement.active = False
        session.add(PulseStatement(text=f"Leaders listen {HOSTILE}", sort_order=100))
        session.add(PulseStatement(text="I feel safe here", sort_order=101))
        session.add(PulseStatement(text="Retired statement", sort_order=102, active=False))
    return ward


def active_ids(app) -> list[int]:
    with session_scope(app) as session:
        return list(
            session.exec(
                select(PulseStatement.id).where(PulseStatement.active).order_by(PulseStatement.sort_order)
            ).all()
        )


def send(client, data, token=TOKEN, address="10.0.0.1"):
    page = client.get(f"/you-said-we-did/{token}")
    if page.status_code != 200 or "csrf_token" not in page.get_data(as_text=True):
        page = client.get("/login")  # answered already, or a made-up link: the session's token
    return client.post(
        f"/you-said-we-did/{token}/pulse",
        data={**data, "csrf_token": csrf_from(page.get_data(as_text=True))},
        environ_base={"REMOTE_ADDR": address},
    )


def rating(app, first=4, second=2) -> dict:
    a, b = active_ids(app)
    return {f"statement-{a}": str(first), f"statement-{b}": str(second)}


def text_of(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def stored(app) -> int:
    with session_scope(app) as session:
        return session.exec(select(func.count(PulseResponse.id))).one()


def test_the_pulse_offers_the_active_statements_escaped_on_a_five_point_scale(app, ward):
    page = app.test_client().get(f"/you-said-we-did/{TOKEN}").get_data(as_text=True)
    assert "<script>alert" not in page and "Retired statement" not in page
    text = text_of(page)
    assert f"Leaders listen {HOSTILE}" in text and "I feel safe here" in text
    assert page.count('type="radio"') == 2 * len(rules.PULSE_SCALE)
    assert "show once at least 5 people have answered" in text


def test_once_per_device_per_quarter_and_results_only_from_the_fifth_response(app, factory, ward):
    phones = [app.test_client() for _ in range(rules.PULSE_MIN_RESPONSES)]
    for number, phone in enumerate(phones[:-1]):
        assert send(phone, rating(app, first=5 if number % 2 else 4)).status_code == 303
    again = send(phones[0], rating(app))
    assert again.status_code == 409 and "already answered this quarter" in text_of(
        again.get_data(as_text=True)
    )
    assert stored(app) == 2 * (rules.PULSE_MIN_RESPONSES - 1)
    page = text_of(phones[0].get(f"/you-said-we-did/{TOKEN}").get_data(as_text=True))
    assert "this device has answered this quarter's pulse" in page and "show once at least 5" in page
    assert "responses" not in page

    assert send(phones[-1], rating(app, first=1)).status_code == 303
    page = text_of(app.test_client().get(f"/you-said-we-did/{TOKEN}").get_data(as_text=True))
    assert "5 responses" in page
    # First statement: 4, 5, 4, 5, 1 -> 80% agree, average 3.8; second: all 2 -> 0%, 2.0.
    assert f"Leaders listen {HOSTILE} 80% 3.8" in page and "I feel safe here 0% 2.0" in page
    executive = factory.user(Role.EXECUTIVE)
    client = app.test_client()
    login(client, executive.email)
    ward_page = client.get(f"/wards/{ward.id}/feedback").get_data(as_text=True)
    assert "<script>alert" not in ward_page and "80%" in text_of(ward_page)


@pytest.mark.parametrize(
    "change",
    [
        {"first": "0"},
        {"first": "6"},
        {"first": "\u00b2"},
        {"first": "4.5"},
        {"first": "<b>"},
        {"first": ""},
        {"drop": True},
        {"extra": "statement-999999"},
        {"extra": "statement-abc"},
    ],
)
def test_answers_off_the_scale_or_for_unknown_statements_are_400_and_store_nothing(app, ward, change):
    data = rating(app)
    first = next(iter(data))
    if "first" in change:
        data[first] = change["first"]
    if change.get("drop"):
        del data[first]
    if "extra" in change:
        data[change["extra"]] = "3"
    response = send(app.test_client(), data)
    assert response.status_code == 400
    assert stored(app) == 0


def test_revoked_or_wrong_tokens_are_404(app, ward):
    assert send(app.test_client(), rating(app), token="z" * 32).status_code == 404
    with session_scope(app) as session:
        session.get(Ward, ward.id).public_token = None
    assert send(app.test_client(), rating(app)).status_code == 404
    assert stored(app) == 0
