"""The dashboard's figures are kept by the process between changes (issue 21): whatever another
client changes shows on the next dashboard at once, and so does what time alone changes."""

import re
import uuid
from datetime import UTC, datetime, timedelta

import time_machine
from sqlmodel import select

from walkabout.db import get_db, session_scope
from walkabout.db_types import utcnow
from walkabout.models import PulseStatement, Role, WalkaboutStatus, Ward

from .conftest import csrf_from, csrf_token, login
from .test_leader_pulse import ward_rows

TOKEN = "d" * 32
NOON = datetime(2026, 6, 10, 11, 0, tzinfo=UTC)  # noon in London


def figure(page: str, label: str) -> str:
    """The value of the dashboard's figure with `label`."""
    found = re.search(r'<span class="value">([^<]*)</span><span class="label">' + re.escape(label), page)
    assert found, label
    return found.group(1)


def dashboard(client) -> str:
    response = client.get("/dashboard")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def answer_the_pulse(app, phone) -> None:
    """A signed-out phone answers every active statement of the ward's pulse with Agree."""
    with session_scope(app) as session:
        ids = session.exec(select(PulseStatement.id).where(PulseStatement.active)).all()
    page = phone.get(f"/you-said-we-did/{TOKEN}").get_data(as_text=True)
    sent = phone.post(
        f"/you-said-we-did/{TOKEN}/pulse",
        data={**{f"statement-{ident}": "4" for ident in ids}, "csrf_token": csrf_from(page)},
    )
    assert sent.status_code == 303


def test_a_change_made_by_another_client_shows_on_the_dashboard_at_once(app, factory):
    board_member = factory.user(Role.EXECUTIVE, name="Dee Board")
    walker = factory.user(Role.EXECUTIVE, name="Lee Walker")
    ward = factory.ward(factory.site("Riverside"), "Beech Ward")
    with session_scope(app) as session:
        session.get(Ward, ward.id).public_token = TOKEN
    walkabout = factory.walkabout(ward, walker, status=WalkaboutStatus.IN_PROGRESS)
    board = app.test_client()
    login(board, board_member.email)
    first = dashboard(board)
    assert figure(first, "concerns raised") == "0"
    assert dashboard(board) == first  # nothing changed: the same figures

    # Another executive logs a concern on their phone.
    phone = app.test_client()
    login(phone, walker.email)
    capture = f"/walkabouts/{walkabout.id}/capture"
    logged = phone.post(
        f"/walkabouts/{walkabout.id}/concerns",
        data={
            "csrf_token": csrf_token(phone, capture),
            "text": "Hoist battery fails at night",
            "kind": "concern",
            "likelihood": "3",
            "consequence": "4",
            "idempotency_key": uuid.uuid4().hex,
        },
        headers={"HX-Request": "true"},
    )
    assert logged.status_code in (200, 201)
    assert figure(dashboard(board), "concerns raised") == "1"

    # Signed out, five of the ward's staff answer the pulse: the ward shows from the fifth.
    for number in range(1, 6):
        answer_the_pulse(app, app.test_client())
        staff, _leaders, _gap = ward_rows(dashboard(board))["Beech Ward, Riverside"]
        assert staff == ("100% (5)" if number == 5 else "fewer than 5"), number


def test_time_alone_brings_a_concern_into_no_action_after_seven_days(app, factory):
    with time_machine.travel(NOON, tick=False):  # an hour later is the same trust day
        executive = factory.user(Role.EXECUTIVE)
        ward = factory.ward(name="Beech Ward")
        walkabout = factory.walkabout(ward, executive, status=WalkaboutStatus.COMPLETED)
        raised = utcnow() - timedelta(days=7) + timedelta(minutes=30)
        factory.concern(walkabout, "Sluice door sticks", created_at=raised, updated_at=raised)
        client = app.test_client()
        login(client, executive.email)
        label = "concerns with no action after 7 days"
        assert figure(dashboard(client), label) == "0"
        kept = len(get_db(app).cache)
    with time_machine.travel(NOON + timedelta(hours=1), tick=False):  # no data changed
        assert figure(dashboard(client), label) == "1"
    assert len(get_db(app).cache) == kept  # made afresh in place, not kept beside the old copy
