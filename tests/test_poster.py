"""Staff voice, part 5 (issue 18): the ward's A4 poster with its page's QR code, the three
latest fixed items and the pulse invitation; an old poster's link says it was replaced."""

import html
import re
import subprocess
from io import BytesIO
from pathlib import Path

import pytest
from pypdf import PdfReader

from walkabout.db import session_scope
from walkabout.models import ConcernStatus, FeedbackUpdate, Role, WalkaboutStatus, Ward

from .conftest import login, post_form

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "poster"


@pytest.fixture
def ward(app, factory):
    executive = factory.user(Role.EXECUTIVE, name="Erin Exec")
    ward = factory.ward(name="Beech Ward")
    walkabout = factory.walkabout(ward, executive, status=WalkaboutStatus.COMPLETED)
    for number in range(1, 5):
        concern = factory.concern(
            walkabout, text=f"Fixed item {number} {HOSTILE}", status=ConcernStatus.RESOLVED
        )
        with session_scope(app) as session:
            session.add(FeedbackUpdate(concern_id=concern.id, kind="final", text=f"We mended item {number}"))
    factory.concern(walkabout, text="Still being looked at")
    with session_scope(app) as session:
        session.get(Ward, ward.id).public_token = "t" * 32
    client = app.test_client()
    login(client, executive.email)
    return dict(ward=ward, client=client)


def pdf_text(data: bytes) -> str:
    return re.sub(r"\s+", " ", " ".join(page.extract_text() for page in PdfReader(BytesIO(data)).pages))


def test_the_poster_is_one_a4_page_with_the_qr_code_three_fixed_items_and_the_pulse(app, ward):
    response = ward["client"].get(f"/wards/{ward['ward'].id}/feedback/poster.pdf")
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/pdf"
    reader = PdfReader(BytesIO(response.data))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)  # A4 in points
    text = pdf_text(response.data)
    assert "You said, we did: Beech Ward" in text and "/you-said-we-did/" + "t" * 32 in text
    assert text.count("Fixed item") == 3 and "Still being looked at" not in text
    assert "Fixed item 4" in text and "Fixed item 1" not in text  # the three latest
    assert "alert(1)" in text  # hostile text printed as text
    assert "answer the staff pulse" in text
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "poster.pdf").write_bytes(response.data)
    subprocess.run(
        [
            "pdftoppm",
            "-png",
            "-r",
            "60",
            "-singlefile",
            str(ARTIFACTS / "poster.pdf"),
            str(ARTIFACTS / "poster"),
        ],
        check=True,
    )
    assert (ARTIFACTS / "poster.png").stat().st_size > 5000


def test_a_replaced_or_revoked_link_says_so_and_the_poster_needs_a_shared_page(app, ward):
    client, ward_id = ward["client"], ward["ward"].id
    old = "/you-said-we-did/" + "t" * 32
    assert (
        post_form(
            client, f"/wards/{ward_id}/feedback/link", {}, token_from=f"/wards/{ward_id}/feedback"
        ).status_code
        == 303
    )
    replaced = app.test_client().get(old)
    assert replaced.status_code == 404
    assert "This link was replaced" in html.unescape(replaced.get_data(as_text=True))
    assert "This link was replaced" not in app.test_client().get("/you-said-we-did/" + "n" * 32).get_data(
        as_text=True
    )
    with session_scope(app) as session:
        token = session.get(Ward, ward_id).public_token
    assert (
        post_form(
            client, f"/wards/{ward_id}/feedback/link/revoke", {}, token_from=f"/wards/{ward_id}/feedback"
        ).status_code
        == 303
    )
    assert "This link was replaced" in html.unescape(
        app.test_client().get(f"/you-said-we-did/{token}").get_data(as_text=True)
    )
    refused = client.get(f"/wards/{ward_id}/feedback/poster.pdf")
    assert refused.status_code == 409 and "Share the ward's page first" in html.unescape(
        refused.get_data(as_text=True)
    )


def test_a_manager_of_another_ward_cannot_print_its_poster(app, factory, ward):
    client = app.test_client()
    login(client, factory.user(Role.WARD_MANAGER).email)
    assert client.get(f"/wards/{ward['ward'].id}/feedback/poster.pdf").status_code == 403
