"""The design system's stylesheet: built locally, no web fonts, gzipped, off the capture page's budget."""

import gzip

from walkabout.models import Role, WalkaboutStatus

from ..conftest import login


def test_stylesheet_has_no_font_faces_and_nothing_from_elsewhere(client):
    css = client.get("/static/vendor/walkabout.css").get_data(as_text=True)
    css += client.get("/static/vendor/walkabout-content.css").get_data(as_text=True)
    assert ".nhsuk-header" in css and ".nhsuk-button" in css and ".nhsuk-summary-list" in css
    assert "@font-face" not in css and "Frutiger" not in css
    assert "http://" not in css and "https://" not in css and "//assets.nhs.uk" not in css


def test_built_assets_go_out_gzipped_to_clients_that_accept_it(client):
    plain = client.get("/static/vendor/walkabout.css")
    zipped = client.get("/static/vendor/walkabout.css", headers={"Accept-Encoding": "gzip, br"})
    assert plain.headers.get("Content-Encoding") is None
    assert zipped.headers["Content-Encoding"] == "gzip" and "Accept-Encoding" in zipped.headers["Vary"]
    assert zipped.mimetype == "text/css" and gzip.decompress(zipped.data) == plain.data
    assert len(zipped.data) < 30_000


def test_the_capture_page_loads_only_the_core_stylesheet(client, factory):
    executive = factory.user(Role.EXECUTIVE)
    walkabout = factory.walkabout(factory.ward(), executive, status=WalkaboutStatus.IN_PROGRESS)
    login(client, executive.email)
    page = client.get(f"/walkabouts/{walkabout.id}/capture").get_data(as_text=True)
    assert "vendor/walkabout.css" in page and "walkabout-content.css" not in page
    assert "walkabout-content.css" in client.get("/").get_data(as_text=True)
