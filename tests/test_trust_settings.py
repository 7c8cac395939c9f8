"""Trust settings (issue 17): the name and logo (header, PDFs, emails) and the risk-matrix words."""

import io
import re
from datetime import timedelta

import pytest
from PIL import Image, PngImagePlugin
from pypdf import PdfReader
from sqlmodel import select

from walkabout.db import session_scope
from walkabout.db_types import utcnow
from walkabout.models import AuditEvent, Role, TrustBranding, WalkaboutStatus
from walkabout.scheduler import send_cycle

from .conftest import csrf_token, login, post_form
from .mailcheck import read_outbox, use_identity
from .test_reports_pack import pdf_text

SETTINGS = "/admin/trust"


def png(width=300, height=120, text_chunk: str | None = None, mode="RGBA") -> bytes:
    image = Image.new(mode, (width, height), (0, 94, 184, 255) if mode == "RGBA" else 128)
    info = PngImagePlugin.PngInfo()
    if text_chunk:
        info.add_text("Comment", text_chunk)
    out = io.BytesIO()
    image.save(out, "PNG", pnginfo=info)
    return out.getvalue()


def jpeg(width=400, height=200) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(out, "JPEG", quality=95, comment=b"secret")
    return out.getvalue()


@pytest.fixture
def admin_client(client, factory):
    login(client, factory.user(Role.ADMIN, name="Ada Admin").email)
    return client


def version(app) -> int:
    with session_scope(app, write=False) as session:
        return session.get(TrustBranding, 1).version


def upload(client, app, data: bytes, filename="logo.png", **extra):
    fields = {"csrf_token": csrf_token(client, SETTINGS), "version": str(version(app)), **extra}
    fields["logo"] = (io.BytesIO(data), filename)
    return client.post("/admin/trust/logo", data=fields, content_type="multipart/form-data")


def audit_verbs(app) -> list[str]:
    with session_scope(app, write=False) as session:
        return list(
            session.exec(
                select(AuditEvent.verb)
                .where(AuditEvent.entity_type == "trust_branding")
                .order_by(AuditEvent.id)
            )
        )


def test_the_name_shows_in_the_header_pdfs_and_emails(app, admin_client, factory):
    saved = post_form(
        admin_client,
        "/admin/trust/name",
        {"name": "Northgate NHS Trust", "version": "1"},
        token_from=SETTINGS,
    )
    assert saved.status_code == 303
    header = admin_client.get("/").get_data(as_text=True).split("</header>")[0]
    assert '<span class="nhsuk-header__organisation-name">Northgate NHS Trust</span>' in header
    executive = factory.user(Role.EXECUTIVE)
    walkabout = factory.walkabout(
        factory.ward(), executive, status=WalkaboutStatus.COMPLETED, completed_at=utcnow()
    )
    reader = app.test_client()
    login(reader, executive.email)
    pdf = reader.get(f"/walkabouts/{walkabout.id}/summary.pdf")
    assert pdf.status_code == 200 and "NORTHGATE NHS TRUST" in pdf_text(pdf.data).upper()
    use_identity(app)
    app.config["PASSWORD_RESET_MINUTES"] = 30
    post_form(app.test_client(), "/password-reset", {"email": executive.email}, token_from="/password-reset")
    send_cycle(app, utcnow() + timedelta(minutes=1))
    message = read_outbox(app)[-1]
    assert "Northgate NHS Trust" in message.get_body(preferencelist=("html",)).get_content()
    # Emptied, the installation's default (WALKABOUT_TRUST_NAME) is back.
    post_form(
        admin_client, "/admin/trust/name", {"name": "", "version": str(version(app))}, token_from=SETTINGS
    )
    assert "Riverside NHS Foundation Trust" in admin_client.get("/").get_data(as_text=True)
    assert audit_verbs(app) == ["renamed", "renamed"]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("Line\nbreak", "Keep the trust name on one line"),
        ("x" * 10_000, "Keep the trust&#39;s name under 120 characters (it has 10,000)."),
    ],
)
def test_a_bad_name_is_refused_and_nothing_changes(app, admin_client, name, message):
    response = post_form(
        admin_client, "/admin/trust/name", {"name": name, "version": "1"}, token_from=SETTINGS
    )
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert version(app) == 1 and audit_verbs(app) == []


