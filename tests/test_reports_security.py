"""Rendering is locked down: user text is escaped, and WeasyPrint fetches nothing outside the app."""

import io

import pytest
from pypdf import PdfReader

from walkabout.db import session_scope
from walkabout.models import Ward
from walkabout.reports.pdf import BASE_URL, FetchRefused, LockedFetcher, render_pdf

from .conftest import login
from .report_data import seed_month

HOSTILE = (
    '<script>alert("x")</script><img src="file:///etc/passwd"> '
    '<style>@import url("file:///etc/passwd"); body { background: url(http://169.254.169.254/) }</style>'
    '<link rel="stylesheet" href="http://evil.example/x.css">'
)


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "FILE:///etc/passwd",
        "http://evil.example/x.png",
        "https://evil.example/x.png",
        "http://169.254.169.254/latest/meta-data/",
        "ftp://evil.example/x",
        f"{BASE_URL}static/../../../etc/passwd",
        f"{BASE_URL}static/%2e%2e/%2e%2e/etc/passwd",
        f"{BASE_URL}etc/passwd",
        f"{BASE_URL}static/css/missing.css",
        f"{BASE_URL}static/css/pdf.css?x=1",
        f"{BASE_URL}photos/1/thumb.jpg",  # a photo the document was not given
        "http://walkabout.invalid.evil.example/static/css/pdf.css",
        "http://user@walkabout.invalid/static/css/pdf.css",
    ],
)
def test_the_fetcher_refuses_anything_but_the_apps_own_files(app, url):
    fetcher = LockedFetcher(photo_loader=lambda ident: b"\xff\xd8 not reached", allowed_photo_ids={2})
    with pytest.raises(FetchRefused):
        fetcher.fetch(url)
    assert fetcher.refused


def test_the_fetcher_serves_static_files_listed_photos_and_inline_data(app):
    fetcher = LockedFetcher(photo_loader=lambda ident: b"JPEG" + bytes([ident]), allowed_photo_ids={7})
    css = fetcher.fetch(f"{BASE_URL}static/css/pdf.css")
    assert b"@page" in css.read() and css.content_type == "text/css"
    photo = fetcher.fetch(f"{BASE_URL}photos/7/thumb.jpg")
    assert photo.read() == b"JPEG\x07" and photo.content_type == "image/jpeg"
    assert fetcher.fetch("data:text/plain;base64,aGk=").read() == b"hi"
    assert fetcher.refused == []


def test_a_hostile_document_renders_without_fetching(app):
    fetcher = LockedFetcher()
    pdf = render_pdf(
        f"<html lang='en'><head><title>t</title></head><body><p>Hello</p>{HOSTILE}</body></html>", fetcher
    )
    assert pdf.startswith(b"%PDF-")
    assert {"file:///etc/passwd", "http://evil.example/x.css", "http://169.254.169.254/"} <= set(
        fetcher.refused
    )


def test_hostile_concern_text_is_printed_as_text(app, client, factory, monkeypatch):
    month = seed_month(factory)
    factory.concern(month.held, HOSTILE, 5, 5, created_at=month.held.scheduled_start)
    refused = []
    original = LockedFetcher._refuse

    def spy(self, url):
        refused.append(url)
        return original(self, url)

    monkeypatch.setattr(LockedFetcher, "_refuse", spy)
    login(client, month.executive.email)
    response = client.get(f"/walkabouts/{month.held.id}/summary.pdf")
    assert response.status_code == 200
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(response.data)).pages).split())
    assert '<script>alert("x")</script><img src="file:///etc/passwd">' in text
    assert "root:x:0:0" not in text
    assert refused == []  # escaped text asks for nothing, so nothing was even attempted


def test_a_hostile_name_in_the_page_header_is_printed_as_text(app, client, factory):
    """The header is CSS text (templates/pdf/_base.html): a name cannot end the string or the rule."""
    month = seed_month(factory)
    hostile = 'Beech "}; @page{} </style>\\ Ward'
    with session_scope(app) as session:
        session.get(Ward, month.held.ward_id).name = hostile
    login(client, month.executive.email)
    response = client.get(f"/walkabouts/{month.held.id}/summary.pdf")
    assert response.status_code == 200
    pages = PdfReader(io.BytesIO(response.data)).pages
    for page in pages:
        text = " ".join(page.extract_text().split())
        assert f"Walkabout follow-up · {hostile} ·" in text  # the header, as typed
