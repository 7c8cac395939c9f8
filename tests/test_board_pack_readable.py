"""The board pack as a board reads it (issue 19): keys in full, a greyscale-safe risk
palette, RAG status against administrator thresholds, a summary page first,
"provisional" on an unfinished month, tagged tables, and the fidelity figures."""

import io
import itertools
import re
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import pdfua
import pikepdf
from pypdf import PdfReader
from sqlmodel import select

from walkabout.db import session_scope
from walkabout.models import FeedbackDelivery, ReportThreshold, Role, StatusChange, WalkaboutStatus
from walkabout.periods import add_months, parse_month
from walkabout.reports import charts, fidelity
from walkabout.services import rag, status_history

from .conftest import login, post_form, trust_today
from .report_data import ZONE, local, seed_month
from .test_reports_pack import issue_pack

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts" / "pdf"


def page_texts(data: bytes) -> list[str]:
    return [" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(data)).pages]


def render_pages(data: bytes, name: str, gray: bool = False) -> list[Path]:
    """Every page as a PNG in test-artifacts/pdf/ (colour, or greyscale as a printer makes it)."""
    assert shutil.which("pdftoppm"), "pdftoppm is missing: install poppler-utils"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pdf = ARTIFACTS / f"{name}.pdf"
    pdf.write_bytes(data)
    prefix = ARTIFACTS / (name + ("-gray" if gray else ""))
    for old in ARTIFACTS.glob(prefix.name + "-*.png"):
        old.unlink()
    command = ["pdftoppm", "-png", "-r", "70", *(["-gray"] if gray else []), str(pdf), str(prefix)]
    subprocess.run(command, check=True, timeout=120)
    pages = sorted(ARTIFACTS.glob(prefix.name + "-*.png"))
    assert pages and all(page.stat().st_size > 5_000 for page in pages)
    return pages


def grey_level(colour: str) -> float:
    """The grey a printer makes of `colour` (sRGB relative luminance, gamma applied)."""
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 255 * (0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]) ** (1 / 2.2)


def test_chart_keys_are_printed_in_full_beside_each_chart(app, factory):
    month = seed_month(factory)
    pack = issue_pack(app, month.key, month.secretary)
    trends = next(text for text in page_texts(pack.pdf) if "Trends over the last twelve months" in text)
    for label in (
        "Planned",
        "Held",
        *[entry["label"] for entry in charts.legend("concerns")],
        "Opened",
        "Closed",
        "Overdue at month end",
    ):
        assert label in trends, label
    render_pages(pack.pdf, "readable-pack")
    render_pages(pack.pdf, "readable-pack", gray=True)


def test_risk_palette_survives_greyscale_and_matches_the_stylesheets():
    greys = {band: grey_level(colour) for band, (colour, _pattern) in charts.BAND_FILLS.items()}
    plain = [band for band, (_c, pattern) in charts.BAND_FILLS.items() if pattern is None]
    levels = sorted(greys[band] for band in plain)
    assert all(b - a >= 60 for a, b in itertools.pairwise(levels)), greys
    patterns = [pattern for _c, pattern in charts.BAND_FILLS.values() if pattern]
    assert len(set(patterns)) == len(patterns)  # each patterned band has its own pattern
    for sheet in ("static/css/pdf.css", "static/css/_app.scss"):
        css = (ROOT / sheet).read_text()
        for band, (colour, _pattern) in charts.BAND_FILLS.items():
            rule = re.search(rf"\.swatch-{band} {{([^}}]*)}}", css)
            assert rule and colour in rule.group(1), (sheet, band)
    svg = charts.categories_chart(
        [{"name": "Equipment", "low": 1, "moderate": 1, "high": 1, "extreme": 1, "total": 4}]
    )
    assert '<pattern id="band-moderate"' in svg and '<pattern id="band-high"' in svg
    assert "<script" not in svg


