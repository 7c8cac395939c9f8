"""The perception gap (issue 18 part 4) and staff voice in reporting (issue 19 part 2):
executives answer the pulse statements at completion as they believe the ward's staff
would; the dashboard and the board pack show leaders' and staff's answers side by side,
suppressed below rules.PULSE_MIN_RESPONSES on either side, with priorities fixed and
staff-confirmed fixes."""

import html
import re
from datetime import timedelta
from io import BytesIO

import pytest
from pypdf import PdfReader
from sqlmodel import func, select

from walkabout import rules
from walkabout.db import session_scope
from walkabout.db_types import utcnow
from walkabout.models import (
    AuditEvent,
    LeaderPulseAnswer,
    PulseResponse,
    PulseStatement,
    Role,
    Walkabout,
    WalkaboutStatus,
)
from walkabout.services.pulse import quarter_of

from .conftest import login, post_form
from .report_data import local, seed_month
from .staff_voice_data import HOSTILE_STATEMENT, seed_staff_voice
from .test_board_pack_readable import render_pages
from .test_reports_pack import issue_pack

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def text_of(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def ward_rows(page: str) -> dict[str, list[str]]:
    """The dashboard's table of wards: {"ward, site": [staff, leaders, gap]}."""
    table = page[page.index('class="nhsuk-table ward-pulse"') :]
    table = table[: table.index("</table>")]
    rows = {}
    for name, cells in re.findall(r'<th scope="row">(.*?)<span.*?</th>(.*?)</tr>', table, re.S):
        rows[text_of(name).strip()] = [text_of(cell).strip() for cell in re.findall(r"<td>(.*?)</td>", cells)]
    return rows


def pdf_text(data: bytes) -> str:
    return re.sub(r"\s+", " ", " ".join(page.extract_text() for page in PdfReader(BytesIO(data)).pages))


@pytest.fixture
def lead(factory):
    return factory.user(Role.EXECUTIVE, name="Sarah Lead")


@pytest.fixture
def statements(app):
    with session_scope(app) as session:
        for statement in session.exec(select(PulseStatement)).all():
            statement.active = False
        first = PulseStatement(text=f"Leaders listen {HOSTILE}", sort_order=100)
        second = PulseStatement(text="I feel safe here", sort_order=101)
        session.add_all([first, second, PulseStatement(text="Retired", sort_order=102, active=False)])
        session.flush()
        return [first.id, second.id]


@pytest.fixture
def walkabout(factory, lead, statements):
    return factory.walkabout(factory.ward(name="Beech Ward"), lead, status=WalkaboutStatus.IN_PROGRESS)


def answers(statements, first="4", second="2") -> dict:
    return {f"statement-{statements[0]}": first, f"statement-{statements[1]}": second}


def complete(client, walkabout, **extra):
    return post_form(
        client,
        f"/walkabouts/{walkabout.id}/complete",
        {"feedback_given": "no", "version": str(walkabout.version), **extra},
        token_from=f"/walkabouts/{walkabout.id}/readback",
    )


def stored(app, walkabout=None) -> dict[int, int]:
    with session_scope(app) as session:
        query = select(LeaderPulseAnswer.statement_id, LeaderPulseAnswer.score)
        if walkabout is not None:
            query = query.where(LeaderPulseAnswer.walkabout_id == walkabout.id)
        return dict(session.exec(query).all())


def test_completion_prompts_for_the_leaders_view_and_stores_one_set(app, client, lead, walkabout, statements):
    login(client, lead.email)
    page = client.get(f"/walkabouts/{walkabout.id}/readback").get_data(as_text=True)
    assert "How would this ward's staff answer the pulse?" in text_of(page)
    assert "<script>alert" not in page and "Retired" not in page
    assert f"Leaders listen {HOSTILE}" in text_of(page)
    assert page.count('name="statement-') == 2 * len(rules.PULSE_SCALE)
    response = complete(client, walkabout, **answers(statements))
    assert response.status_code == 303
    assert stored(app, walkabout) == {statements[0]: 4, statements[1]: 2}
    with session_scope(app) as session:
        row = session.exec(select(LeaderPulseAnswer)).first()
        assert (
            row.user_id == lead.id
            and row.ward_id == walkabout.ward_id
            and re.fullmatch(r"\d{4}-Q\d", row.quarter)
        )
        verbs = session.exec(select(AuditEvent.verb).where(AuditEvent.entity_id == walkabout.id)).all()
        assert "leader_pulse_given" in verbs
    # Changeable afterwards on the read-back page, still one set (the last one stands).
    page = client.get(f"/walkabouts/{walkabout.id}/readback").get_data(as_text=True)
    assert "Your answers are saved" in page and "checked" in page
    again = post_form(
        client,
        f"/walkabouts/{walkabout.id}/leader-pulse",
        {**answers(statements, "5", "5"), "ward_id": str(walkabout.ward_id)},
        token_from=f"/walkabouts/{walkabout.id}/readback",
    )
    assert again.status_code == 303
    assert stored(app, walkabout) == {statements[0]: 5, statements[1]: 5}
    with session_scope(app) as session:
        assert session.exec(select(func.count(LeaderPulseAnswer.id))).one() == 2


def test_completion_without_answers_is_fine_and_a_partial_set_is_refused_and_kept(
    app, client, lead, walkabout, statements
):
    login(client, lead.email)
    partial = complete(client, walkabout, **{f"statement-{statements[0]}": "3"}, summary_notes="Kept words")
    assert partial.status_code == 400
    page = partial.get_data(as_text=True)
    assert "Choose an answer for every statement." in page and "Kept words" in page
    assert re.search(rf'id="leader-statement-{statements[0]}-3"[^>]* checked', page)
    with session_scope(app) as session:
        assert session.get(Walkabout, walkabout.id).status == WalkaboutStatus.IN_PROGRESS
    assert complete(client, walkabout).status_code == 303
    assert stored(app) == {}


@pytest.mark.parametrize("value", ["6", "0", "²", "-1", "4.0", "<b>4</b>", "9" * 40])
def test_off_scale_answers_are_refused_with_400(app, client, lead, walkabout, statements, value):
    login(client, lead.email)
    response = complete(client, walkabout, **answers(statements, first=value))
    assert response.status_code == 400
    assert "Choose one of the five answers" in response.get_data(as_text=True)
    assert stored(app) == {}


def test_an_unknown_or_retired_statement_is_refused(app, client, lead, walkabout, statements):
    login(client, lead.email)
    response = complete(client, walkabout, **answers(statements), **{"statement-999999": "4"})
    assert response.status_code == 400 and "not in this quarter" in response.get_data(as_text=True)


def test_leader_answers_refuse_the_wrong_walkabout_ward_team_state_and_quarter(
    app, client, factory, lead, walkabout, statements
):
    login(client, lead.email)
    path = f"/walkabouts/{walkabout.id}/leader-pulse"
    form = {**answers(statements), "ward_id": str(walkabout.ward_id)}
    token_from = f"/walkabouts/{walkabout.id}/readback"
    # Not completed yet: 409.
    assert post_form(client, path, form, token_from=token_from).status_code == 409
    assert complete(client, walkabout).status_code == 303
    # A walkabout that does not exist: 404.
    assert (
        post_form(client, "/walkabouts/999999/leader-pulse", form, token_from=token_from).status_code == 404
    )
    # A form for another ward: 409; a ward that is not a number: 400.
    other_ward = factory.ward(name="Cedar Ward")
    stale = post_form(client, path, {**form, "ward_id": str(other_ward.id)}, token_from=token_from)
    assert stale.status_code == 409 and "another ward" in stale.get_data(as_text=True)
    assert post_form(client, path, {**form, "ward_id": "x"}, token_from=token_from).status_code == 400
    # Another executive's walkabout (not on its team): 403; a ward manager: 403.
    stranger = app.test_client()
    login(stranger, factory.user(Role.EXECUTIVE, name="Nia Other").email)
    refused = post_form(stranger, path, form, token_from=token_from)
    assert refused.status_code == 403 and "not on this walkabout" in refused.get_data(as_text=True)
    manager = app.test_client()
    login(manager, factory.user(Role.WARD_MANAGER).email)
    assert post_form(manager, path, form, token_from="/").status_code == 403
    # A walkabout completed in an earlier quarter: its answers are settled (409).
    old = factory.walkabout(
        other_ward, lead, status=WalkaboutStatus.COMPLETED, completed_at=utcnow() - timedelta(days=120)
    )
    settled = post_form(
        client,
        f"/walkabouts/{old.id}/leader-pulse",
        {**form, "ward_id": str(other_ward.id)},
        token_from=f"/walkabouts/{old.id}/readback",
    )
    assert settled.status_code == 409 and "quarter" in settled.get_data(as_text=True)
    assert stored(app) == {}
    # A double submit: one set.
    for _ in range(2):
        assert post_form(client, path, form, token_from=token_from).status_code == 303
    with session_scope(app) as session:
        assert session.exec(select(func.count(LeaderPulseAnswer.id))).one() == 2


def test_the_dashboard_shows_leaders_beside_staff_suppressed_below_five(app, factory, client):
    month = seed_month(factory)
    voice = seed_staff_voice(app, factory, month)
    login(client, month.executive.email)
    first = month.first_day
    page = client.get(f"/dashboard?date_from={first.isoformat()}&date_to={first.replace(day=28).isoformat()}")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "<script>alert(1)" not in body and "&lt;script&gt;" in body
    text = text_of(body).replace(" ,", ",")
    assert "Staff voice" in text
    assert "1 of 2 staff's priorities fixed (50%)" in text
    assert "75% say Yes" in text and "3 Yes, 1 Not yet" in text
    # One row per ward: staff, leaders, the gap. Beech: staff 3 of 5 agree with the hostile
    # statement, 5 of 5 with the plain one (80% pooled); its five leaders all agree (100%).
    # Cedar: both sides fewer than 5, so no gap.
    wards = ward_rows(body)
    assert wards["Beech Ward, Riverside General Hospital"] == ["80% (5)", "100% (5)", "+20"]
    assert wards["Cedar Ward, Riverside General Hospital"] == ["fewer than 5", "fewer than 5", "n/a"]
    assert "Beech Ward, Riverside General Hospital 1 walkabout held" in text
    assert f"{HOSTILE_STATEMENT} 60% 100% +40" in text
    assert f"Leaders and staff, {voice.quarter}" in text


def test_the_board_pack_has_the_staff_voice_figures_and_their_definitions(app, factory):
    month = seed_month(factory)
    seed_staff_voice(app, factory, month)
    pack = issue_pack(app, month.key, month.secretary)
    sv = pack.figures["staff_voice"]
    assert sv["priorities"] == {"priorities": 2, "fixed": 1, "share": 50}
    assert sv["fixes"] == {"answers": 4, "yes": 3, "not_yet": 1, "share": 75}
    latest = sv["pulse"][-1]
    beech, cedar = latest["wards"]
    assert beech["staff"] == {
        "shown": True,
        "responses": 5,
        "answered": True,
        "agree_percent": 80,
        "statements": [60, 100],
    }
    assert beech["leaders"]["statements"] == [100, 100] and beech["walkabouts_held"] == 1
    assert cedar["staff"] == {
        "shown": False,
        "responses": None,
        "answered": True,
        "agree_percent": None,
        "statements": [None, None],
    }
    assert latest["trust"]["staff"]["responses"] == 5  # Cedar's three are not pooled
    text = pdf_text(pack.pdf)
    assert "Staff voice" in text and "Staff's priorities fixed 1 of 2" in text
    assert "3 Yes and 1 Not yet" in text
    assert "Beech Ward, Riverside General Hospital 80% (5) 100% (5)" in text
    # A ward with no result on either side gets no row, only its name under the table.
    assert "Cedar Ward, Riverside General Hospital fewer than 5" not in text
    assert "Fewer than 5 answers on each side, or none (1 ward" in text
    assert "Riverside General Hospital: Cedar Ward (1)." in text
    earlier = sv["pulse"][0]  # a quarter nobody answered says so, rather than "fewer than 5"
    assert earlier["trust"]["staff"]["answered"] is False
    assert f"{earlier['label']} no answers no answers" in text
    assert "<script>alert(1)</script> leaders act 60% 100% +40" in text  # text, never markup
    definitions = text[text.index("How these figures are counted") :]
    for term in (
        "Staff's priorities fixed",
        "Staff-confirmed fixes",
        "Ward pulse",
        "Leaders' view and the gap",
    ):
        assert term in definitions, term
    # Every page as a PNG in test-artifacts/pdf/ for people to look at (staff-voice-pack-*.png).
    assert render_pages(pack.pdf, "staff-voice-pack")


def test_a_pack_whose_wards_all_have_fewer_than_five_answers_names_them_and_shows_no_figures(app, factory):
    month = seed_month(factory)
    day = month.first_day.replace(day=12)
    with app.app_context(), session_scope(app) as session:
        statement = session.exec(select(PulseStatement).where(PulseStatement.active.is_(True))).first()
        for n in range(rules.PULSE_MIN_RESPONSES - 1):
            session.add(
                PulseResponse(
                    ward_id=month.other_ward.id,
                    statement_id=statement.id,
                    quarter=quarter_of(day),
                    device=f"few-device-{n:010d}xx",
                    score=5,
                    answered_at=local(day, 9 + n),
                )
            )
    pack = issue_pack(app, month.key, month.secretary)
    latest = pack.figures["staff_voice"]["pulse"][-1]
    assert not any(w["staff"]["shown"] or w["leaders"]["shown"] for w in latest["wards"])
    text = pdf_text(pack.pdf)
    assert "No ward has 5 answers on either side this quarter yet." in text
    assert "Fewer than 5 answers on each side, or none" in text
    assert "Riverside General Hospital: " in text and "Cedar Ward" in text
    assert "100% (" not in text  # no share of fewer than five devices anywhere