def test_a_stale_settings_form_is_refused(app, admin_client):
    post_form(admin_client, "/admin/trust/name", {"name": "First", "version": "1"}, token_from=SETTINGS)
    stale = post_form(
        admin_client, "/admin/trust/name", {"name": "Second", "version": "1"}, token_from=SETTINGS
    )
    assert stale.status_code == 409
    assert "Someone changed the trust settings" in stale.get_data(as_text=True)
    assert 'value="First"' in stale.get_data(as_text=True)  # the latest is shown


def test_a_png_logo_is_re_encoded_and_shown_in_the_header_pdfs_and_emails(app, admin_client, factory):
    assert admin_client.get("/trust-logo").status_code == 404
    original = png(1200, 480, text_chunk="private note")
    response = upload(admin_client, app, original)
    assert response.status_code == 303
    served = admin_client.get("/trust-logo?v=2")
    assert served.status_code == 200 and served.mimetype == "image/png"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    image = Image.open(io.BytesIO(served.data))
    assert image.format == "PNG" and max(image.size) == 600  # resized, aspect kept
    assert image.size == (600, 240) and b"private note" not in served.data
    header = admin_client.get("/").get_data(as_text=True).split("</header>")[0]
    assert re.search(r'<img class="app-header__trust-logo" src="/trust-logo\?v=\d+"', header)
    # PDFs embed it (WeasyPrint fetches nothing but data: addresses).
    executive = factory.user(Role.EXECUTIVE)
    walkabout = factory.walkabout(
        factory.ward(), executive, status=WalkaboutStatus.COMPLETED, completed_at=utcnow()
    )
    reader = app.test_client()
    login(reader, executive.email)
    pdf = reader.get(f"/walkabouts/{walkabout.id}/summary.pdf")
    assert len(PdfReader(io.BytesIO(pdf.data)).pages[0].images) >= 1
    # Emails link it under the public address.
    use_identity(app)
    app.config["PASSWORD_RESET_MINUTES"] = 30
    post_form(app.test_client(), "/password-reset", {"email": executive.email}, token_from="/password-reset")
    send_cycle(app, utcnow() + timedelta(minutes=1))
    html = read_outbox(app)[-1].get_body(preferencelist=("html",)).get_content()
    assert re.search(r'<img src="https://walkabout\.riverside\.nhs\.uk/trust-logo\?v=\d+"', html)
    # Signed out, the logo is still served (emails and the sign-in page show it).
    assert app.test_client().get("/trust-logo").status_code == 200
    removed = post_form(
        admin_client, "/admin/trust/logo/remove", {"version": str(version(app))}, token_from=SETTINGS
    )
    assert removed.status_code == 303 and admin_client.get("/trust-logo").status_code == 404
    assert audit_verbs(app) == ["logo_uploaded", "logo_removed"]


def test_a_jpeg_logo_stays_jpeg_without_its_metadata(app, admin_client):
    assert upload(admin_client, app, jpeg(), "logo.jpg").status_code == 303
    served = admin_client.get("/trust-logo")
    assert served.mimetype == "image/jpeg" and b"secret" not in served.data
    assert Image.open(io.BytesIO(served.data)).size == (400, 200)


def huge_png() -> bytes:
    """40 megapixels of one colour: a small file that would be a large decode."""
    out = io.BytesIO()
    Image.new("1", (8000, 5000)).save(out, "PNG")
    return out.getvalue()