def test_the_summary_page_comes_first(app, factory):
    month = seed_month(factory)
    pack = issue_pack(app, month.key, month.secretary)
    first = page_texts(pack.pdf)[0]
    for expected in (
        "Summary",
        "Walkabouts held of those planned",
        "2 of 4",
        "Actions overdue at month end",
        "Top themes",
        "Environment",
        "Extreme risks still open",
        "Sluice room door lock is broken",
    ):
        assert expected in first, expected
    assert re.search(r"\b(GREEN|AMBER|RED)\b", first)
    assert "on last month" in first or "no figure last month" in first
    assert pack.figures["rag"]["held_share"] == "red"  # 50% held, below the default amber of 75%
    assert pack.figures["rag"]["overdue_actions"] == "green"  # 1 overdue, at most 5
    render_pages(pack.pdf, "summary-page")


def test_a_month_not_over_is_provisional_everywhere(app, factory, client, time_machine):
    month = seed_month(factory)
    time_machine.move_to(local(month.first_day + timedelta(days=20), 12), tick=False)
    pack = issue_pack(app, month.key, month.secretary)
    assert pack.figures["provisional"] is True
    assert PdfReader(io.BytesIO(pack.pdf)).metadata.title.endswith("(provisional)")
    texts = page_texts(pack.pdf)
    assert all("PROVISIONAL" in text for text in texts), "every footer says provisional"
    footer = re.compile(r"\d\d:\d\d · PROVISIONAL: ")
    assert all(footer.search(text) for text in texts), "the footer reads as a sentence"
    assert "is not over" in texts[0]
    render_pages(pack.pdf, "provisional-pack")
    login(client, month.secretary.email)
    page = client.get("/reports").get_data(as_text=True)
    assert "is not over." in page and "Generate a provisional pack" in page


def test_a_finished_month_is_not_provisional(app, factory):
    month = seed_month(factory)
    pack = issue_pack(app, month.key, month.secretary)
    assert pack.figures["provisional"] is False
    assert not any("PROVISIONAL" in text for text in page_texts(pack.pdf))


def test_a_month_before_the_first_walkabout_gets_a_clear_message(app, factory, client):
    month = seed_month(factory)
    login(client, month.secretary.email)
    early = add_months(month.first_day, -3).strftime("%Y-%m")
    response = post_form(client, f"/reports/monthly/{early}/packs", {}, token_from="/reports")
    assert response.status_code == 404
    assert "is before the first walkabout" in response.get_data(as_text=True)
    csv = client.get(f"/reports/monthly/{early}.csv")
    assert csv.status_code == 404 and "is before the first walkabout" in csv.get_data(as_text=True)


def test_pdf_structure_tables_figures_language_dates(app, factory):
    month = seed_month(factory)
    pack = issue_pack(app, month.key, month.secretary)
    pdf = pikepdf.open(io.BytesIO(pack.pdf))
    assert str(pdf.Root.Lang) == "en-GB"
    assert str(pdf.docinfo["/CreationDate"]).startswith("D:20")
    assert str(pdf.docinfo["/ModDate"]).startswith("D:20")
    roles: dict[str, int] = {}
    alts: list[str] = []

    def walk(node):
        if isinstance(node, pikepdf.Array):
            for item in node:
                walk(item)
        elif isinstance(node, pikepdf.Dictionary):
            role = node.get("/S")
            if role is not None:
                roles[str(role)] = roles.get(str(role), 0) + 1
                if str(role) == "/Figure":
                    alts.append(str(node.get("/Alt", "")))
            if node.get("/K") is not None:
                walk(node.K)

    walk(pdf.Root.StructTreeRoot.K)
    for role in ("/Table", "/TR", "/TH", "/TD", "/Caption", "/Figure", "/H1", "/H2"):
        assert roles.get(role), f"no {role} in the structure tree"
    assert roles["/Table"] >= 4  # summary, categories, overdue, fidelity, executives
    assert alts and all(len(alt) > 20 for alt in alts), alts
    content = b"".join(
        part.read_bytes()
        for page in pdf.pages
        for part in (page.Contents if isinstance(page.Contents, pikepdf.Array) else [page.Contents])
    )
    assert b"/Artifact" in content  # running headers and footers are artifacts
    path = ARTIFACTS / "structure.pdf"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pack.pdf)
    report = pdfua.validate(str(path))
    errors = [f for f in report.findings if f.severity >= pdfua.Severity.ERROR]
    assert not errors, [f.message for f in errors]


