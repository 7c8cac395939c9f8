"""The header shows the trust, not the NHS: its name always, its logo only when configured."""

from ..conftest import make_app


def test_header_shows_the_trust_name_and_no_logo_by_default(client):
    page = client.get("/login").get_data(as_text=True)
    assert '<span class="nhsuk-header__organisation-name">Riverside NHS Foundation Trust</span>' in page
    assert "nhsuk-header__logo" not in page and "<img" not in page.split("</header>")[0]
    assert client.get("/trust-logo").status_code == 404


def test_a_configured_trust_logo_is_shown_and_served(database_url, tmp_path):
    logo = tmp_path / "logo.svg"
    logo.write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" width="80" height="40"><rect width="80" height="40"/></svg>'
    )
    client = make_app(database_url, TRUST_LOGO=str(logo)).test_client()
    header = client.get("/login").get_data(as_text=True).split("</header>")[0]
    assert '<img class="app-header__trust-logo" src="/trust-logo"' in header
    served = client.get("/trust-logo")
    assert served.status_code == 200 and served.mimetype == "image/svg+xml" and b"<rect" in served.data


def test_a_logo_of_the_wrong_kind_or_missing_is_not_served(database_url, tmp_path):
    script = tmp_path / "logo.html"
    script.write_text("<script>alert(1)</script>")
    assert make_app(database_url, TRUST_LOGO=str(script)).test_client().get("/trust-logo").status_code == 404
    gone = tmp_path / "missing.png"
    missing = make_app(database_url, create_tables=False, TRUST_LOGO=str(gone))
    assert missing.test_client().get("/trust-logo").status_code == 404
