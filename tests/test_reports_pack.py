"""The board pack and the follow-up summary: figures match the database, pages look right."""

import io
import shutil
import subprocess
from pathlib import Path

import pytest
from pypdf import PdfReader

from walkabout.db import session_scope
from walkabout.models import BoardPack, BoardPackStatus
from walkabout.periods import add_months, parse_month
from walkabout.reports import figures as figures_module
from walkabout.reports.runner import generate_board_pack, run_pending_board_packs
from walkabout.services import reports as service

from .conftest import login, trust_today
from .report_data import ZONE, board_pack_rows, seed_month

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "pdf"


def pdf_text(data: bytes) -> str:
    """The text of every page, whitespace collapsed (lines wrap anywhere)."""
    return " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages).split())


def page_one_png(data: bytes, name: str) -> Path:
    """Render page 1 to a PNG kept in test-artifacts/pdf/ for people to look at."""
    assert shutil.which("pdftoppm"), "pdftoppm is missing: run `make test`, which installs poppler-utils"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pdf = ARTIFACTS / f"{name}.pdf"
    pdf.write_bytes(data)
    subprocess.run(
        [
            "pdftoppm",
            "-png",
            "-r",
            "80",
            "-f",
            "1",
            "-l",
            "1",
            "-singlefile",
            str(pdf),
            str(ARTIFACTS / f"{name}-page1"),
        ],
        check=True,
        timeout=60,
    )
    png = ARTIFACTS / f"{name}-page1.png"
    assert png.stat().st_size > 10_000
    return png


def issue_pack(app, month_key: str, user) -> BoardPack:
    """Request a pack as `user` and build it with the same job the scheduler runs."""
    today = trust_today(app)
    with app.test_request_context(), session_scope(app) as session:
        period = parse_month(month_key, add_months(parse_month(month_key, today, ZONE).start, 1), ZONE)
        from walkabout.models import User

        pack, _created = service.request_board_pack(session, session.get(User, user.id), period)
        session.flush()
        pack_id = pack.id
    assert generate_board_pack(app, pack_id) == BoardPackStatus.READY
    with app.app_context(), session_scope(app, write=False) as session:
        return session.get(BoardPack, pack_id)


def test_board_pack_figures_match_the_database(app, factory):
    month = seed_month(factory)
    pack = issue_pack(app, month.key, month.secretary)
    figures = pack.figures
    for section, expected in month.expected.items():
        assert {k: figures[section][k] for k in expected} == expected, section
    assert [row["name"] for row in figures["concerns"]["by_category"]] == [
        "Environment",
        "Equipment",
        "Infection prevention",
    ]
    assert pack.pdf.startswith(b"%PDF-")
    text = pdf_text(pack.pdf)
    label = month.first_day.strftime("%B %Y")
    assert "Patient safety walkabouts" in text and label in text
    assert "Version 1, generated" in text and "by Priya Patel" in text
    assert "2 of 4" in text  # walkabouts held of those planned
    assert "50%" in text  # feedback delivered
    assert "5.0" in text and "median days to close (1 closed)" in text
    assert "Page 1 of" in text and "Generated " in text
    assert "Sluice room door lock is broken" in text  # an open extreme risk, and the top theme's example
    assert "Beech Ward, Riverside General Hospital" in text
    assert "Elm Ward" in text  # not visited in 90 days
    assert "Ward closed for an outbreak" in text  # the cancelled walkabout's paragraph
    assert "Median days to close" in text  # the definitions page
    reader = PdfReader(io.BytesIO(pack.pdf))
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)  # A4
    assert reader.metadata.title.startswith("Patient safety walkabouts: board report")
    assert "/StructTreeRoot" in reader.trailer["/Root"]  # tagged PDF (PDF/UA-1)
    page_one_png(pack.pdf, "board-pack")