def test_administrator_sets_thresholds_and_bad_ones_are_refused(app, factory, client):
    month = seed_month(factory)
    admin = factory.user(Role.ADMIN)
    login(client, admin.email)
    page = client.get("/admin/report-thresholds")
    assert page.status_code == 200 and "Walkabouts held of those planned" in page.get_data(as_text=True)
    good = {
        f"{k}_{w}": str(v)
        for k, f in rag.FIGURES.items()
        for w, v in (("green", f.green), ("amber", f.amber))
    }

    def stored():
        with app.app_context(), session_scope(app, write=False) as session:
            return {(r.figure, r.green, r.amber) for r in session.exec(select(ReportThreshold)).all()}

    for field, value, message in (
        ("held_share_amber", "95", "amber threshold must be below the green one"),
        ("held_share_green", "150", "thresholds run from 0 to 100%"),
        ("overdue_actions_green", "20", "green threshold must be below the amber one"),
        ("coverage_share_green", "²", "whole numbers"),
        ("feedback_share_amber", "", "whole numbers"),
        ("feedback_share_amber", "-5", "whole numbers"),
    ):
        response = post_form(client, "/admin/report-thresholds", {**good, field: value})
        assert response.status_code == 400, (field, value)
        assert message in response.get_data(as_text=True), (field, value)
        assert stored() == set()
    response = post_form(
        client, "/admin/report-thresholds", {**good, "held_share_green": "50", "held_share_amber": "40"}
    )
    assert response.status_code == 303
    assert ("held_share", 50, 40) in stored()
    pack = issue_pack(app, month.key, month.secretary)
    assert pack.figures["rag"]["held_share"] == "green"  # 50% held now meets green
    text = " ".join(page_texts(pack.pdf))
    assert "Walkabouts held of those planned: green at 50% or more, amber at 40% or more" in text
    for role in (Role.EXECUTIVE, Role.BOARD_SECRETARY):
        other = factory.user(role)
        fresh = app.test_client()
        login(fresh, other.email)
        assert fresh.get("/admin/report-thresholds").status_code == 403


def test_fidelity_figures_match_what_happened(app, factory):
    month = seed_month(factory)
    day = month.first_day.replace(day=5)
    # Feedback was given on the day at the first held walkabout (seed_month's delivery); a second
    # delivery 3 days later does not move the first.
    with app.app_context(), session_scope(app) as session:
        session.add(
            FeedbackDelivery(
                ward_id=month.ward.id, walkabout_id=month.held.id, delivered_at=local(day + timedelta(days=3))
            )
        )
    evening = factory.walkabout(
        month.other_ward,
        month.executive,
        start=local(day + timedelta(days=1), 19),
        status=WalkaboutStatus.COMPLETED,
        started_at=local(day + timedelta(days=1), 19),
    )
    other_exec = factory.user(Role.EXECUTIVE, name="Grace Mensah")
    with app.app_context(), session_scope(app, write=False) as session:
        period = parse_month(month.key, trust_today(app), ZONE)
        feedback = fidelity.feedback_within(session, period)
        assert feedback == {"concerns": 3, "within": 2, "fed_back": 2, "share": 67, "median_days": 0.0}
        assert fidelity.reschedules(session, period) == {"rescheduled": 1, "held_within": 1}
        hours = fidelity.out_of_hours(session, period, (8, 18))
        starts = [(day, 10), (day + timedelta(days=3), 10), (day + timedelta(days=1), 19)]
        expected = sum(1 for d, hour in starts if d.weekday() >= 5 or not 8 <= hour < 18)
        assert hours == {"held": 3, "out_of_hours": expected, "share": round(100 * expected / 3)}
        shares = fidelity.executive_shares(session, period)
        assert {row["name"]: row["held"] for row in shares["executives"]} == {
            "Sarah Okafor": 3,
            "Grace Mensah": 0,
        }
        assert shares["even_share"] == 1.5
        # Concerns of the month with no action within 7 days: none (each got one on the day).
        assert fidelity.no_action_after(session, period)["without_action"] == 0
    assert evening.id and other_exec.id


