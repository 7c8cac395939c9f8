"""The header shows the trust, not the NHS: its name always, its logo once an administrator
uploaded one (Admin > Lists and settings > Trust settings; tests/test_trust_settings.py)."""

import io

from PIL import Image

from walkabout.db import session_scope
from walkabout.models import TrustBranding
from walkabout.services import branding


def test_header_shows_the_trust_name_and_no_logo_by_default(client):
    page = client.get("/login").get_data(as_text=True)
    assert '<span class="nhsuk-header__organisation-name">Riverside NHS Foundation Trust</span>' in page
    assert "nhsuk-header__logo" not in page and "<img" not in page.split("</header>")[0]
    assert client.get("/trust-logo").status_code == 404


def test_an_uploaded_logo_is_shown_and_served_signed_out(app, client):
    out = io.BytesIO()
    Image.new("RGB", (80, 40), (0, 94, 184)).save(out, "PNG")
    data, content_type, width, height = branding.process_logo(out.getvalue())
    with session_scope(app) as session:
        row = session.get(TrustBranding, 1)
        row.logo, row.logo_type, row.logo_width, row.logo_height = data, content_type, width, height
    header = client.get("/login").get_data(as_text=True).split("</header>")[0]
    assert '<img class="app-header__trust-logo" src="/trust-logo?v=2"' in header
    served = client.get("/trust-logo?v=2")
    assert served.status_code == 200 and served.mimetype == "image/png" and served.data == data
    assert "max-age=86400" in served.headers["Cache-Control"]