def test_headline_uses_a_fixed_number_of_queries(app, factory, count_queries):
    month = seed_month(factory)
    with app.app_context(), session_scope(app, write=False) as session:
        period = parse_month(month.key, trust_today(app), ZONE)
        with count_queries() as counted:
            figures_module.headline(session, period)
        before = counted()
        for _ in range(3):
            factory.concern(month.held, "Another concern", 4, 4, created_at=month.held.scheduled_start)
        with count_queries() as counted:
            figures_module.headline(session, period)
        assert counted() == before <= 8


def test_an_empty_month_makes_a_short_valid_pack_that_says_so(app, factory):
    month = seed_month(factory)
    from .report_data import local

    # A walkabout a year earlier: the empty month lies between the first walkabout and now.
    factory.walkabout(month.ward, month.executive, start=local(add_months(month.first_day, -12)))
    empty = add_months(month.first_day, -6).strftime("%Y-%m")
    pack = issue_pack(app, empty, month.secretary)
    assert pack.figures["has_data"] is False
    text = pdf_text(pack.pdf)
    assert "No walkabout activity in" in text
    assert "no concerns or actions were recorded" in text
    assert len(PdfReader(io.BytesIO(pack.pdf)).pages) <= 3


def test_regenerating_keeps_every_version(app, factory, client):
    month = seed_month(factory)
    first = issue_pack(app, month.key, month.secretary)
    second = issue_pack(app, month.key, month.executive)
    assert [(m, v, s) for m, v, s, _ in board_pack_rows(app)] == [
        (month.key, 1, "ready"),
        (month.key, 2, "ready"),
    ]
    assert first.pdf != second.pdf
    login(client, month.secretary.email)
    latest = client.get(f"/reports/monthly/{month.key}.pdf")
    assert latest.status_code == 200 and latest.data == second.pdf
    assert client.get(f"/reports/monthly/{month.key}.pdf?version=1").data == first.pdf
    assert client.get(f"/reports/packs/{first.id}.pdf").data == first.pdf
    assert client.get(f"/reports/monthly/{month.key}.pdf?version=9").status_code == 404
    page = client.get("/reports").get_data(as_text=True)
    assert "version 1" in page and "version 2" in page and "Sarah Okafor" in page


def test_the_scheduler_runner_builds_pending_packs(app, factory):
    month = seed_month(factory)
    with app.test_request_context(), session_scope(app) as session:
        from walkabout.models import User

        service.request_board_pack(
            session, session.get(User, month.secretary.id), parse_month(month.key, trust_today(app), ZONE)
        )
    assert run_pending_board_packs(app) == 1
    assert run_pending_board_packs(app) == 0  # a pack is built once
    assert [s for _, _, s, _ in board_pack_rows(app)] == ["ready"]


def test_follow_up_summary_shows_the_visit(app, factory, client):
    month = seed_month(factory)
    from walkabout.models import ConcernKind

    factory.photo(factory.concern(month.held, "Broken commode", 2, 2, created_at=month.held.scheduled_start))
    login(client, month.manager.email)
    response = client.get(f"/walkabouts/{month.held.id}/summary.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = pdf_text(response.data)
    for expected in (
        "Walkabout follow-up: Beech Ward",
        "Riverside General Hospital",
        "Sarah Okafor",
        "Sluice room door lock is broken",
        "EXTREME 20",
        "Environment",
        "Safety huddle every morning",
        "Replace the sluice lock",
        "Owner Tom Bennett",
        "You said, we did",
        "Page 1 of",
    ):
        assert expected in text, expected
    reader = PdfReader(io.BytesIO(response.data))
    images = [image for page in reader.pages for image in page.images]
    assert images, "the photo thumbnail is embedded"
    assert ConcernKind.GOOD_PRACTICE
    page_one_png(response.data, "follow-up-summary")


@pytest.mark.parametrize("path", ["/reports/monthly/{key}.pdf", "/walkabouts/{held}/summary.pdf"])
def test_pdfs_are_attachments_never_cached(app, factory, client, path):
    month = seed_month(factory)
    if "monthly" in path:
        issue_pack(app, month.key, month.secretary)
    login(client, month.secretary.email)
    response = client.get(path.format(key=month.key, held=month.held.id))
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert "no-store" in response.headers["Cache-Control"]