@pytest.mark.parametrize(
    ("data", "filename", "message"),
    [
        (
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
            "logo.svg",
            "not an image we can read",
        ),
        (b"%PDF-1.7 not an image", "logo.png", "not an image we can read"),
        (b"", "logo.png", "Choose a logo file (PNG or JPEG)."),
        (png()[:60], "logo.png", "damaged or incomplete"),
        (None, "logo.gif", "The logo must be a PNG or JPEG image"),
        ("huge", "logo.png", "8000 x 5000 pixels: too large"),
        (b"\x89PNG" + b"x" * (2 * 1024 * 1024 + 10), "logo.png", "larger than 2 MB"),
    ],
)
def test_logos_that_are_not_png_or_jpeg_or_too_large_are_refused(app, admin_client, data, filename, message):
    if data is None:
        out = io.BytesIO()
        Image.new("RGB", (20, 20)).save(out, "GIF")
        data = out.getvalue()
    elif data == "huge":
        data = huge_png()
    response = upload(admin_client, app, data, filename)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert admin_client.get("/trust-logo").status_code == 404 and audit_verbs(app) == []


def test_risk_words_reach_the_capture_form_and_bad_words_are_refused(app, admin_client, factory):
    page = admin_client.get(SETTINGS).get_data(as_text=True)
    assert 'value="Rare"' in page and 'value="Catastrophic"' in page  # the NHS 5x5 defaults
    words = {
        f"likelihood_{n}": w
        for n, w in enumerate(["Very rare", "Unlikely", "Possible", "Likely", "Certain"], 1)
    }
    words |= {f"consequence_{n}": w for n, w in enumerate(["None", "Low", "Medium", "Severe", "Death"], 1)}
    saved = post_form(
        admin_client, "/admin/trust/risk-labels", {**words, "version": "1"}, token_from=SETTINGS
    )
    assert saved.status_code == 303
    executive = factory.user(Role.EXECUTIVE)
    walkabout = factory.walkabout(factory.ward(), executive, status=WalkaboutStatus.IN_PROGRESS)
    capturer = app.test_client()
    login(capturer, executive.email)
    form = capturer.get(f"/walkabouts/{walkabout.id}/capture").get_data(as_text=True)
    assert "1 Very rare · 2 Unlikely · 3 Possible · 4 Likely · 5 Certain" in form
    assert "1 None · 2 Low · 3 Medium · 4 Severe · 5 Death" in form
    current = str(version(app))
    for bad, message in (
        ({"likelihood_2": ""}, "Likelihood 2: Write the word for each level."),
        ({"consequence_3": "Low"}, "Give each consequence level a different word."),
        ({"likelihood_1": "x" * 10_000}, "Keep the word for each level under 40 characters"),
        ({"likelihood_1": "Tab\tword"}, "on one line"),
    ):
        response = post_form(
            admin_client,
            "/admin/trust/risk-labels",
            {**words, **bad, "version": current},
            token_from=SETTINGS,
        )
        assert response.status_code == 400, bad
        assert message in response.get_data(as_text=True), bad
    stale = post_form(
        admin_client, "/admin/trust/risk-labels", {**words, "version": "1"}, token_from=SETTINGS
    )
    assert stale.status_code == 409
    with session_scope(app, write=False) as session:
        changes = (
            session.exec(select(AuditEvent).where(AuditEvent.verb == "risk_labels_changed")).one().changes
        )
    assert changes["likelihood 1"] == ["Rare", "Very rare"] and changes["consequence 5"] == [
        "Catastrophic",
        "Death",
    ]


def test_only_administrators_change_the_settings(app, factory):
    for role in (Role.EXECUTIVE, Role.WARD_MANAGER, Role.BOARD_SECRETARY):
        client = app.test_client()
        login(client, factory.user(role).email)
        assert client.get(SETTINGS).status_code == 403
        token = csrf_token(client, "/")
        assert (
            client.post(
                "/admin/trust/name", data={"name": "X", "version": "1", "csrf_token": token}
            ).status_code
            == 403
        )
    assert version(app) == 1