def test_open_risks_at_month_end_follow_the_status_history(app, factory, time_machine):
    """A risk open at the end of one month and closed in the next is counted in the first only."""
    from walkabout.models import Action, Concern, ConcernStatus, User
    from walkabout.services import actions as action_service

    month = seed_month(factory)
    first = add_months(month.first_day, -3)
    second = add_months(month.first_day, -2)
    time_machine.move_to(local(first.replace(day=20), 10), tick=False)
    old_visit = factory.walkabout(
        month.ward, month.executive, start=local(first.replace(day=20), 9), status=WalkaboutStatus.COMPLETED
    )
    risk = factory.categorised_concern(old_visit, "Environment", "Fire door propped open on the ward", 5, 5)
    # Resolved without a trace (no history, no audit): known only from its last update on.
    untraced = factory.categorised_concern(
        old_visit, "Equipment", "Resuscitation trolley check missed", 4, 4, status=ConcernStatus.RESOLVED
    )
    with app.test_request_context(), session_scope(app) as session:
        action_service.create_action(
            session,
            session.get(User, month.executive.id),
            session.get(Concern, risk.id),
            description="Fit a magnetic door holder",
            owner_id=month.manager.id,
            due_date=first.replace(day=27),
            today=first.replace(day=20),
        )
    time_machine.move_to(local(second.replace(day=3), 10), tick=False)
    factory.walkabout(month.ward, month.executive, start=local(second.replace(day=10)))  # a month with data
    with app.test_request_context(), session_scope(app) as session:
        action = session.exec(select(Action).where(Action.concern_id == risk.id)).one()
        manager, executive = session.get(User, month.manager.id), session.get(User, month.executive.id)
        action_service.complete(session, manager, action, "Holder fitted and tested", action.version)
        action_service.verify(session, executive, action, "Seen on the ward", action.version)
        session.get(Concern, untraced.id).updated_at = local(second.replace(day=3), 11)
    time_machine.move_to(local(month.first_day.replace(day=2), 10), tick=False)
    with app.app_context(), session_scope(app, write=False) as session:
        changes = session.exec(
            select(StatusChange.to_status).where(
                StatusChange.entity_type == "concern", StatusChange.entity_id == risk.id
            )
        ).all()
    assert changes == ["resolved"]  # written by the service when its action was verified

    first_pack = issue_pack(app, first.strftime("%Y-%m"), month.secretary)
    second_pack = issue_pack(app, second.strftime("%Y-%m"), month.secretary)
    assert first_pack.figures["open_high_risks_at_end"] is None  # the untraced one: unknown then
    first_text = " ".join(page_texts(first_pack.pdf))
    assert "Not available for" in first_text
    assert second_pack.figures["open_high_risks_at_end"] == 0
    second_text = " ".join(page_texts(second_pack.pdf))
    assert "Fire door propped open" not in second_text
    # Once its move is on record, the first month's figure is known.
    with app.app_context(), session_scope(app) as session:
        status_history.record(
            session, "concern", untraced.id, "open", "resolved", at=local(second.replace(day=3), 11)
        )
    again = issue_pack(app, first.strftime("%Y-%m"), month.secretary)
    assert again.figures["open_high_risks_at_end"] == 2  # both were open at the end of the first month
    assert "Fire door propped open on the ward" in " ".join(page_texts(again.pdf))


def test_overdue_at_month_end_counts_an_action_reopened_later_as_closed_then(app, factory, time_machine):
    from walkabout.models import Action, Concern, User
    from walkabout.reports import figures as figures_module
    from walkabout.services import actions as action_service

    month = seed_month(factory)
    first, second = add_months(month.first_day, -3), add_months(month.first_day, -2)
    time_machine.move_to(local(first.replace(day=5), 10), tick=False)
    visit = factory.walkabout(month.ward, month.executive, start=local(first.replace(day=5), 9))
    concern = factory.concern(visit, "Drug fridge not locked", 4, 4)
    with app.test_request_context(), session_scope(app) as session:
        executive = session.get(User, month.executive.id)
        action_service.create_action(
            session,
            executive,
            session.get(Concern, concern.id),
            description="Fit a lock to the drug fridge",
            owner_id=month.manager.id,
            due_date=first.replace(day=10),
            today=first.replace(day=5),
        )
    time_machine.move_to(local(first.replace(day=8), 10), tick=False)
    with app.test_request_context(), session_scope(app) as session:
        action = session.exec(select(Action).where(Action.concern_id == concern.id)).one()
        action_service.complete(
            session, session.get(User, month.manager.id), action, "Lock fitted", action.version
        )
    time_machine.move_to(local(second.replace(day=3), 10), tick=False)
    with app.test_request_context(), session_scope(app) as session:
        action = session.exec(select(Action).where(Action.concern_id == concern.id)).one()
        action_service.reopen(
            session, session.get(User, month.executive.id), action, "Lock is loose", action.version
        )
    time_machine.move_to(local(month.first_day.replace(day=2), 10), tick=False)
    with app.app_context(), session_scope(app, write=False) as session:
        today = trust_today(app)
        first_overdue = figures_module.headline(session, parse_month(first.strftime("%Y-%m"), today, ZONE))
        second_overdue = figures_module.headline(session, parse_month(second.strftime("%Y-%m"), today, ZONE))
    assert first_overdue["actions"]["overdue"] == 0  # completed on day 8, before the month ended
    assert second_overdue["actions"]["overdue"] == 1  # reopened on the 3rd and long past due


def test_the_revisit_figure_is_printed_with_its_definition(app, factory):
    from .test_board_pack_exports import seed_with_feedback

    month = seed_with_feedback(app, factory)
    pack = issue_pack(app, month.key, month.secretary)
    texts = page_texts(pack.pdf)
    fidelity = next(t for t in texts if "Programme fidelity and the loop" in t)
    assert (
        "Revisits where the previous visit's open actions were reviewed with the ward 1 of 2 50%" in fidelity
    )
    definitions = next(t for t in texts if "How these figures are counted" in t)
    assert "those whose brief was ticked" in definitions
    pages = render_pages(pack.pdf, "pack-revisits")
    assert len(pages) == len(texts)


def test_no_action_after_7_days_counts_a_concern_closed_after_the_month_as_open_then(
    app, factory, time_machine
):
    """A concern left without an action all month is counted in that month's pack, even when it
    was closed ("no action needed") in the month after: the figure is as it stood at month end."""
    from walkabout.models import Concern, User
    from walkabout.services import actions as action_service

    month = seed_month(factory)
    past = add_months(month.first_day, -2)
    time_machine.move_to(local(past.replace(day=3), 10), tick=False)
    visit = factory.walkabout(
        month.ward, month.executive, start=local(past.replace(day=3), 9), status=WalkaboutStatus.COMPLETED
    )
    waiting = factory.categorised_concern(visit, "Staffing", "Night shift short of a nurse again", 3, 3)
    time_machine.move_to(local(add_months(past, 1).replace(day=4), 10), tick=False)
    with app.test_request_context(), session_scope(app) as session:
        concern = session.get(Concern, waiting.id)
        executive = session.get(User, month.executive.id)
        action_service.mark_no_action_needed(
            session, executive, concern, "Rota fixed by the matron", concern.version
        )
    time_machine.move_to(local(month.first_day.replace(day=2), 10), tick=False)
    with app.app_context(), session_scope(app, write=False) as session:
        period = parse_month(past.strftime("%Y-%m"), trust_today(app), ZONE)
        assert fidelity.no_action_after(session, period) == {"counted": 1, "without_action": 1}
        assert session.get(Concern, waiting.id).status != "open"  # closed now
